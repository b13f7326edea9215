"""`wws new`: each language's template serves as it is written; bad names, routes and clashes are refused."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest
from click.testing import CliRunner

from tests.conftest import DEBIAN_CARGO
from tests.server.conftest import Client
from wws.cli.main import cli
from wws.errors import ScaffoldError
from wws.sandbox.engine import Sandbox
from wws.scaffold import KIT_VARIABLE, build_rust, handler_path, plan
from wws.server import create_app


def new(project: Path, *arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["new", *arguments, "--dir", str(project)])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "case",
    [
        ("js", None, "hello.js", "/hello", {}),
        ("js", "/api/items/[id]", "api/items/[id].js", "/api/items/7", {"id": "7"}),
        ("py", None, "hello.py", "/hello", {}),
        ("py", "/docs/[...page]", "docs/[...page].py", "/docs/a/b", {"page": "a/b"}),
        ("rust", "/rust/users/[id]", "rust/users/[id].wasm", "/rust/users/42", {"id": "42"}),
    ],
)
def test_a_new_worker_serves_out_of_the_box(
    tmp_path: Path,
    sandbox: Sandbox,
    cargo_target: Path,
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[str, str | None, str, str, dict[str, str]],
) -> None:
    language, route, handler, url, params = case
    if language == "rust" and not DEBIAN_CARGO.exists():
        pytest.fail("Debian's Rust is not installed: run `.ci/run` once")
    monkeypatch.setenv("CARGO_TARGET_DIR", str(cargo_target))  # the kit's dependencies, compiled once per session
    code, output = new(tmp_path, "hello", "--lang", language, *(["--route", route] if route else []))
    assert code == 0, output
    assert (tmp_path / handler).is_file()
    assert (tmp_path / handler).with_suffix(".toml").is_file()
    assert f"created {(tmp_path / handler).with_suffix('.toml')}" in output
    answer = Client(create_app(tmp_path, sandbox=sandbox, kv="memory", watch=False)).get(url)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"message": "Hello from hello!", "path": url, "params": params}


def test_a_rust_worker_rebuilds_with_its_build_script(
    tmp_path: Path, sandbox: Sandbox, cargo_target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARGO_TARGET_DIR", str(cargo_target))
    code, output = new(tmp_path, "calc", "--lang", "rust")
    assert code == 0, output
    assert "_src/calc/build.sh" in output
    main = tmp_path / "_src" / "calc" / "src" / "main.rs"
    main.write_text(main.read_text().replace('"Hello"', '"Howdy"'))
    (tmp_path / "calc.toml").write_text("")  # no GREETING: the code's default speaks
    code, output = new(tmp_path, "calc", "--lang", "rust")
    assert code == 1
    assert "already" in output
    build_rust(tmp_path, PurePosixPath("_src/calc"))
    answer = Client(create_app(tmp_path, sandbox=sandbox, kv="memory", watch=False)).get("/calc")
    assert answer.json()["message"] == "Howdy from calc!"


def test_nothing_is_overwritten_and_a_route_has_one_handler(tmp_path: Path) -> None:
    assert new(tmp_path, "hello", "--lang", "js")[0] == 0
    (tmp_path / "hello.js").write_text("// mine")
    code, output = new(tmp_path, "hello", "--lang", "py")
    assert (code, "hello.js already serves this route" in output) == (1, True)
    code, output = new(tmp_path, "other", "--lang", "py", "--route", "/hello")
    assert (code, "hello.js already serves this route" in output) == (1, True)
    (tmp_path / "solo.toml").write_text("# mine")
    code, output = new(tmp_path, "solo", "--lang", "py")
    assert (code, "solo.toml already exists; nothing was written" in output) == (1, True)
    assert not (tmp_path / "solo.py").exists()
    assert (tmp_path / "hello.js").read_text() == "// mine"
    assert new(tmp_path, "v", "--lang", "js", "--route", "/v1.2")[0] == 0
    code, output = new(tmp_path, "w", "--lang", "py", "--route", "/v1.2")
    assert (code, "v1.2.js already serves this route" in output) == (1, True)


@pytest.mark.parametrize(
    ("name", "route", "message"),
    [
        ("bad name", None, "is not a worker name"),
        ("9lives", None, "is not a worker name"),
        ("ok", "api/x", "a route starts with '/'"),
        ("ok", "/../etc", "cannot be a route segment"),
        ("ok", "/_private/x", "cannot be a route segment"),
        ("ok", "/a/[...rest]/b", "must be the last segment"),
        ("ok", "/a b", "cannot be a route segment"),
    ],
)
def test_bad_names_and_routes_are_refused(tmp_path: Path, name: str, route: str | None, message: str) -> None:
    code, output = new(tmp_path, name, "--lang", "js", *(["--route", route] if route else []))
    assert (code, message in output) == (1, True), output
    assert list(tmp_path.iterdir()) == []


def test_unknown_language_is_a_usage_error(tmp_path: Path) -> None:
    code, output = new(tmp_path, "x", "--lang", "go")
    assert code == 2
    assert "'go' is not one of" in output


@pytest.mark.parametrize(
    ("route", "handler"),
    [
        ("/", "index.js"),
        ("/blog/", "blog.js"),
        ("/api/[id]", "api/[id].js"),
        ("/v1.2/ping", "v1.2/ping.js"),
        ("/docs/[...slug]", "docs/[...slug].js"),
    ],
)
def test_routes_map_to_the_files_wws_serve_reads(route: str, handler: str) -> None:
    assert handler_path(route, ".js") == PurePosixPath(handler)


def test_the_rust_kit_comes_from_the_checkout_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = plan("x", "rust").files
    assert (
        str(Path(__file__).resolve().parent.parent.parent / "kits" / "rust")
        in files[PurePosixPath("_src/x/Cargo.toml")]
    )
    # cargo builds out of _src/, so a Python worker beside it does not take the build output for its helpers
    assert 'target-dir = "../../.wws/rust-target"' in files[PurePosixPath("_src/x/.cargo/config.toml")]
    monkeypatch.setenv(KIT_VARIABLE, str(tmp_path))
    with pytest.raises(ScaffoldError, match=f"set {KIT_VARIABLE}"):
        plan("x", "rust")
