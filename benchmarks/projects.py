"""Projects the benchmarks serve, written from the sources in benchmarks/workers (no binary is committed)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import compile_c

WORKERS = Path(__file__).parent / "workers"
WARM = 'isolation = "instance"\n'

HELLO_ROUTES = {
    ("javascript", "request"): "/hello_js",
    ("javascript", "instance"): "/hello_js_warm",
    ("python", "request"): "/hello_py",
    ("python", "instance"): "/hello_py_warm",
    ("native", "request"): "/hello",
    ("native", "instance"): "/hello_warm",
}
"""(language, isolation) → the route of its hello worker in `hello_project`."""


def hello_project(project: Path) -> Path:
    """Hello workers: hello.wasm (command), hello_js.js and hello_py.py in request isolation; hello_warm.wasm
    (reactor), hello_js_warm.js and hello_py_warm.py in instance isolation."""
    project.mkdir(parents=True, exist_ok=True)
    compile_c(WORKERS / "hello.c", project / "hello.wasm")
    compile_c(WORKERS / "hello_reactor.c", project / "hello_warm.wasm", "-mexec-model=reactor")
    (project / "hello_warm.toml").write_text(WARM)
    for language, extension in (("js", "js"), ("py", "py")):
        for name in (f"hello_{language}", f"hello_{language}_warm"):
            shutil.copyfile(WORKERS / f"hello.{extension}", project / f"{name}.{extension}")
        (project / f"hello_{language}_warm.toml").write_text(WARM)
    return project
