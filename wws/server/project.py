"""A served project: its workers (one per route), the router over them, its public files, KV store and fetcher."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from wws.errors import LoadError, WwsError
from wws.kv import DEFAULT_KV, open_kv
from wws.outbound import Fetcher
from wws.routing import Router, discover_routes
from wws.runtimes.registry import RuntimeRegistry, default_registry
from wws.sandbox.engine import Sandbox
from wws.server.static import PUBLIC_FOLDER, PublicFiles
from wws.worker.worker import Worker

log = logging.getLogger(__name__)


class Project:
    """Every worker under `root`. Discovering routes and reading configs happens here, at start-up; preparing and
    compiling a worker happens on its first request (or `preload()`), so a big project starts fast.

    A worker whose config is malformed is logged (file, line, field) and not served; the others are. Two files for
    one route is an error for the whole project: which one to serve would be a guess.
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
        registry = registry or default_registry()
        self.kv = open_kv(kv, self.root)
        self.fetcher = Fetcher()
        self.workers: dict[str, Worker] = {}
        self.failed: dict[Path, str] = {}
        """Handler files not served, and why."""
        routes = []
        for route in discover_routes(self.root, registry.extensions(), ignore):
            try:
                worker = Worker(
                    route.file, root=self.root, sandbox=sandbox, registry=registry, kv=self.kv, fetcher=self.fetcher
                )
            except WwsError as exc:
                log.error("not serving %s: %s", route.file, exc.format_message())
                self.failed[route.file] = exc.format_message()
                continue
            self.workers[route.pattern] = worker
            routes.append(route)
        self.router = Router(routes)
        self._source_suffixes = (*registry.extensions(), ".toml")

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

    def close(self) -> None:
        for worker in self.workers.values():
            worker.close()
        self.fetcher.close()
        self.kv.close()
