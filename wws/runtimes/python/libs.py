"""A worker's libraries: the pure-Python wheels its `requirements.txt` names, installed by pip.

Installed once per distinct requirements file into `<cache>/python/libs/<hash>/` and linked into each prepared
folder's `libs/` (mounted with it at `/src/libs`). Only wheels tagged for any platform (`py3-none-any`) are accepted:
native code cannot run in the sandbox, so a package that has only platform wheels is refused, by name.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import blake3

from wws.config.paths import cache_dir
from wws.errors import RequirementsError
from wws.runtimes.python.engine import build_lock

REQUIREMENTS_FILE = "requirements.txt"
PYTHON_VERSION = "3.14"
"""The version of the CPython that runs workers (componentize-py 0.25's); wheels are chosen for it."""
FORMAT = "1"
_NATIVE_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
_UNSATISFIED = re.compile(r"(?:satisfies the requirement|distribution found for) ([A-Za-z0-9_.\-]+)")


def requirements_of(handler: Path) -> Path | None:
    """The `requirements.txt` beside the handler, if there is one."""
    path = handler.parent / REQUIREMENTS_FILE
    return path if path.is_file() else None


def install_libs(requirements: Path, target: Path) -> None:
    """Fill `target` (new) with the packages `requirements` names, from the cache or from pip."""
    text = requirements.read_bytes()
    key = blake3.blake3(b"\0".join((FORMAT.encode(), PYTHON_VERSION.encode(), str(requirements.parent).encode(), text)))
    cached = cache_dir() / "python" / "libs" / key.hexdigest()[:32]
    if not cached.is_dir():
        with build_lock(cached):
            if not cached.is_dir():
                _pip_install(requirements, cached)
    shutil.copytree(cached, target, copy_function=_link_or_copy)


def _pip_install(requirements: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=destination.parent, prefix=f".{destination.name}."))
    try:
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--target",
            str(work),
            "--only-binary=:all:",
            "--platform=any",
            "--abi=none",
            "--implementation=cp",
            f"--python-version={PYTHON_VERSION}",
            "--no-compile",
            "--no-input",
            "--disable-pip-version-check",
            "--quiet",
            "-r",
            str(requirements),
        ]
        environ = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
        result = subprocess.run(
            command, cwd=requirements.parent, env=environ, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RequirementsError(_explain(result.stderr or result.stdout))
        native = next((path for path in work.rglob("*") if path.suffix in _NATIVE_SUFFIXES), None)
        if native is not None:
            package = native.relative_to(work).parts[0]
            raise RequirementsError(f"{package} contains native code ({native.name}), which cannot run in the sandbox")
        shutil.rmtree(work / "bin", ignore_errors=True)
        work.rename(destination)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _explain(output: str) -> str:
    found = _UNSATISFIED.search(output)
    if found:
        return (
            f"{found.group(1)} has no pure-Python wheel (py3-none-any) for Python {PYTHON_VERSION}: packages with "
            "native code cannot run in the WebAssembly sandbox (or the name or version does not exist)"
        )
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return "pip failed: " + ("\n".join(lines[-8:]) or "no output")


def _link_or_copy(source: str, target: str) -> None:
    """Hard-link when the cache and the project share a file system (instant, no space), else copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
