"""Prepared folders: `.wws/<language>/<blake3 of inputs>/`, what a worker's sandbox is given and nothing else.

Inputs = the worker's path in the project, its source bytes, its config, the runtime's fingerprint (glue and engine
versions) and the wasmtime version: the same inputs give the same folder, which is reused. A folder is written under
a temporary name and renamed into place, so a half-written folder is never used. Each worker keeps its current and
previous folder (requests in flight may still use the previous one); older ones are removed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import blake3

from wws.sandbox.cache import wasmtime_version

STATE_FOLDER = ".wws"
MANIFEST = "wws-worker.json"
KEEP_VERSIONS = 2


@dataclass(frozen=True, slots=True)
class PreparedFolder:
    folder: Path
    source_name: str
    digest: str
    reused: bool


def inputs_digest(relative: str, source: bytes, config: str, runtime: str) -> str:
    hasher = blake3.blake3()
    for part in (relative.encode(), source, config.encode(), runtime.encode(), wasmtime_version().encode()):
        hasher.update(len(part).to_bytes(8, "little"))
        hasher.update(part)
    return hasher.hexdigest()


def prepare_folder(
    root: Path, language: str, relative: str, digest: str, fill: Callable[[Path], str]
) -> PreparedFolder:
    """Return the folder for `digest`, calling `fill(folder) -> source name` only when it does not exist yet."""
    base = root / STATE_FOLDER / language
    folder = base / digest
    manifest = folder / MANIFEST
    if manifest.is_file():
        source_name = json.loads(manifest.read_text())["source"]
        _remember(root, language, relative, digest)
        return PreparedFolder(folder, source_name, digest, reused=True)
    base.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=base, prefix=f".{digest[:16]}."))
    try:
        source_name = fill(temporary)
        (temporary / MANIFEST).write_text(
            json.dumps({"worker": relative, "language": language, "source": source_name, "inputs": digest}, indent=2)
            + "\n"
        )
        try:
            temporary.rename(folder)
        except OSError:  # another process prepared the same inputs first: theirs is identical
            if not (folder / MANIFEST).is_file():
                raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    _remember(root, language, relative, digest)
    return PreparedFolder(folder, source_name, digest, reused=False)


def _index_path(root: Path, relative: str) -> Path:
    return root / STATE_FOLDER / "workers" / f"{blake3.blake3(relative.encode()).hexdigest()[:32]}.json"


def _remember(root: Path, language: str, relative: str, digest: str) -> None:
    """Record `digest` as the worker's current version; remove versions older than the previous one."""
    index = _index_path(root, relative)
    index.parent.mkdir(parents=True, exist_ok=True)
    versions = _recorded_versions(index)
    if versions[:1] == [digest]:
        return
    kept = [digest, *[item for item in versions if item != digest]][:KEEP_VERSIONS]
    for stale in versions:
        if stale not in kept:
            shutil.rmtree(root / STATE_FOLDER / language / stale, ignore_errors=True)
    handle, temporary = tempfile.mkstemp(dir=index.parent, suffix=".tmp")
    with os.fdopen(handle, "w") as file:
        json.dump({"worker": relative, "language": language, "versions": kept}, file)
    os.replace(temporary, index)


def forget_worker(root: Path, relative: str) -> None:
    """Remove every prepared folder of a worker that is no longer served, and its record."""
    index = _index_path(root, relative)
    try:
        language = str(json.loads(index.read_text())["language"])
    except (OSError, ValueError, KeyError, TypeError):
        return
    for version in _recorded_versions(index):
        shutil.rmtree(root / STATE_FOLDER / language / version, ignore_errors=True)
    index.unlink(missing_ok=True)


def _recorded_versions(index: Path) -> list[str]:
    """The versions a worker's record lists, newest first ([] when there is no readable record)."""
    try:
        return [str(item) for item in json.loads(index.read_text())["versions"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def find_project_root(handler: Path) -> Path:
    """The nearest folder above `handler` holding `wws.toml` or `.wws/`; else the handler's own folder."""
    for folder in handler.parents:
        if (folder / "wws.toml").is_file() or (folder / STATE_FOLDER).is_dir():
            return folder
    return handler.parent
