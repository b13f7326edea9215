"""Benchmark fixtures: the hello workers built from source, and a table of medians for the ratio report."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import compile_c
from wws.sandbox.engine import Sandbox

WORKERS = Path(__file__).parent / "workers"


@pytest.fixture(scope="session")
def bench_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    box = Sandbox(cache_folder=tmp_path_factory.mktemp("bench-cache"))
    yield box
    box.close()


@pytest.fixture(scope="session")
def hello_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Hello workers: hello.wasm (command), hello_js.js and hello_py.py in request isolation; hello_warm.wasm
    (reactor), hello_js_warm.js and hello_py_warm.py in instance isolation."""
    project = tmp_path_factory.mktemp("bench-project")
    compile_c(WORKERS / "hello.c", project / "hello.wasm")
    compile_c(WORKERS / "hello_reactor.c", project / "hello_warm.wasm", "-mexec-model=reactor")
    (project / "hello_warm.toml").write_text('isolation = "instance"\n')
    for name in ("hello_js.js", "hello_js_warm.js"):
        (project / name).write_text((WORKERS / "hello.js").read_text())
    (project / "hello_js_warm.toml").write_text('isolation = "instance"\n')
    for name in ("hello_py.py", "hello_py_warm.py"):
        (project / name).write_text((WORKERS / "hello.py").read_text())
    (project / "hello_py_warm.toml").write_text('isolation = "instance"\n')
    return project


@pytest.fixture(scope="session")
def medians() -> dict[str, float]:
    """Benchmark name → median seconds, filled by each benchmark, read by the ratio check that runs last."""
    return {}
