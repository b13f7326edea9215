"""Which processes working in a project are alive: each holds a lock on its own file while it lives.

Every process is its own DBOS executor (`<host>-<pid>-<random>`), alive as long as it holds the lock of its file in
`.wws/pipeline-executors/` (the operating system releases it when the process dies, even by SIGKILL). A process may
recover the runs of every executor whose lock it can take: those are dead.
"""

from __future__ import annotations

import fcntl
import os
import socket
import uuid
from pathlib import Path
from typing import IO


class ExecutorLease:
    """This process's executor id, alive while it holds the lock of `<folder>/<id>.lock`; and the dead ones."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.executor_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._own: IO[str] | None = None
        self._dead: dict[str, IO[str]] = {}

    def acquire(self) -> None:
        """Hold this process's lock; its file appears only once locked (a rename), so no other process ever sees it
        unlocked, and takes it for a dead one's."""
        self.folder.mkdir(parents=True, exist_ok=True)
        hidden = self.folder / f".{self.executor_id}.lock"
        self._own = hidden.open("w")
        fcntl.flock(self._own, fcntl.LOCK_EX | fcntl.LOCK_NB)
        hidden.rename(self.folder / f"{self.executor_id}.lock")

    def dead_executors(self) -> list[str]:
        """The executors whose lock this process could take (and now holds): their processes are gone."""
        for path in sorted(self.folder.glob("[!.]*.lock")):
            if path.stem == self.executor_id or path.stem in self._dead:
                continue
            handle = path.open("a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()  # alive
                continue
            self._dead[path.stem] = handle
        return list(self._dead)

    def forget(self, executors: list[str]) -> None:
        """Their runs are recovered: drop their lock files."""
        for executor in executors:
            handle = self._dead.pop(executor, None)
            (self.folder / f"{executor}.lock").unlink(missing_ok=True)
            if handle is not None:
                handle.close()

    def release(self, *, keep: bool = False) -> None:
        """Give up this process's lease (and, unrecovered, the dead executors' locks: another process will). With
        `keep`, its file stays, unlocked: this process left runs unfinished, and the next to look takes them over."""
        for handle in self._dead.values():
            handle.close()
        self._dead.clear()
        if self._own is not None:
            if not keep:
                (self.folder / f"{self.executor_id}.lock").unlink(missing_ok=True)
            self._own.close()
            self._own = None
