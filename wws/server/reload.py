"""Hot reload: watch a project's files (watchdog) and refresh what it serves after each burst of changes.

Editors save in several steps (a temporary file, a rename, a metadata write): events are collected until the project
has been quiet for `DEBOUNCE_SECONDS`, then handed to `Project.refresh` at once, on this module's own thread, so no
request waits for a reload. What wws writes itself (`.wws/`), hidden folders (`.git/`…), `node_modules/` and
`public/` (read on every request anyway) are not watched at all: the project's top folder is watched alone, and each
of its other folders recursively, including the ones created later.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch

from wws.server.project import Project
from wws.server.static import PUBLIC_FOLDER
from wws.worker.prepare import STATE_FOLDER

log = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 0.05
"""Quiet time after the last event before reloading: longer than the steps of one save, shorter than a person."""

_IGNORED = {STATE_FOLDER, PUBLIC_FOLDER, "node_modules", "__pycache__"}


class ProjectWatcher(FileSystemEventHandler):
    """Refreshes `project` after its files change, until `stop()`."""

    def __init__(self, project: Project, debounce: float = DEBOUNCE_SECONDS):
        self.project = project
        self.debounce = debounce
        self._changed: set[Path] = set()
        self._last_event = 0.0
        self._lock = threading.Lock()
        self._pending = threading.Event()
        self._stopping = False
        self._observer = Observer()
        self._folders: dict[str, ObservedWatch] = {}
        self._observer.schedule(self, str(project.root), recursive=False)
        for child in project.root.iterdir():
            self._watch_folder(child)
        self._thread = threading.Thread(target=self._run, name="wws-reload", daemon=True)
        self.reloads = 0
        """How many refreshes ran (for tests and metrics)."""

    def start(self) -> None:
        self._observer.start()
        self._thread.start()
        log.info("watching %s for changes", self.project.root)

    def stop(self) -> None:
        self._stopping = True
        self._pending.set()
        self._observer.stop()
        self._observer.join()
        self._thread.join()

    def _watch_folder(self, path: Path) -> None:
        """Watch a folder of the project's top level (recursively) unless it is ignored; again if it was re-created."""
        if path.parent != self.project.root or not path.is_dir() or not self._relevant(path):
            return
        with self._lock:
            previous = self._folders.pop(path.name, None)
            if previous is not None:
                self._observer.unschedule(previous)
            self._folders[path.name] = self._observer.schedule(self, str(path), recursive=True)

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        paths = [Path(str(event.src_path))]
        if getattr(event, "dest_path", ""):
            paths.append(Path(str(event.dest_path)))
        if event.is_directory and event.event_type in ("created", "moved"):
            self._watch_folder(paths[-1])
        relevant = {path for path in paths if self._relevant(path)}
        if not relevant:
            return
        with self._lock:
            self._changed |= relevant
            self._last_event = time.monotonic()
        self._pending.set()

    def _relevant(self, path: Path) -> bool:
        try:
            parts = path.relative_to(self.project.root).parts
        except ValueError:
            return False
        return bool(parts) and not any(part in _IGNORED or part.startswith(".") for part in parts)

    def _run(self) -> None:
        while True:
            self._pending.wait()
            if self._stopping:
                return
            while (quiet := time.monotonic() - self._last_event) < self.debounce:
                time.sleep(self.debounce - quiet)
            with self._lock:
                changed, self._changed = self._changed, set()
                self._pending.clear()
            try:
                self.project.refresh(changed)
            except Exception:  # a reload that fails must not end reloading (nor the server)
                log.exception("reloading %s failed", self.project.root)
            self.reloads += 1
