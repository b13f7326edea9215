"""Guests that are components (the component model, WASI preview 2): their linker, their stores and their calls.

Runtimes built as components (Python, through componentize-py) reach the host through one typed import,
`call: func(message: string) -> string`, carrying the same JSON host calls as native modules (`wws.worker.host`),
and `sleep: func(nanoseconds: u64)`, the guest's only way to wait: it ends by the request's deadline, since a sleep
inside wasmtime's own WASI could not be interrupted.
A component's memory is not reachable from wasmtime-py, so its output comes back as the call's result rather than
through host stdio; its log lines come through the `log` host call, capped per request (`max_log_bytes`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import wasmtime
import wasmtime.component

from wws.errors import GuestTrap, WorkerError
from wws.sandbox import _ffi
from wws.sandbox.engine import Sandbox
from wws.sandbox.stdio import LogBudget
from wws.sandbox.store import INTERRUPT_CHECK_TICKS, SandboxSpec, confine, ticks_left
from wws.sandbox.traps import translate_component
from wws.sandbox.waits import sleep_unless

_NO_HOST = '{"ok":false,"error":"host calls are not available here (top-level code runs before any request)"}'


@dataclass(slots=True)
class _Call:
    """What the host import needs to answer the calling thread's guest: whose request it is, and its budget."""

    spec: SandboxSpec
    request_id: str
    deadline: float
    host_allowed: bool
    log_budget: LogBudget
    interrupt: threading.Event | None = None
    out_of_time: bool = False
    """The deadline came while the guest slept in the host."""


class ComponentLinker:
    """A component linker with WASI preview 2 and the host-call import `interface` (e.g. `wws:python/host`)."""

    def __init__(self, sandbox: Sandbox, interface: str):
        self.sandbox = sandbox
        self.linker = wasmtime.component.Linker(sandbox.engine)
        self.linker.add_wasip2()
        with self.linker.root() as root, root.add_instance(interface) as host:
            host.add_func("call", self._host_call)
            host.add_func("sleep", self._sleep)
        self._local = threading.local()

    def _host_call(self, _store: Any, message: str) -> str:
        """Answer one host call of the guest running on this thread (guest calls never leave their thread)."""
        current: _Call | None = getattr(self._local, "call", None)
        if current is None or not current.host_allowed or current.spec.host is None:
            return _NO_HOST
        answer = current.spec.host.call(message.encode(), current.request_id, current.deadline, current.log_budget)
        return answer.decode()

    def _sleep(self, _store: Any, nanoseconds: int) -> None:
        """Wait on the host for the guest of this thread, at most until its request's deadline, which stops it."""
        current: _Call | None = getattr(self._local, "call", None)
        wanted = nanoseconds / 1e9
        interrupt = current.interrupt if current is not None else None
        if current is not None and time.monotonic() + wanted > current.deadline:
            sleep_unless(max(0.0, current.deadline - time.monotonic()), interrupt)
            current.out_of_time = True
            raise wasmtime.WasmtimeError("wws: deadline reached while the guest was waiting")
        if sleep_unless(wanted, interrupt) and current is not None:
            current.out_of_time = True
            raise wasmtime.WasmtimeError("wws: interrupted while the guest was waiting (its run was cancelled)")


class ComponentGuest:
    """One Store and one instance of a component, with its WASI context (declared env, mounts) and limits."""

    def __init__(self, linker: ComponentLinker, component: wasmtime.component.Component, spec: SandboxSpec):
        self.spec = spec
        self._linker = linker
        self.store = wasmtime.Store(linker.sandbox.engine)
        confine(self.store, spec)
        _ffi.set_epoch_deadline(self.store, linker.sandbox.deadline_ticks(spec.limits.timeout_ms))
        try:
            self.instance = linker.linker.instantiate(self.store, component)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
            self.store.close()
            raise self._failure(exc) from exc
        self._funcs: dict[str, wasmtime.component.Func] = {}
        self._epoch_watch: Any = None

    def call(
        self,
        export: str,
        *args: str,
        request_id: str = "",
        host_allowed: bool = True,
        deadline: float = 0.0,
        interrupt: threading.Event | None = None,
    ) -> str:
        """Call a `(string…) -> string` export under the request's deadline (`time.monotonic()`; 0: `timeout_ms`
        from now); failures raise a `WorkerError`. With `host_allowed` False, the guest's host calls are refused
        (code that runs before any request)."""
        func = self._funcs.get(export)
        if func is None:
            func = self.instance.get_func(self.store, export)
            if func is None:
                raise GuestTrap(self.spec.worker, f"the engine exports no '{export}'")
            self._funcs[export] = func
        deadline, ticks = self._linker.sandbox.call_deadline(self.spec.limits.timeout_ms, deadline)
        if interrupt is not None:  # a guest that computes is checked every few ticks, not only at its deadline
            if self._epoch_watch is None:
                self._epoch_watch = _ffi.on_epoch_deadline(self.store, self._ticks_left)
            ticks = min(ticks, INTERRUPT_CHECK_TICKS)
        _ffi.set_epoch_deadline(self.store, ticks)
        local = self._linker._local
        budget = LogBudget(self.spec.limits.max_log_bytes)
        local.call = current = _Call(self.spec, request_id, deadline, host_allowed, budget, interrupt)
        try:
            result = func(self.store, *args)
            func.post_return(self.store)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
            raise self._failure(exc, current.out_of_time) from exc
        finally:
            local.call = None
        if not isinstance(result, str):
            raise GuestTrap(self.spec.worker, f"'{export}' answered {type(result).__name__}, not a string")
        return result

    def _ticks_left(self) -> int:
        """At an epoch deadline of a call that may be interrupted: the ticks it may go on for, or 0 to stop it."""
        current: _Call | None = getattr(self._linker._local, "call", None)
        if current is None:
            return 0
        left = ticks_left(current.deadline, current.interrupt, None)
        current.out_of_time = left == 0
        return left

    def close(self) -> None:
        self._funcs.clear()
        self.store.close()

    def _failure(self, exc: Exception, out_of_time: bool = False) -> WorkerError:
        return translate_component(
            exc, worker=self.spec.worker, timeout_ms=self.spec.limits.timeout_ms, out_of_time=out_of_time
        )
