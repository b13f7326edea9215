"""`wws serve`: options, start-up failures, and real server processes (one and several) answering over HTTP."""

from __future__ import annotations

import json
import resource
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tests.server.conftest import add_worker, serving
from wws.cli.main import cli
from wws.cli.serve import OPEN_FILES, usable_cores


def test_serve_help_lists_every_option() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    options = ["--host", "--port", "--prefix", "--ignore", "--cors", "--workers", "--kv", "--debug", "--log-format"]
    for option in options:
        assert option in result.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["missing-folder"], "is not a folder"),
        (["."], "nothing to serve"),
        ([".", "--kv", "memory", "--workers", "2"], "--kv memory lives in one process"),
        ([".", "--workers", "0"], "neither auto nor a number from 1 to 256"),
        ([".", "--workers", "many"], "neither auto nor a number from 1 to 256"),
        ([".", "--log-format", "xml"], "Invalid value for '--log-format'"),
    ],
)
def test_serve_refuses_to_start_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arguments: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["serve", *arguments])
    assert result.exit_code != 0
    assert message in result.output


@pytest.fixture
def project(tmp_path: Path, native_modules: dict[str, Path]) -> Path:
    add_worker(tmp_path, native_modules["echo"], "api/[id].wasm")
    add_worker(tmp_path, native_modules["kv_writer"], "count.wasm", '[data.kv]\nnamespace = "cli"\n')
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "index.html").write_text("home")
    return tmp_path


@pytest.mark.slow
def test_serve_prints_the_route_table_and_serves_with_json_logs(project: Path) -> None:
    with serving(project, "--log-format", "json") as (base, process):
        assert httpx.get(f"{base}/api/1").status_code == 201
        assert httpx.get(f"{base}/").text == "home"
        process.terminate()
        stdout, stderr = process.communicate(timeout=20)
    assert "/api/[id]" in stdout
    assert "api/[id].wasm (native)" in stdout
    assert "public/ (static)" in stdout
    assert f"Listening on {base}" in stdout
    access = [json.loads(line) for line in stderr.splitlines() if '"wws.access"' in line]
    assert {(entry["path"], entry["status"]) for entry in access} >= {("/api/1", 201), ("/", 200)}


@pytest.mark.slow
def test_serve_with_several_processes_shares_the_sqlite_kv(project: Path) -> None:
    with serving(project, "--workers", "2") as (base, _):
        for index in range(8):
            assert httpx.post(f"{base}/count", content=f"k{index}=1".encode()).status_code == 200
        seen = json.loads(httpx.post(f"{base}/count", content=b"last=1").content)
    assert set(seen) == {f"k{index}" for index in range(8)}


def test_serve_runs_one_process_per_core_by_default_and_one_with_the_memory_kv(project: Path) -> None:
    cores = usable_cores()
    with serving(project) as (base, process):
        assert httpx.get(f"{base}/api/1").status_code == 201
        servers = [pid for pid in children_of(process.pid) if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
    assert len(servers) == (cores if cores > 1 else 0), "one server process per core (none apart when one)"
    with serving(project, "--kv", "memory") as (base, process):
        assert httpx.get(f"{base}/api/1").status_code == 201
        assert children_of(process.pid) == []


def test_the_processes_of_a_server_whose_supervisor_is_killed_stop_serving(project: Path) -> None:
    with serving(project, "--workers", "2") as (base, process):
        assert httpx.get(f"{base}/api/1").status_code == 201
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)  # returns once no process holds its output any more
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/api/1", timeout=2)


def children_of(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_serve_on_a_port_already_taken_exits_with_an_error(project: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "wws", "serve", str(project), "--port", str(port), "--no-watch"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0  # uvicorn's own exit code and message
    assert "address already in use" in result.stderr.lower()


def test_serve_raises_its_open_files_limit_for_the_locks_of_many_workers(project: Path) -> None:
    """Each loaded worker version holds its prepared folder's lock file open: a soft limit of 1024 would stop a
    project of a few hundred workers."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard <= 1024:
        pytest.skip(f"the hard limit of open files here is {hard}")
    wws = ("prlimit", f"--nofile=1024:{hard if hard != resource.RLIM_INFINITY else 'unlimited'}", sys.executable)
    with serving(project, "--workers", "1", wws=(*wws, "-m", "wws")) as (base, process):
        assert httpx.get(f"{base}/api/1").status_code == 201
        limits = Path(f"/proc/{process.pid}/limits").read_text()
    soft = next(line.split()[3] for line in limits.splitlines() if line.startswith("Max open files"))
    wanted = OPEN_FILES if hard == resource.RLIM_INFINITY else min(OPEN_FILES, hard)
    assert int(soft) == wanted
