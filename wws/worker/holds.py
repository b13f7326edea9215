"""Holds on prepared folders, so that no process removes a folder another one may still open.

Every process that uses a prepared folder (its worker version is loaded, or being prepared) holds a shared `flock`
on the folder's lock file, `.wws/<language>/.<digest>.lock` (hidden: the folders are the versions), until that
version retires. Removing a folder takes the lock exclusively without waiting: a folder someone holds is left for a
later collection. The kernel drops the locks of a process that dies, so a crash leaves nothing held. `flock` works
between processes of one host, and between hosts on a file system that carries it (NFS v4, CephFS…); a copied
project needs none.

Removal renames the folder aside before it unlinks the lock file, and a holder checks, once it has its lock, that
the file it locked is still the one at that path: a process that waited for a removal then prepares the folder anew.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import threading
from pathlib import Path

LOCK_SUFFIX = ".lock"


class FolderHold:
    """A shared hold on one prepared folder (taken at creation). `release()` is idempotent."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._fd: int | None = _lock(lock_path(folder), fcntl.LOCK_SH)
        self._guard = threading.Lock()

    def release(self) -> None:
        with self._guard:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the file drops its lock


def lock_path(folder: Path) -> Path:
    return folder.with_name(f".{folder.name}{LOCK_SUFFIX}")


def remove_unless_held(folder: Path) -> bool:
    """Remove `folder` (and its lock file) if no process holds it; False when one does (it stays). A process
    preparing the folder holds it already, before the folder exists."""
    path = lock_path(folder)
    fd = _lock(path, fcntl.LOCK_EX | fcntl.LOCK_NB)
    if fd is None:
        return False
    trash = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".removed-{folder.name[:16]}."))
    try:
        with contextlib.suppress(FileNotFoundError):
            folder.rename(trash / folder.name)  # gone from its name at once: no one finds it half removed
        path.unlink(missing_ok=True)
    finally:
        os.close(fd)
        shutil.rmtree(trash, ignore_errors=True)
    return True


def _lock(path: Path, operation: int) -> int | None:
    """An open descriptor of the lock file at `path` (created if need be) holding `operation`'s lock, the file
    still being the one at `path`; None when `LOCK_NB` was asked and another process holds a conflicting lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, operation)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        os.close(fd)  # removed while this process waited for it: lock the new file
