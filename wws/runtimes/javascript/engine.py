"""The JavaScript engine: QuickJS-NG built for WASI by `scripts/build-quickjs.sh`, and the glue that runs on it.

The engine and the glue together are identified by one fingerprint (part of every JavaScript worker's hash), so a
rebuilt engine or an edited glue file re-prepares and re-initialises every worker.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import blake3

from wws.errors import LoadError
from wws.wasm import reader as snapshot

ENGINE_FILE = Path(__file__).with_name("quickjs.wasm")
INPUTS_FILE = Path(__file__).with_name("quickjs.wasm.inputs")
"""Written by the build beside the engine: `quickjs-ng <version> <sha256 of its source package> <sha256 of engine.c>
<sha256 of the build script>`."""
GLUE_FOLDER = Path(__file__).parents[2] / "glue" / "javascript"
GLUE_SUFFIX = ".js"
BUILD_COMMAND = "bash scripts/build-quickjs.sh"


@functools.cache
def engine_bytes() -> bytes:
    """The engine module (read once per process)."""
    try:
        return ENGINE_FILE.read_bytes()
    except OSError:
        raise LoadError(
            ENGINE_FILE, f"the JavaScript engine is not built: run `{BUILD_COMMAND}` (it needs clang and wasi-libc)"
        ) from None


def glue_files() -> list[Path]:
    return sorted(path for path in GLUE_FOLDER.iterdir() if path.suffix == GLUE_SUFFIX)


@functools.cache
def fingerprint() -> str:
    """blake3 of the engine and the glue files (read once per process)."""
    hasher = blake3.blake3(engine_bytes())
    for path in glue_files():
        hasher.update(path.name.encode() + b"\0" + path.read_bytes())
    return hasher.hexdigest()[:32]


def provenance() -> str:
    """Which engine this is, for `wws --version`: QuickJS-NG's version and source sha256, and the engine's sha256."""
    try:
        engine = hashlib.sha256(ENGINE_FILE.read_bytes()).hexdigest()
    except OSError:
        return f"not built (run `{BUILD_COMMAND}`)"
    try:
        name, version, source, *_ = INPUTS_FILE.read_text().split()
    except (OSError, ValueError):
        return f"quickjs.wasm sha256 {engine} (its build record is missing)"
    return f"{name} {version} (source sha256 {source}), quickjs.wasm sha256 {engine}"


@functools.cache
def stack_size() -> int:
    """The engine's stack (linked first in memory): dead between calls, zeroed in images."""
    return snapshot.stack_size(engine_bytes())
