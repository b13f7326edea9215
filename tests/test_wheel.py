"""`python -m build` gives a wheel that carries the JavaScript engine: installed into a fresh virtualenv, without the
source tree on the path, it serves a JavaScript, a Python and a native worker, and `wws --version` names the engines
it carries. The Python engine is built at first use, from the componentize-py the wheel depends on, no compiler."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import serving

REPOSITORY = Path(__file__).resolve().parent.parent


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.slow
def test_the_wheel_serves_every_language_from_a_fresh_virtualenv(
    tmp_path: Path, native_modules: dict[str, Path]
) -> None:
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "build", "--outdir", dist, REPOSITORY, cwd=tmp_path)
    wheels = list(dist.glob("wws-*-py3-none-any.whl"))
    assert len(wheels) == 1, sorted(path.name for path in dist.iterdir())
    assert list(dist.glob("wws-*.tar.gz")), "no sdist"

    venv = tmp_path / "venv"
    # The virtualenv's wws, with a fresh cache (the Python engine is built at first use) and nothing of the checkout
    # (with the checkout on PYTHONPATH, pip would find wws installed and install nothing).
    environment = {**os.environ, "PYTHONPATH": "", "VIRTUAL_ENV": str(venv), "WWS_CACHE_DIR": str(tmp_path / "cache")}
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    _run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheels[0], cwd=tmp_path, env=environment)
    where = _run(venv / "bin" / "python", "-c", "import wws; print(wws.__file__)", cwd=tmp_path, env=environment)
    assert Path(where.strip()).is_relative_to(venv), where

    version = _run(venv / "bin" / "wws", "--version", cwd=tmp_path, env=environment)
    installed = next((venv / "lib").glob("python3*/site-packages/wws/runtimes/javascript/quickjs.wasm"))
    assert f"quickjs.wasm sha256 {hashlib.sha256(installed.read_bytes()).hexdigest()}" in version
    assert "quickjs-ng 0.17.0.2 (source sha256 43d2e482" in version
    assert "componentize-py 0.25.1" in version
    assert "wasmtime " in version

    project = tmp_path / "project"
    project.mkdir()
    (project / "hi.js").write_text('export default { fetch() { return new Response("hi from JavaScript"); } };\n')
    (project / "hp.py").write_text('def worker(request):\n    return Response("hi from Python")\n')
    shutil.copyfile(native_modules["whoami"], project / "native.wasm")
    (project / "native.toml").write_text('[vars]\nROUTE = "/native"\n')
    installed_wws = (str(venv / "bin" / "wws"),)
    with serving(project, "--workers", "1", env=environment, wws=installed_wws, cwd=tmp_path) as (base, _):
        javascript = httpx.get(base + "/hi", timeout=30)
        python = httpx.get(base + "/hp", timeout=600)  # the first Python worker builds the engine (no compiler)
        native = httpx.get(base + "/native", timeout=30)
    assert (javascript.status_code, javascript.text) == (200, "hi from JavaScript")
    assert (python.status_code, python.text) == (200, "hi from Python")
    assert native.status_code == 200
    assert "/native" in native.text


def test_the_engine_build_says_what_is_missing_without_clang(tmp_path: Path) -> None:
    """A machine without the toolchain gets a message naming it and the packages to install, not a compiler error."""
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    (root / "wws" / "glue" / "javascript").mkdir(parents=True)
    (root / "wws" / "runtimes" / "javascript").mkdir(parents=True)
    shutil.copyfile(REPOSITORY / "scripts" / "build-quickjs.sh", root / "scripts" / "build-quickjs.sh")
    shutil.copyfile(REPOSITORY / "wws/glue/javascript/engine.c", root / "wws/glue/javascript/engine.c")
    tools = tmp_path / "bin"  # the shell's tools, and no clang
    tools.mkdir()
    for tool in ("dirname", "sha256sum", "cut", "tr", "cat", "grep"):
        found = shutil.which(tool)
        assert found is not None
        (tools / tool).symlink_to(found)
    done = subprocess.run(
        ["/bin/bash", str(root / "scripts" / "build-quickjs.sh")],
        env={"PATH": str(tools)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "building the JavaScript engine needs clang, lld and wasi-libc" in done.stderr
    assert "apt-get install clang lld wasi-libc" in done.stderr
    assert not (root / "wws" / "runtimes" / "javascript" / "quickjs.wasm").exists()
