"""`wws serve examples`: every example answers over a real server, built from its source like the install does."""

from __future__ import annotations

import json
import runpy
import shutil
from pathlib import Path

import httpx
import pytest

from tests.conftest import cargo_build, compile_c
from tests.server.conftest import add_worker, free_port, running
from wws.routing import discover_routes
from wws.runtimes.registry import default_registry
from wws.sandbox.engine import Sandbox
from wws.server import create_app

EXAMPLES = Path(__file__).parent.parent / "examples"
BUILDS = {"hello.c": "hello.wasm", "item.c": "api/[id].wasm", "counter.c": "counter.wasm", "proxy.c": "proxy.wasm"}
RUST_BUILDS = {
    "hello": "rust/hello.wasm",
    "user": "rust/users/[id].wasm",
    "counter": "rust/counter.wasm",
    "fetch": "rust/fetch.wasm",
}
JAVASCRIPT = {
    "js/hello.js",
    "js/service-worker.js",
    "js/users/[id].js",
    "js/docs/[...path].js",
    "js/counter.js",
    "js/fetch.js",
    "js/pixel.js",
}
PYTHON = {
    "python/hello.py",
    "python/on-fetch.py",
    "python/users/[id].py",
    "python/counter.py",
    "python/fetch.py",
    "python/stdlib.py",
    "python/slug/index.py",
}
WHEEL = ("examples/_src/slugkit", "slugkit", "0.1.0", "examples/python/slug/wheels")


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory, cargo_target: Path) -> Path:
    """A copy of examples/ (and of the Cargo workspace its Rust workers build in) with its workers built from
    examples/_src, as scripts/build-examples.sh does."""
    checkout = tmp_path_factory.mktemp("checkout")
    root = checkout / "examples"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns("*.wasm", ".wws", "target", "wheels"))
    shutil.copytree(EXAMPLES.parent / "kits" / "rust", checkout / "kits" / "rust")
    shutil.copytree(EXAMPLES.parent / ".cargo", checkout / ".cargo")
    shutil.copyfile(EXAMPLES.parent / "Cargo.toml", checkout / "Cargo.toml")
    for source, target in BUILDS.items():
        (root / target).parent.mkdir(parents=True, exist_ok=True)
        compile_c(root / "_src" / source, root / target)
    release = cargo_build(root / "_src" / "rust", cargo_target)
    for binary, target in RUST_BUILDS.items():
        add_worker(root, release / f"{binary}.wasm", target)
    build_wheel = runpy.run_path(str(EXAMPLES.parent / "scripts" / "build-wheel.py"))["build"]
    source, name, version, out = WHEEL
    build_wheel(root.parent / source, name, version, root.parent / out)
    return root


def test_build_script_and_this_test_build_the_same_workers(examples: Path) -> None:
    script = (EXAMPLES.parent / "scripts" / "build-examples.sh").read_text()
    for source, target in BUILDS.items():
        assert f"examples/_src/{source}" in script
        assert target in script
    for binary, target in RUST_BUILDS.items():
        assert f'rust {binary} "examples/{target}"' in script or f"rust {binary} examples/{target}" in script
    assert f"python scripts/build-wheel.py {' '.join(WHEEL)}" in script
    assert {route.file.relative_to(examples).as_posix() for route in discover_routes(
        examples, default_registry().extensions()
    )} == set(BUILDS.values()) | set(RUST_BUILDS.values()) | JAVASCRIPT | PYTHON  # fmt: skip


def test_examples_serve_over_http(examples: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("WWS_EXAMPLE_ORIGIN", f"http://127.0.0.1:{port}")
    app = create_app(examples, sandbox=sandbox, kv="memory")
    try:
        # A generous timeout: the first request of each language compiles its engine into this session's cache.
        with running(app, port) as base, httpx.Client(timeout=120) as http:
            assert http.get(f"{base}/hello").text == "Hello from a native wasm worker!"
            assert http.get(f"{base}/api/42").json() == {"id": "42"}
            assert http.get(f"{base}/counter").text == "This page was visited 1 time."
            assert http.get(f"{base}/counter").text == "This page was visited 2 times."
            proxied = json.loads(http.get(f"{base}/proxy").text)
            assert proxied["ok"] is True
            assert proxied["value"]["body"] == "Hello from a native wasm worker!"
            assert http.get(f"{base}/js/hello?name=you").text == "Hello, you! (JavaScript, module syntax)"
            assert http.post(f"{base}/js/service-worker").json() == {
                "style": "service-worker",
                "method": "POST",
                "path": "/js/service-worker",
            }
            assert http.get(f"{base}/js/users/42").json() == {"id": "42", "name": "user 42", "even": True}
            docs = http.get(f"{base}/js/docs/guide/install/linux")
            assert "3 level(s): guide / install / linux" in docs.text
            assert docs.headers["content-type"] == "text/html; charset=utf-8"
            assert http.get(f"{base}/js/counter").json() == {"visits": 1}
            assert http.get(f"{base}/js/counter").json() == {"visits": 2}
            assert http.get(f"{base}/js/fetch").json() == {
                "status": 200,
                "body": "Hello, fetch! (JavaScript, module syntax)",
            }
            pixel = http.get(f"{base}/js/pixel")
            assert (pixel.headers["content-type"], pixel.content[:8]) == ("image/png", b"\x89PNG\r\n\x1a\n")
            assert pixel.headers["etag"] != http.get(f"{base}/js/pixel").headers["etag"]
            assert http.get(f"{base}/python/hello?name=you").text == "Hello, you! (Python)"
            assert http.post(f"{base}/python/on-fetch?name=you").json() == {
                "style": "on_fetch",
                "method": "POST",
                "greeting": "Hi, you!",
            }
            assert http.get(f"{base}/python/users/7").json() == {"id": "7", "name": "user 7", "even": False}
            assert http.get(f"{base}/python/counter").json() == {"visits": 1}
            assert http.get(f"{base}/python/counter").json() == {"visits": 2}
            assert http.get(f"{base}/python/fetch").json() == {"status": 200, "body": "Hello, fetch! (Python)"}
            assert http.get(f"{base}/python/stdlib").json() == {
                "tokyo": "2024-07-01T21:00:00+09:00",
                "median": 3,
                "fraction": "1/2",
            }
            assert http.get(f"{base}/python/slug?title=Hello+Wasm+World").text == "hello-wasm-world"
            assert http.get(f"{base}/rust/hello?name=you").text == "Hello, you! (Rust)"
            assert http.get(f"{base}/rust/users/8").json() == {"id": "8", "name": "user 8", "even": True}
            assert http.get(f"{base}/rust/users/eight").status_code == 404
            assert http.get(f"{base}/rust/counter").json() == {"visits": 1}
            assert http.get(f"{base}/rust/counter").json() == {"visits": 2}
            assert http.get(f"{base}/rust/fetch").json() == {"status": 200, "body": "Hello, fetch! (Rust)"}
            assert "<h1>wws examples</h1>" in http.get(f"{base}/").text
            assert http.get(f"{base}/style.css").status_code == 200
            missing = http.get(f"{base}/missing")
            assert (missing.status_code, "Nothing here" in missing.text) == (404, True)
    finally:
        app.state.project.close()


def test_wws_example_is_the_prepared_tree_of_examples(
    examples: Path, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """.wws-example/ is what wws prepares for examples/ today: same folders (same hashes), same files, same text."""
    script = runpy.run_path(str(EXAMPLES.parent / "scripts" / "wws-example.py"))
    monkeypatch.delenv(script["ORIGIN_VARIABLE"], raising=False)
    rendered = tmp_path / "rendered"
    script["render"](examples, rendered, sandbox)
    committed = EXAMPLES.parent / ".wws-example"

    def tree(root: Path) -> dict[str, bytes]:
        return {path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()}

    expected, actual = tree(rendered), tree(committed) if committed.is_dir() else {}
    stale = sorted(set(expected) ^ set(actual)) + sorted(
        name for name in set(expected) & set(actual) if expected[name] != actual[name]
    )
    assert not stale, (
        f".wws-example/ is out of date ({len(stale)} files differ, e.g. {stale[:3]}); refresh it with: "
        f"{script['REFRESH']}"
    )
