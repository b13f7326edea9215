"""Prepared folders: `.wws/<language>/<blake3 of inputs>/`, what a worker's sandbox is given and nothing else.

Inputs = the worker's path in the project, its source bytes, its config, the runtime's fingerprint (glue and engine
versions) and the wasmtime version: the same inputs give the same folder, which is reused. A folder is written under
a temporary name and renamed into place, so a half-written folder is never used. Each worker keeps its current and
previous folder; older ones are removed once no process holds them (see `holds.py`): processes that share a project
(`--workers N`, hosts sharing its disk) may serve different versions of one worker (another environment gives
other `[vars]`, so another folder), and one never removes a folder another one uses.

Each worker's record, `.wws/workers/<hash>.json`, lists its versions (newest first) and its last version that
loaded in any process, with the text of its config then: a process whose files of the worker cannot load (a broken
save, which the process that loaded it keeps out) serves that version instead (see `Worker.load`); its folder is
never collected.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import blake3

from wws.sandbox.cache import wasmtime_version
from wws.worker.holds import FolderHold, remove_unless_held

STATE_FOLDER = ".wws"
MANIFEST = "wws-worker.json"
KEEP_VERSIONS = 2


@dataclass(frozen=True, slots=True)
class PreparedFolder:
    folder: Path
    source_name: str
    digest: str
    reused: bool
    hold: FolderHold = field(compare=False, repr=False)
    """This process's hold on the folder: it stays on disk until released (when its worker version retires)."""

    def release(self) -> None:
        self.hold.release()


def inputs_digest(relative: str, source: bytes, config: str, runtime: str) -> str:
    hasher = blake3.blake3()
    for part in (relative.encode(), source, config.encode(), runtime.encode(), wasmtime_version().encode()):
        hasher.update(len(part).to_bytes(8, "little"))
        hasher.update(part)
    return hasher.hexdigest()


def prepare_folder(
    root: Path, language: str, relative: str, digest: str, fill: Callable[[Path], str]
) -> PreparedFolder:
    """Return the folder for `digest`, held by this process, calling `fill(folder) -> source name` only when it does
    not exist yet."""
    base = root / STATE_FOLDER / language
    folder = base / digest
    manifest = folder / MANIFEST
    hold = FolderHold(folder)  # before looking: from now on no process removes it
    try:
        reused = manifest.is_file()
        if reused:
            source_name = json.loads(manifest.read_text())["source"]
        else:
            source_name = _fill(folder, {"worker": relative, "language": language}, fill)
        _remember(root, language, relative, digest)
    except BaseException:
        hold.release()
        raise
    return PreparedFolder(folder, source_name, digest, reused=reused, hold=hold)


def _fill(folder: Path, manifest: dict[str, str], fill: Callable[[Path], str]) -> str:
    """Write the folder under a temporary name, then rename it into place; the source's name in it."""
    temporary = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name[:16]}."))
    try:
        source_name = fill(temporary)
        manifest = {**manifest, "source": source_name, "inputs": folder.name}
        (temporary / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        try:
            temporary.rename(folder)
        except OSError:  # another process prepared the same inputs first: theirs is identical
            if not (folder / MANIFEST).is_file():
                raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return source_name


def _index_path(root: Path, relative: str) -> Path:
    return root / STATE_FOLDER / "workers" / f"{blake3.blake3(relative.encode()).hexdigest()[:32]}.json"


def _remember(root: Path, language: str, relative: str, digest: str) -> None:
    """Record `digest` as the worker's current version; remove the versions older than the previous one that no
    process holds and that are not its last version that loaded (the others stay listed, for a later collection)."""
    index = _index_path(root, relative)
    with _record_lock(index):
        record = _read_record(index)
        versions = _versions(record)
        if versions[:1] == [digest]:
            return
        newest = [digest, *[item for item in versions if item != digest]]
        kept = newest[:KEEP_VERSIONS]
        loaded = _loaded(record)
        for stale in newest[KEEP_VERSIONS:]:
            if stale == (loaded and loaded.digest) or not remove_unless_held(root / STATE_FOLDER / language / stale):
                kept.append(stale)
        _write_record(index, {**record, "worker": relative, "language": language, "versions": kept})


@dataclass(frozen=True, slots=True)
class LastLoaded:
    """A worker's last version that loaded, in any process of the project: what a process that cannot load the
    worker's files (a broken save) serves instead."""

    language: str
    digest: str
    config: str
    """The text of the worker's config file then ("" when it had none)."""


def remember_loaded(root: Path, relative: str, loaded: LastLoaded) -> None:
    """Record `loaded` as the worker's last version that loaded (its folder is then kept: see `_remember`)."""
    index = _index_path(root, relative)
    with _record_lock(index):
        record = _read_record(index)
        if _loaded(record) == loaded:
            return
        versions = _versions(record) or [loaded.digest]
        entry = {"digest": loaded.digest, "config": loaded.config}
        _write_record(index, {**record, "worker": relative, "language": loaded.language, "versions": versions,
                              "loaded": entry})  # fmt: skip


def last_loaded(root: Path, relative: str) -> LastLoaded | None:
    """The worker's last version that loaded, if one did and its folder is still there."""
    loaded = _loaded(_read_record(_index_path(root, relative)))
    if loaded is None or not (root / STATE_FOLDER / loaded.language / loaded.digest / MANIFEST).is_file():
        return None
    return loaded


def hold_prepared(root: Path, language: str, digest: str) -> PreparedFolder | None:
    """The prepared folder `digest` as it is, held by this process; None when it is not there (nothing is filled)."""
    folder = root / STATE_FOLDER / language / digest
    hold = FolderHold(folder)
    try:
        source_name = str(json.loads((folder / MANIFEST).read_text())["source"])
    except (OSError, ValueError, KeyError, TypeError):
        hold.release()
        return None
    return PreparedFolder(folder, source_name, digest, reused=True, hold=hold)


def _write_record(index: Path, record: dict[str, object]) -> None:
    handle, temporary = tempfile.mkstemp(dir=index.parent, suffix=".tmp")
    with os.fdopen(handle, "w") as file:
        json.dump(record, file)
    os.replace(temporary, index)


@contextlib.contextmanager
def _record_lock(index: Path) -> Iterator[None]:
    """One process at a time reads, changes and writes a worker's record (no version is lost between two)."""
    index.parent.mkdir(parents=True, exist_ok=True)
    with open(index.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def forget_worker(root: Path, relative: str) -> None:
    """Remove the prepared folders of a worker that is no longer served, and its record (those another process
    still holds stay, and stay listed)."""
    index = _index_path(root, relative)
    with _record_lock(index):
        record = _read_record(index)
        language = record.get("language")
        if not isinstance(language, str):
            return
        held = [
            version for version in _versions(record) if not remove_unless_held(root / STATE_FOLDER / language / version)
        ]
        if held:
            _write_record(index, {"worker": relative, "language": language, "versions": held})
        else:
            index.unlink(missing_ok=True)


def _read_record(index: Path) -> dict[str, object]:
    """A worker's record ({} when there is none, or none readable)."""
    try:
        record = json.loads(index.read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _versions(record: dict[str, object]) -> list[str]:
    """The versions a worker's record lists, newest first."""
    versions = record.get("versions")
    return [str(item) for item in versions] if isinstance(versions, list) else []


def _loaded(record: dict[str, object]) -> LastLoaded | None:
    entry = record.get("loaded")
    language = record.get("language")
    if not (isinstance(entry, dict) and isinstance(language, str)):
        return None
    digest, config = entry.get("digest"), entry.get("config")
    if not (isinstance(digest, str) and isinstance(config, str)):
        return None
    return LastLoaded(language, digest, config)


def find_project_root(handler: Path) -> Path:
    """The nearest folder above `handler` holding `wws.toml` or `.wws/`; else the handler's own folder."""
    for folder in handler.parents:
        if (folder / "wws.toml").is_file() or (folder / STATE_FOLDER).is_dir():
            return folder
    return handler.parent
