"""The Python engine: CPython 3.14 as a pre-initialised component, built once per machine by componentize-py.

componentize-py (PyPI, pinned by version and by the sha256 of its binary) runs the glue's top level
(`wws/glue/python/`) in CPython and snapshots the result into a component. Its CPython's standard library is
embedded in the same binary; it is unpacked next to the component (with the `tzdata` package, which `zoneinfo`
needs) and mounted read-only at `/python`, so that every module of it can be imported, not only the pre-imported
ones. All of it lives in `<cache>/python/<fingerprint>/`, keyed by the hash of its inputs: editing a handler never
rebuilds it.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import importlib.util
import io
import logging
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import blake3
import zstandard

from wws.config.paths import cache_dir
from wws.errors import EngineBuildError, SnapshotError
from wws.runtimes.python import immortal, lazy_table

log = logging.getLogger(__name__)

COMPONENTIZE_PY_VERSION = "0.25.1"
COMPONENTIZE_PY_SHA256 = {
    "x86_64": "260941cadb237f0ae5a19dcbc01220ca48d32dbd58d8e451c6a2f95497e3e291",
}
"""sha256 of `componentize_py/componentize_py.abi3.so` in the wheel of each platform wws was checked on."""

GLUE = Path(__file__).resolve().parents[2] / "glue" / "python"
APP_MODULE = "_wws_app"
WORLD = "worker"
HOST_INTERFACE = "wws:python/host"
FORMAT = "3"
"""Bumped when the layout of the engine folder changes, or how the component is patched (`immortal.py`,
`lazy_table.py`)."""

COMPONENT_FILE = "engine.wasm"
STDLIB_FOLDER = "stdlib"
READY_FILE = "ready"
_ZSTD_MAGIC = bytes.fromhex("28b52ffd")


def glue_files() -> list[Path]:
    """The guest-side files baked into the engine (Python modules and the WIT world)."""
    return sorted(path for path in GLUE.rglob("*") if path.is_file() and path.suffix in (".py", ".wit"))


@functools.cache
def fingerprint() -> str:
    """Changes with every input of the engine: componentize-py's binary, the glue, tzdata, the folder layout."""
    hasher = blake3.blake3()
    pinned = COMPONENTIZE_PY_SHA256.get(platform.machine().lower(), "unchecked")
    for part in (FORMAT, COMPONENTIZE_PY_VERSION, pinned, _tzdata_version()):
        hasher.update(part.encode() + b"\0")
    for path in glue_files():
        hasher.update(path.relative_to(GLUE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return hasher.hexdigest()


def provenance() -> str:
    """Which engine Python workers get, for `wws --version`: componentize-py's version and checked sha256 (the
    engine is built from it on the first Python worker, into the cache)."""
    pinned = COMPONENTIZE_PY_SHA256.get(platform.machine().lower())
    checked = f"binary sha256 {pinned}" if pinned else f"binary not checked on {platform.machine()}"
    return f"componentize-py {COMPONENTIZE_PY_VERSION} ({checked}), built on first use into {engine_folder()}"


def engine_folder() -> Path:
    return cache_dir() / "python" / fingerprint()[:32]


def stdlib_folder() -> Path:
    """What the guest sees at `/python` (read-only): the standard library, compiled."""
    return engine_folder() / STDLIB_FOLDER


def build_files(folder: Path) -> None:
    """Unpack the standard library and build the component into `folder` (new and empty). Takes about 8 s."""
    binary = _componentize_binary()
    started = time.monotonic()
    log.warning("building the Python engine, once per machine (about 15 s): unpacking the standard library…")
    stdlib = folder / STDLIB_FOLDER
    _unpack_stdlib(binary.read_bytes(), stdlib)
    _add_tzdata(stdlib)
    log.warning("building the Python engine: componentize-py is snapshotting CPython and the glue…")
    _componentize(folder / COMPONENT_FILE)
    _make_snapshot_immortal(folder / COMPONENT_FILE)
    _make_table_lazy(folder / COMPONENT_FILE)
    log.warning("building the Python engine: component built in %.1f s", time.monotonic() - started)


@contextmanager
def build_lock(folder: Path) -> Iterator[None]:
    """Held while building the engine: another process (`wws serve --workers 2`) waits, then reuses the result."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _expected_sha256() -> str:
    machine = platform.machine().lower()
    expected = COMPONENTIZE_PY_SHA256.get(machine)
    if expected is None:
        raise EngineBuildError(
            f"Python workers need componentize-py {COMPONENTIZE_PY_VERSION}, whose binary wws has checked only "
            f"for {', '.join(sorted(COMPONENTIZE_PY_SHA256))}; this machine is {machine}"
        )
    return expected


def _componentize_binary() -> Path:
    try:
        installed = version("componentize-py")
    except PackageNotFoundError:
        raise EngineBuildError(
            f"Python workers need componentize-py=={COMPONENTIZE_PY_VERSION} (pip install wws installs it)"
        ) from None
    if installed != COMPONENTIZE_PY_VERSION:
        raise EngineBuildError(
            f"Python workers need componentize-py=={COMPONENTIZE_PY_VERSION}, not {installed}: "
            f"pip install componentize-py=={COMPONENTIZE_PY_VERSION}"
        )
    spec = importlib.util.find_spec("componentize_py")
    if spec is None or not spec.submodule_search_locations:
        raise EngineBuildError("componentize-py is installed but its package cannot be found")
    binary = next(Path(spec.submodule_search_locations[0]).glob("componentize_py*.so"), None)
    if binary is None:
        raise EngineBuildError("componentize-py's binary (componentize_py*.so) is missing from its package")
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()
    if digest != _expected_sha256():
        raise EngineBuildError(
            f"componentize-py's binary {binary} has sha256 {digest}, not the pinned {_expected_sha256()}: "
            f"reinstall componentize-py=={COMPONENTIZE_PY_VERSION} from PyPI"
        )
    return binary


def _unpack_stdlib(binary: bytes, target: Path) -> None:
    """componentize-py embeds CPython's standard library as a zstd-compressed tar: find it and unpack it."""
    view = memoryview(binary)
    offset = binary.find(_ZSTD_MAGIC)
    while offset >= 0:
        archive = _stdlib_archive(view[offset:])
        if archive is not None:
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(target, filter="data")
            return
        offset = binary.find(_ZSTD_MAGIC, offset + 1)
    raise EngineBuildError("componentize-py's binary holds no standard library (is it a different version?)")


def _stdlib_archive(frame: memoryview) -> bytes | None:
    """The decompressed frame if it is a tar of the standard library, else None (cheaply: peek first)."""
    try:
        head = zstandard.ZstdDecompressor().stream_reader(frame, read_across_frames=False).read(512)
        if head[257:262] != b"ustar":
            return None
        data = zstandard.ZstdDecompressor().decompressobj().decompress(frame)  # this frame only
    except zstandard.ZstdError:
        return None
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            names = set(tar.getnames())
    except tarfile.TarError:
        return None
    return data if {"os.py", "encodings/__init__.py"} <= names else None


def _tzdata_version() -> str:
    try:
        return version("tzdata")
    except PackageNotFoundError:
        return "none"


def _add_tzdata(stdlib: Path) -> None:
    """The IANA time zones, as the `tzdata` package (WASI has no /usr/share/zoneinfo)."""
    spec = importlib.util.find_spec("tzdata")
    if spec is None or not spec.submodule_search_locations:
        log.warning("the tzdata package is not installed: zoneinfo in Python workers will know no time zones")
        return
    shutil.copytree(spec.submodule_search_locations[0], stdlib / "tzdata", ignore=shutil.ignore_patterns("__pycache__"))


def _make_snapshot_immortal(component: Path) -> None:
    """Fewer pages copied per fresh instance (see `immortal.py`); without it the engine still works, slower."""
    try:
        patched, changed = immortal.immortalize(component.read_bytes())
    except SnapshotError as exc:
        log.warning("building the Python engine: its objects stay mortal (%s); fresh instances will be slower", exc)
        return
    component.write_bytes(patched)
    log.info("building the Python engine: %d objects of the snapshot made immortal", changed)


def _make_table_lazy(component: Path) -> None:
    """libpython's function table filled on use, not at every instantiation (see `lazy_table.py`); without it the
    engine still works, slower."""
    try:
        patched = lazy_table.make_table_lazy(component.read_bytes())
    except SnapshotError as exc:
        log.warning("building the Python engine: its function table stays eager (%s); fresh instances are slower", exc)
        return
    component.write_bytes(patched)


def _componentize(output: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="wws-componentize-") as work:
        app = Path(work) / "app"
        shutil.copytree(GLUE, app, ignore=shutil.ignore_patterns("__pycache__", "wit"))
        command = [
            sys.executable,
            "-c",
            "import sys, componentize_py; sys.argv[0] = 'componentize-py'; componentize_py.script()",
            "--quiet",
            "-d",
            str(GLUE / "wit"),
            "-w",
            WORLD,
            "componentize",
            "-p",
            str(app),
            "-o",
            str(output),
            APP_MODULE,
        ]
        environ = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
        result = subprocess.run(command, cwd=work, env=environ, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not output.is_file():
        detail = (result.stderr or result.stdout).strip()[-4000:]
        raise EngineBuildError(f"componentize-py failed (exit {result.returncode}):\n{detail}")
