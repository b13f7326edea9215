"""A served project: its workers (one per route), the router over them, its public files, KV store and fetcher."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wws.config.loader import PROJECT_CONFIG, config_path_for
from wws.errors import LoadError, WwsError
from wws.kv import DEFAULT_KV, open_kv
from wws.outbound import Fetcher
from wws.routing import Route, Router, discover_routes
from wws.runtimes.registry import RuntimeRegistry, default_registry
from wws.sandbox.engine import Sandbox
from wws.server.static import PUBLIC_FOLDER, PublicFiles
from wws.worker.prepare import forget_worker
from wws.worker.worker import Worker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Served:
    """What is served at one moment: replaced as a whole on reload, so a request sees one consistent table."""

    router: Router
    workers: dict[str, Worker] = field(default_factory=dict)


class Project:
    """Every worker under `root`. Discovering routes and reading configs happens here, at start-up; preparing and
    compiling a worker happens on its first request (or `preload()`), so a big project starts fast.

    A worker whose config is malformed is logged (file, line, field) and not served; the others are. Two files for
    one route is an error for the whole project: which one to serve would be a guess.

    `refresh()` brings what is served in line with the files (see `wws.server.reload`, which calls it): a new or
    changed worker is prepared and loaded before it takes traffic, and replaces the old version only when it loads;
    the old version finishes the requests it has started.
    """

    def __init__(
        self,
        root: Path,
        *,
        sandbox: Sandbox | None = None,
        registry: RuntimeRegistry | None = None,
        ignore: Iterable[str] = (),
        kv: str = DEFAULT_KV,
    ):
        if not root.is_dir():
            raise LoadError(root, "not a folder")
        self.root = root.resolve()
        self.public = PublicFiles(self.root / PUBLIC_FOLDER)
        self._registry = registry or default_registry()
        self._sandbox = sandbox
        self._ignore = tuple(ignore)
        self.kv = open_kv(kv, self.root)
        self.fetcher = Fetcher()
        self.failed: dict[Path, str] = {}
        """Handler files not served, and why."""
        self._source_suffixes = (*self._registry.extensions(), ".toml")
        self._refresh_lock = threading.Lock()
        self._rejected: dict[Path, str] = {}
        """Per handler, the input digest of the last version that failed to load (not retried until it changes)."""
        workers: dict[str, Worker] = {}
        routes = []
        for route in discover_routes(self.root, self._registry.extensions(), self._ignore):
            try:
                worker = self._new_worker(route.file)
            except WwsError as exc:
                kept = self._keep(None, route.file, exc)
                if kept is None:
                    continue
                worker = kept
            workers[route.pattern] = worker
            routes.append(route)
        self.served = Served(Router(routes), workers)

    @property
    def workers(self) -> dict[str, Worker]:
        return self.served.workers

    @property
    def router(self) -> Router:
        return self.served.router

    def _new_worker(self, file: Path) -> Worker:
        return Worker(file, root=self.root, keep_last_loaded=True, **self._worker_options())

    def _worker_options(self) -> dict[str, Any]:
        return {"sandbox": self._sandbox, "registry": self._registry, "kv": self.kv, "fetcher": self.fetcher}

    def names_a_source(self, path: str) -> bool:
        """Whether a request path names one of the project's handler or config files (never served, even by a
        dynamic route: `/index.js`, `/api/handler.toml` answer 404)."""
        if not path.lower().endswith(self._source_suffixes):
            return False
        try:
            return (self.root / path.lstrip("/")).is_file()
        except OSError:  # a name too long for the file system names no file
            return False

    def preload(self) -> None:
        """Prepare and load every worker now, logging the ones that cannot load (they answer 500 when asked)."""
        for worker in self.workers.values():
            try:
                worker.load()
            except WwsError as exc:
                log.error("%s", exc.format_message())

    def refresh(self, changed: Iterable[Path] | None = None) -> None:
        """Serve what the files say now. `changed` (paths that changed, when known) limits which workers are checked
        for a new version; routes are always discovered again."""
        with self._refresh_lock:
            try:
                routes = discover_routes(self.root, self._registry.extensions(), self._ignore)
            except LoadError as exc:
                log.error("not reloading: %s", exc.format_message())
                return
            old = self.served
            touched = None if changed is None else [path.resolve() for path in changed]
            workers: dict[str, Worker] = {}
            served_routes: list[Route] = []
            for route in routes:
                current = old.workers.get(route.pattern)
                if current is not None and current.path != route.file:
                    current = None
                worker = self._version_of(route.file, current, touched)
                if worker is not None:
                    workers[route.pattern] = worker
                    served_routes.append(route)
            self.served = Served(Router(served_routes), workers)
        for pattern, worker in workers.items():
            if pattern not in old.workers:
                log.info("%s: serving %s", worker.relative_path, pattern)
        kept = {id(worker) for worker in workers.values()}
        for worker in old.workers.values():
            if id(worker) in kept:
                continue
            still_served = any(other.path == worker.path for other in workers.values())
            log.info("%s: %s", worker.relative_path, "new version serving" if still_served else "no longer served")
            worker.retire()
            if not still_served:
                forget_worker(self.root, worker.relative_path)

    def _version_of(self, file: Path, current: Worker | None, touched: list[Path] | None) -> Worker | None:
        """The worker to serve `file` with: `current` when nothing it depends on changed, or when the new version
        fails to load; else the new version, loaded before it takes traffic. None: not served."""
        if current is not None and touched is not None and not any(self._concerns(current, path) for path in touched):
            return current
        try:
            candidate = self._new_worker(file)
            digest, _ = candidate.inputs()
        except WwsError as exc:
            return self._keep(current, file, exc)
        if current is not None and _same_version(current, candidate, digest):
            return current
        if self._rejected.get(file) == digest:
            return current or candidate
        return self._load(candidate, current, digest)

    def _load(self, candidate: Worker, current: Worker | None, digest: str) -> Worker | None:
        """Load `candidate` now, before it takes traffic; if it fails, `current` (if any) keeps serving."""
        try:
            candidate.load(last_loaded=current is None)  # with no version here, the project's last one stands in
        except WwsError as exc:
            self._rejected[candidate.path] = digest
            if current is None:
                log.error("%s", exc.format_message())
                return candidate  # a new handler that cannot load answers 500 with its error, as at start-up
            candidate.close()
            return self._keep(current, candidate.path, exc)
        if candidate.stand_in is not None:
            self._rejected[candidate.path] = digest  # these files do not load: not tried again until they change
        else:
            self._rejected.pop(candidate.path, None)
        self.failed.pop(candidate.path, None)
        return candidate

    def _keep(self, current: Worker | None, file: Path, error: WwsError) -> Worker | None:
        """Log why the files' version of `file` cannot be served, and go on with `current` (if any; else with its
        last version that loaded in any process of the project, if any)."""
        if current is None:
            stand_in = Worker.last_version(file, root=self.root, **self._worker_options())
            if stand_in is not None:
                log.warning("%s\n(%s)", error.format_message(), stand_in.standing_in_note())
                return stand_in
            log.error("not serving %s: %s", file, error.format_message())
            self.failed[file] = error.format_message()
        else:
            log.error("%s\n(%s: the previous version keeps serving)", error.format_message(), current.relative_path)
        return current

    def _concerns(self, worker: Worker, path: Path) -> bool:
        """Whether a change at `path` may change `worker`: one of its sources or its config, anything in its folder
        (new helpers, `requirements.txt`) but the folders it writes to, or the project's config."""
        folder = worker.path.parent
        if any(writable == path or writable in path.parents for writable in worker.writable_folders):
            return False  # what the worker writes (see `Worker.writable_folders`)
        return (
            path in worker.sources
            or path == config_path_for(worker.path)
            or path == self.root / PROJECT_CONFIG
            or path.parent == folder
            or (folder in path.parents and any(part.startswith("_") for part in path.relative_to(folder).parts))
        )

    def close(self) -> None:
        for worker in self.workers.values():
            worker.close()
        self.fetcher.close()
        self.kv.close()


def _same_version(current: Worker, candidate: Worker, digest: str) -> bool:
    """Whether `candidate` (with inputs `digest`) is the version `current` serves. A worker not loaded yet reads its
    sources when it first loads, so only its config can be out of date."""
    if current.pinned is not None or current.stand_in is not None:
        return False  # it serves an older version than its files: whatever they are now is worth a try
    if current.prepared is None:
        return current.config == candidate.config
    return current.prepared.digest == digest
