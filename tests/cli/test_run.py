"""`wws run`: one request through a worker from the command line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from wws.cli.main import cli


@pytest.fixture
def project(tmp_path: Path, native_modules: dict[str, Path]) -> Path:
    for name in ("echo", "fail_exit"):
        shutil.copyfile(native_modules[name], tmp_path / f"{name}.wasm")
    return tmp_path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_run_prints_status_headers_and_body(project: Path) -> None:
    code, output = invoke(
        "run",
        str(project / "echo.wasm"),
        "/items?page=2",
        "-X",
        "PUT",
        "-H",
        "X-Trace: abc",
        "--data",
        "payload",
    )
    assert code == 0
    head, _, body = output.partition("\n\n")
    assert head.splitlines()[0] == "HTTP 201"
    assert "x-echo: yes" in head.splitlines()
    assert head.splitlines().count("set-cookie: a=1") == 1
    received = json.loads(body)
    assert received["method"] == "PUT"
    assert received["url"] == "http://localhost:8080/items?page=2"
    assert received["headers"]["x-trace"] == "abc"
    assert received["body"] == "payload"


def test_run_reads_the_body_from_a_file_and_defaults_to_post(project: Path) -> None:
    (project / "body.json").write_text('{"a": 1}')
    code, output = invoke("run", str(project / "echo.wasm"), "--data", f"@{project / 'body.json'}", "--no-include")
    assert code == 0
    received = json.loads(output)
    assert (received["method"], received["body"]) == ("POST", '{"a": 1}')


def test_run_exits_non_zero_and_names_the_file_when_the_worker_fails(project: Path) -> None:
    code, output = invoke("run", str(project / "fail_exit.wasm"))
    assert code == 1
    assert "fail_exit.wasm: exited with code 3" in output
    assert "cannot connect to the database" in output
    assert "HTTP 500" in output


def test_run_rejects_a_malformed_header(project: Path) -> None:
    code, output = invoke("run", str(project / "echo.wasm"), "-H", "no colon here")
    assert code == 2
    assert "expected 'Name: value'" in output


@pytest.mark.parametrize("command", [[], ["run"]])
def test_help_describes_every_command(command: list[str]) -> None:
    code, output = invoke(*command, "--help")
    assert code == 0
    assert "Usage:" in output
    if command == ["run"]:
        for option in ("--method", "--header", "--data"):
            assert option in output


def test_python_dash_m_wws_is_the_wws_command() -> None:
    result = subprocess.run([sys.executable, "-m", "wws", "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("wws 0.")
    assert "JavaScript engine: " in result.stdout


def test_run_gives_the_params_of_the_file_route(project: Path, native_modules: dict[str, Path]) -> None:
    (project / "wws.toml").write_text("")
    (project / "api").mkdir()
    shutil.copyfile(native_modules["echo"], project / "api" / "[id].wasm")
    code, output = invoke("run", str(project / "api" / "[id].wasm"), "/api/7?x=1", "--no-include")
    assert code == 0
    assert json.loads(output)["params"] == {"id": "7"}


def test_run_keeps_kv_state_in_the_project_store(project: Path, native_modules: dict[str, Path]) -> None:
    (project / "wws.toml").write_text("")
    shutil.copyfile(native_modules["kv_writer"], project / "kv.wasm")
    (project / "kv.toml").write_text('[data.kv]\nnamespace = "run"\n')
    invoke("run", str(project / "kv.wasm"), "--data", "a=1")
    code, output = invoke("run", str(project / "kv.wasm"), "--data", "b=2", "--no-include")
    assert code == 0
    assert json.loads(output) == {"a": "1"}
    assert (project / ".wws" / "kv.sqlite3").is_file()
