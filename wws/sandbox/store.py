"""A wasmtime Store set up for one guest instance: WASI, limits, host stdio, and error translation.

Created per request in `request` isolation and per warm instance in `instance` isolation; this is the hot path.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import wasmtime

from wws.config.model import Limits, Mount
from wws.errors import GuestTrap, OutOfTime, WorkerError
from wws.sandbox import _ffi
from wws.sandbox.engine import Sandbox
from wws.sandbox.hostcalls import HostCalls
from wws.sandbox.stdio import Streams
from wws.sandbox.traps import translate

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SandboxSpec:
    """Everything a guest is allowed to touch: argv, declared env vars, mounted folders, and its limits."""

    worker: Path
    """The handler file, for messages."""
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    mounts: tuple[Mount, ...]
    limits: Limits
    host: HostCalls | None = None
    """Answers the guest's `wws.host_call`s; None refuses them."""


INTERRUPT_CHECK_TICKS = 10
"""How often (in epoch ticks: 100 ms) a call that may be interrupted looks whether it was."""


def ticks_left(deadline: float, interrupt: threading.Event | None, streams: Streams | None) -> int:
    """The epoch ticks a call may go on for, at most `INTERRUPT_CHECK_TICKS`; 0 when it must stop now (`interrupt`
    is set, or `deadline` has come), after saying why in `streams` (if any)."""
    remaining = deadline - time.monotonic()
    if interrupt is not None and interrupt.is_set():
        if streams is not None:
            streams.failure = OutOfTime("interrupted: its run was cancelled")
        return 0
    if remaining <= 0:
        if streams is not None:
            streams.failure = OutOfTime("ran past its deadline")
        return 0
    return min(INTERRUPT_CHECK_TICKS, Sandbox.deadline_ticks(int(remaining * 1000)))  # never 0 with time left


def confine(store: wasmtime.Store, spec: SandboxSpec) -> None:
    """Give `store` its WASI context (argv, only the declared env, only the mounts) and its memory limit."""
    wasi = wasmtime.WasiConfig()
    wasi.argv = list(spec.argv)
    if spec.env:
        wasi.env = [list(pair) for pair in spec.env]
    for mount in spec.mounts:
        wasi.preopen_dir(str(mount.source), mount.guest, mount.writable)
    store.set_wasi(wasi)
    store.set_limits(memory_size=spec.limits.memory_bytes)


class GuestStore:
    """One Store with its WASI context (only the declared env and mounts) and capped stdio."""

    def __init__(self, sandbox: Sandbox, spec: SandboxSpec):
        self.spec = spec
        self.store = wasmtime.Store(sandbox.engine)
        self.streams = Streams(spec.limits.max_response_bytes, spec.limits.max_log_bytes, spec.host)
        self._sandbox = sandbox
        self._key = sandbox.stdio.attach(self.store, self.streams)
        self._instance: wasmtime.Instance | None = None
        self._memory: Any = None
        self._epoch_watch: Any = None
        confine(self.store, spec)

    def instantiate(self, pre: wasmtime.InstancePre) -> wasmtime.Instance:
        """Instantiate (running the start function, if any, under the deadline)."""
        self.streams.deadline, ticks = self._sandbox.call_deadline(self.spec.limits.timeout_ms)
        _ffi.set_epoch_deadline(self.store, ticks)
        try:
            instance = pre.instantiate(self.store)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
            error = self._failure(exc) or GuestTrap(self.spec.worker, "exited while being instantiated")
            raise error from exc
        self._instance = instance
        return instance

    def extend_env(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Give the guest more environment variables (a step's secrets) before its entry point runs."""
        self.spec = dataclasses.replace(self.spec, env=(*self.spec.env, *pairs))
        confine(self.store, self.spec)

    def export(self, instance: wasmtime.Instance, name: str) -> Any:
        return _ffi.instance_export(self.store, instance, name)

    def begin(
        self, stdin: bytes, request_id: str = "", deadline: float = 0.0, interrupt: threading.Event | None = None
    ) -> None:
        """Start a request: fresh stdio, and its deadline (`time.monotonic()`; 0: `timeout_ms` from now); `interrupt`
        ends its waits in the host early."""
        limit, ticks = self._sandbox.call_deadline(self.spec.limits.timeout_ms, deadline)
        self.streams.reset(stdin, request_id, limit, interrupt)
        if interrupt is not None:  # a guest that computes is checked on every few ticks, not only at its deadline
            if self._epoch_watch is None:
                self._epoch_watch = _ffi.on_epoch_deadline(self.store, self._ticks_left)
            ticks = min(ticks, INTERRUPT_CHECK_TICKS)
        _ffi.set_epoch_deadline(self.store, ticks)

    def _ticks_left(self) -> int:
        """At an epoch deadline of a call that may be interrupted: the ticks it may go on for, or 0 to stop it (its
        run was cancelled, or its deadline came)."""
        return ticks_left(self.streams.deadline, self.streams.interrupt, self.streams)

    def call(self, func: wasmtime.Func) -> None:
        """Call a `() -> ()` guest export; a clean WASI exit returns, any failure raises a WorkerError."""
        self._guarded(_ffi.call_nullary, func)

    def call_status(self, func: wasmtime.Func) -> int:
        """Call a `() -> i32` guest export and return its status; failures raise as in `call` (a clean WASI exit
        returns 0)."""
        return self._guarded(_ffi.call_status, func) or 0

    def _guarded(self, call: Callable[[wasmtime.Store, wasmtime.Func], T], func: wasmtime.Func) -> T | None:
        try:
            return call(self.store, func)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
            error = self._failure(exc)
            if error is not None:
                raise error from exc
            return None

    def memory_bytes(self) -> int:
        """Current size of the guest's exported memory (0 if none). Looked up on first use: fresh instances that
        succeed never need it."""
        if self._memory is None and self._instance is not None:
            self._memory = _ffi.instance_export(self.store, self._instance, "memory")
        return int(self._memory.data_len(self.store)) if isinstance(self._memory, wasmtime.Memory) else 0

    def close(self) -> None:
        """Drop the store now (not at garbage collection): stores alive at exit upset wasmtime's runtime."""
        self._sandbox.stdio.detach(self._key)
        self._memory = self._instance = None
        self.store.close()

    def _failure(self, exc: Exception) -> WorkerError | None:
        return translate(
            exc,
            worker=self.spec.worker,
            streams=self.streams,
            memory_bytes=self.memory_bytes(),
            cap_bytes=self.spec.limits.memory_bytes,
            timeout_ms=self.spec.limits.timeout_ms,
        )
