"""A Worker: one handler file and its config, prepared into its folder, loaded once, then serving requests."""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from wws.config.loader import load_worker_config, read_worker_config
from wws.config.model import Isolation, WorkerConfig
from wws.errors import LoadError, RequestTooLarge, WwsError
from wws.kv.base import KVStore, changes_between
from wws.kv.memory import MemoryKV
from wws.logs import log_guest
from wws.messages import StepAnswer, StepCall, WorkerRequest, WorkerResponse
from wws.outbound import Fetcher
from wws.runtimes.base import PreparedWorker, Program, Runtime
from wws.runtimes.registry import RuntimeRegistry, default_registry
from wws.sandbox.engine import Sandbox, default_sandbox
from wws.sandbox.guest import SandboxSpec
from wws.worker.host import HostAPI
from wws.worker.isolation import FreshInstances, WarmPool
from wws.worker.prepare import (
    STATE_FOLDER,
    LastLoaded,
    PreparedFolder,
    find_project_root,
    hold_prepared,
    inputs_digest,
    last_loaded,
    prepare_folder,
    remember_loaded,
)

log = logging.getLogger(__name__)


def default_pool_size() -> int:
    """As many warm instances as a default thread pool has threads."""
    return min(32, (os.cpu_count() or 1) + 4)


class Worker:
    """A handler file served through its runtime.

    Cheap to create; `prepare()` writes its folder, `load()` compiles or loads its module (once per version), and
    `handle()` does both on first use. Thread-safe: any number of threads may call `handle()` at once.

    `kv` holds the namespaces (a server shares one store between its workers; a worker alone gets a private memory
    store); `fetcher` sends its outbound HTTP (a private one when not given).
    """

    def __init__(
        self,
        path: Path | str,
        config: WorkerConfig | None = None,
        *,
        root: Path | None = None,
        sandbox: Sandbox | None = None,
        registry: RuntimeRegistry | None = None,
        pool_size: int | None = None,
        kv: KVStore | None = None,
        fetcher: Fetcher | None = None,
        keep_last_loaded: bool = False,
        config_text: str | None = None,
        pinned: str | None = None,
    ):
        self.path = Path(path).resolve()
        if not self.path.is_file():
            raise LoadError(self.path, "no such file")
        self.root = (root or find_project_root(self.path)).resolve()
        self.config_text = read_worker_config(self.path) if config_text is None else config_text
        """The text of its config file as this version read it (what a stand-in elsewhere parses)."""
        self.config = (
            config
            if config is not None
            else load_worker_config(self.path, project_root=self.root, text=self.config_text)
        )
        self.keep_last_loaded = keep_last_loaded
        """When its files cannot load, serve its last version that loaded (in any process) instead: a server does."""
        self.pinned = pinned
        """The version (prepared folder) it serves, whatever its files are now: a stand-in's."""
        self._stand_in: Worker | None = None
        self.kv = kv if kv is not None else (MemoryKV() if self.config.kv_namespace else None)
        self._own_fetcher = fetcher is None
        self.fetcher = fetcher or Fetcher()
        self.host = HostAPI(self.relative_path, self.config, self.kv, self.fetcher)
        self._registry = registry or default_registry()
        self.runtime: Runtime = self._registry.get(self.path.suffix)
        self.sandbox = sandbox or default_sandbox()
        self.pool_size = pool_size or default_pool_size()
        self.prepared: PreparedFolder | None = None
        self.sources: frozenset[Path] = frozenset({self.path})
        """The files this worker's current version was prepared from (its handler, until it is prepared)."""
        self._strategy: FreshInstances | WarmPool | None = None
        self._program: Program | None = None
        self._kv_copy = False
        """Each request carries a copy of the KV namespace (the native protocol); known once loaded."""
        self._speculates = False
        self._lock = threading.Lock()
        self._active = 0
        self._retired = False
        self.last_used = time.monotonic()
        """When its last request or step ended (or it was created): what `release_if_idle` counts from."""
        self._released = False

    @functools.cached_property
    def relative_path(self) -> str:
        """The handler's path inside its project, with '/' separators (how messages and manifests name it)."""
        try:
            return self.path.relative_to(self.root).as_posix()
        except ValueError:
            return self.path.name

    @functools.cached_property
    def writable_folders(self) -> tuple[Path, ...]:
        """The host folders its config lets it write to: never part of its sources (what it writes is not its code,
        and would make every write a new version)."""
        return tuple(folder.source for folder in self.config.folders if folder.writable)

    def inputs(self) -> tuple[str, frozenset[Path]]:
        """The digest of this worker's inputs as they are on disk now, and the files they were read from."""
        files = self.runtime.sources(self.path, self.writable_folders)
        source = bytearray()
        for file in files:
            try:
                content = file.read_bytes()
            except OSError as exc:
                raise LoadError(self.path, f"cannot read {file}: {exc.strerror}") from exc
            name = file.relative_to(self.path.parent).as_posix().encode() if file != self.path else b""
            source += len(name).to_bytes(8, "little") + name + len(content).to_bytes(8, "little") + content
        digest = inputs_digest(self.relative_path, bytes(source), self.config.fingerprint(), self.runtime.fingerprint())
        return digest, frozenset(files)

    def prepare(self) -> PreparedFolder:
        """Write (or reuse) `.wws/<language>/<hash>/` for the current inputs (a pinned worker: its version's folder,
        as it is), and hold it (no process removes it) until this worker closes or prepares another version."""
        if self.pinned is not None:
            prepared = hold_prepared(self.root, self.runtime.language, self.pinned)
            if prepared is None:
                raise LoadError(self.path, f"its version {self.pinned[:12]} is no longer in {STATE_FOLDER}/")
        else:
            digest, self.sources = self.inputs()
            prepared = prepare_folder(
                self.root,
                self.runtime.language,
                self.relative_path,
                digest,
                lambda folder: self.runtime.prepare(self.path, folder, self.writable_folders),
            )
        previous, self.prepared = self.prepared, prepared
        if previous is not None:
            previous.release()
        return self.prepared

    @property
    def loaded(self) -> bool:
        """Whether this version is prepared and loaded (requests then start at once)."""
        return self._strategy is not None or (self._stand_in is not None and self._stand_in.loaded)

    @property
    def stand_in(self) -> Worker | None:
        """The last version that loaded, serving in its place because its files cannot load (see `load`)."""
        return self._stand_in

    @property
    def speculates(self) -> bool:
        """Whether its requests may run speculatively on the caller's thread (`wws.sandbox.context.speculating`):
        its runtime's guests honour speculation (`speculates` on their Program), a request needs no I/O before its
        guest runs (the copy of the KV namespace the native protocol sends), and the guest can change no file (a
        writable folder: a call stopped and run again would find its own writes). False until loaded."""
        return self._speculates

    def load(self, last_loaded: bool = True) -> FreshInstances | WarmPool:
        """Prepare and load this version of the worker (idempotent) and return how it makes instances; raises
        `LoadError` when it cannot run. With `keep_last_loaded` (and `last_loaded`), a version that cannot load gets
        a stand-in instead: its last version that loaded in any process of the project (a broken save never
        replaces a working version, even in a process that had not loaded the worker yet); the error is raised only
        when there is none."""
        with self._lock:
            if self._strategy is None and self._stand_in is None:
                try:
                    self._strategy = self._load()
                except LoadError as exc:
                    if not (self.keep_last_loaded and last_loaded):
                        raise
                    self._stand_in = self._last_loaded(exc)
            if self._stand_in is not None:
                return self._stand_in.load()
            assert self._strategy is not None
            return self._strategy

    def _last_loaded(self, error: LoadError) -> Worker:
        """A pinned worker serving this one's last version that loaded, loaded; else `error` is raised."""
        stand_in = Worker.last_version(
            self.path,
            root=self.root,
            sandbox=self.sandbox,
            registry=self._registry,
            pool_size=self.pool_size,
            kv=self.kv,
            fetcher=None if self._own_fetcher else self.fetcher,
        )
        if stand_in is None:
            raise error
        try:
            stand_in.load()
        except WwsError as exc:
            stand_in.close()
            log.error("%s\n(its last version that loaded cannot serve either: %s)", error, exc)
            raise error from exc
        log.warning("%s\n(%s)", error, stand_in.standing_in_note())
        return stand_in

    @classmethod
    def last_version(cls, path: Path, *, root: Path, **options: Any) -> Worker | None:
        """A worker (not loaded) pinned to the last version of `path` that loaded in any process of the project
        (`root`), with its config as it was then; None when there is none to serve (or its config no longer reads,
        e.g. an environment variable it needs is missing here). `options` are the other arguments of `Worker`."""
        relative = path.resolve().relative_to(root.resolve()).as_posix()
        loaded = last_loaded(root, relative)
        if loaded is None:
            return None
        try:
            config = load_worker_config(path, project_root=root, text=loaded.config)
            worker = cls(path, config, root=root, config_text=loaded.config, pinned=loaded.digest, **options)
        except WwsError:
            return None
        return worker if worker.runtime.language == loaded.language else None

    def standing_in_note(self) -> str:
        """What the log says of a pinned worker serving for its files that cannot load."""
        version = (self.pinned or "")[:12]
        return (
            f"{self.relative_path}: serving its last version that loaded in this project, {version}, until a save loads"
        )

    def _load(self) -> FreshInstances | WarmPool:
        # released when idle: the same version again (its files may have changed since; a new version is the
        # reloader's to make, never a side effect of idling)
        prepared = self.prepared if self._released and self.prepared is not None else self.prepare()
        spec = SandboxSpec(
            worker=self.path,
            argv=(prepared.source_name,),
            env=tuple(self.config.vars.items()),
            mounts=(*self.runtime.preopens(prepared.folder), *self.config.folders),
            limits=self.config.limits,
            host=self.host,
        )
        program = self._program = self.runtime.load(
            PreparedWorker(self.path, prepared.folder, prepared.source_name, self.config, self.sandbox, spec)
        )
        if self.pinned is None:  # a version that loads: what the project's processes fall back to (see `load`)
            loaded = LastLoaded(self.runtime.language, prepared.digest, self.config_text)
            remember_loaded(self.root, self.relative_path, loaded)
        self._kv_copy = self.config.kv_namespace is not None and getattr(program, "kv_snapshot", True)
        writable = any(folder.writable for folder in self.config.folders)
        self._speculates = getattr(program, "speculates", False) and not self._kv_copy and not writable
        if self.config.isolation is Isolation.INSTANCE:
            if program.reusable:
                return WarmPool(
                    program,
                    size=self.pool_size,
                    max_requests=self.config.max_requests,
                    memory_cap_bytes=self.config.limits.memory_bytes,
                    timeout_ms=self.config.limits.timeout_ms,
                )
            log.warning(
                "%s: isolation = 'instance' asked, but this %s worker cannot serve two requests on one "
                "instance; every request gets a fresh one",
                self.path,
                self.runtime.language,
            )
        return FreshInstances(program)

    def handle(self, request: WorkerRequest) -> WorkerResponse:
        """Run one request. Raises a `WorkerError` (with its HTTP status) when the worker fails."""
        limit = self.config.limits.max_body_bytes
        if len(request.body) > limit:
            raise RequestTooLarge(
                self.path, f"request body of {len(request.body)} bytes is over the {limit}-byte limit"
            )
        self._begin_use()
        try:
            return self._handle(request)
        finally:
            self._end_use()

    def _begin_use(self) -> None:
        """A request or a step starts: counted as running, so neither a retirement closes the worker nor an idle
        release empties it meanwhile."""
        with self._lock:
            self._active += 1

    def _end_use(self) -> None:
        """A request or a step ended: the worker's last use; a retired worker closes with its last one."""
        with self._lock:
            self._active -= 1
            self.last_used = time.monotonic()
            drained = self._retired and not self._active
        if drained:
            self.close()

    @contextmanager
    def _in_use(self) -> Iterator[None]:
        self._begin_use()
        try:
            yield
        finally:
            self._end_use()

    def _handle(self, request: WorkerRequest) -> WorkerResponse:
        strategy = self._strategy or self.load()
        if self._stand_in is not None:
            return self._stand_in.handle(request)
        namespace = self.config.kv_namespace
        with self.host.faults(self.path, request.request_id):
            if self._kv_copy and namespace is not None and self.kv is not None:
                request = dataclasses.replace(request, kv=self.kv.items(namespace))
            response = strategy.handle(request)
            if response.log:
                for line in response.log.decode("utf-8", "replace").splitlines():
                    log_guest(self.relative_path, request.request_id, line)
            if namespace is not None and self.kv is not None and response.kv:
                self.kv.apply(namespace, changes_between(request.kv, response.kv))
        return response

    def run_step(self, call: StepCall) -> StepAnswer:
        """Run one pipeline step on a fresh instance (whatever the worker's isolation: a step shares nothing).
        Raises a `WorkerError` when the guest fails, `LoadError` when it cannot load or its runtime runs no steps."""
        with self._in_use():
            self.load()
            program = self._program
            assert program is not None
            with self.host.faults(self.path, call.request_id):
                instance = program.new_instance()
                try:
                    run_step = getattr(instance, "run_step", None)
                    if run_step is None:
                        raise LoadError(self.path, f"the {self.runtime.language} runtime cannot run pipeline steps")
                    answer: StepAnswer = run_step(call)
                finally:
                    instance.close()
        if answer.log:
            for line in answer.log.decode("utf-8", "replace").splitlines():
                log_guest(self.relative_path, call.request_id, line)
        return answer

    def retire(self) -> None:
        """A newer version (or none) serves from now on: close once the requests in flight here have finished."""
        with self._lock:
            self._retired = True
            drained = not self._active
        if drained:
            self.close()

    def release_if_idle(self, idle_ms: int, now: float | None = None) -> bool:
        """Give back the memory this version holds (its instances, warm or kept for reuse, and its loaded program)
        when nothing ran for `idle_ms` and nothing runs now; its next request loads it again, from its prepared
        folder, which it keeps. 0 never releases. True when something was released."""
        if idle_ms <= 0:
            return False
        now = time.monotonic() if now is None else now
        with self._lock:
            if self._active or self._retired or now - self.last_used < idle_ms / 1000:
                return False
            strategy, stand_in = self._take_loaded()
            self._released = self._released or strategy is not None
        _close_loaded(strategy, stand_in)
        return strategy is not None or stand_in is not None

    def _take_loaded(self) -> tuple[FreshInstances | WarmPool | None, Worker | None]:
        """What this version loaded (its isolation and program, or its stand-in), no longer its own; the caller holds
        the lock and closes them (`_close_loaded`) after releasing it."""
        strategy, self._strategy = self._strategy, None
        stand_in, self._stand_in = self._stand_in, None
        self._program = None
        return strategy, stand_in

    def close(self) -> None:
        """Drop warm instances now (stores alive at interpreter exit upset wasmtime), then let go of the prepared
        folder (see `prepare`)."""
        with self._lock:
            strategy, stand_in = self._take_loaded()
        _close_loaded(strategy, stand_in)
        if self.prepared is not None:
            self.prepared.release()
        if self._own_fetcher:
            self.fetcher.close()

    def __repr__(self) -> str:
        return f"Worker({self.relative_path!r}, runtime={self.runtime.language!r})"


def _close_loaded(strategy: FreshInstances | WarmPool | None, stand_in: Worker | None) -> None:
    if strategy is not None:
        strategy.close()
    if stand_in is not None:
        stand_in.close()
