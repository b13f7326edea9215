"""Projects the benchmarks serve, written from the sources in benchmarks/workers (no binary is committed)."""

from __future__ import annotations

import json
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


CHAIN_STEP = "export default { step(state) { return state.data + 1; } };\n"
CHAIN = "three"
"""The pipeline of `chain_project`: three JavaScript steps in a chain, each adding 1 (input 1, output 4)."""


def chain_project(root: Path) -> Path:
    """A project whose `pipelines/three.json` chains three JavaScript steps (`steps/add.js`)."""
    steps = [
        {"id": "a", "handler": "steps/add.js", "next": {"b": True}},
        {"id": "b", "handler": "steps/add.js", "next": {"c": True}},
        {"id": "c", "handler": "steps/add.js"},
    ]
    (root / "pipelines" / "steps").mkdir(parents=True)
    (root / "pipelines" / "steps" / "add.js").write_text(CHAIN_STEP)
    (root / "pipelines" / f"{CHAIN}.json").write_text(json.dumps({"id": CHAIN, "steps": steps}))
    return root
