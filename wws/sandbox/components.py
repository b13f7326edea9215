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
from typing import Any

import wasmtime
import wasmtime.component

from wws.errors import GuestTrap
from wws.sandbox import _ffi
from wws.sandbox.context import GuestContext, StoreRegistry
from wws.sandbox.engine import Sandbox
from wws.sandbox.guest import Calls, SandboxSpec
from wws.sandbox.store import confine
from wws.sandbox.traps import GuestCall
from wws.sandbox.waits import sleep_unless

_NO_HOST = '{"ok":false,"error":"host calls are not available here (top-level code runs before any request)"}'


class ComponentLinker:
    """A component linker with WASI preview 2 and the host-call import `interface` (e.g. `wws:python/host`)."""

    def __init__(self, sandbox: Sandbox, interface: str):
        self.sandbox = sandbox
        self.linker = wasmtime.component.Linker(sandbox.engine)
        self.linker.add_wasip2()
        with self.linker.root() as root, root.add_instance(interface) as host:
            host.add_func("call", self._host_call)
            host.add_func("sleep", self._sleep)
        self.guests: StoreRegistry[ComponentGuest] = StoreRegistry()

    def _host_call(self, store: Any, message: str) -> str:
        """Answer one host call of the guest whose store is calling, with its current call's host API."""
        context = self.guests.of_context(store).context
        if context.speculative:
            context.abort_speculation("a host call")
            raise wasmtime.WasmtimeError("wws: a host call stops a speculative call")
        if context.host is None:
            return _NO_HOST
        return context.host.call(message.encode(), context).decode()

    def _sleep(self, store: Any, nanoseconds: int) -> None:
        """Wait on the host for the calling guest, at most until its call's deadline, which stops it."""
        context = self.guests.of_context(store).context
        if context.speculative:
            context.abort_speculation("a wait")
            raise wasmtime.WasmtimeError("wws: a wait stops a speculative call")
        wanted = nanoseconds / 1e9
        left = context.deadline - time.monotonic()
        if wanted > left:
            sleep_unless(max(0.0, left), context.interrupt)
        elif not sleep_unless(wanted, context.interrupt):
            return
        context.out_of_time("reached its deadline while waiting (sleep)")
        raise wasmtime.WasmtimeError("wws: the guest's wait was cut short")


class ComponentGuest:
    """One Store and one instance of a component, with its WASI context (declared env, mounts) and limits."""

    def __init__(self, linker: ComponentLinker, component: wasmtime.component.Component, spec: SandboxSpec):
        self.spec = spec
        self._linker = linker
        self.store = wasmtime.Store(linker.sandbox.engine)
        self._calls = Calls(linker.sandbox, self.store)
        self._call = GuestCall(self)
        self._funcs: dict[str, wasmtime.component.Func] = {}
        confine(self.store, spec)
        self._key = linker.guests.attach(self.store, self)
        self.begin(host=False)
        instance: wasmtime.component.Instance | None = None
        try:
            with self._call:
                instance = linker.linker.instantiate(self.store, component)
            if instance is None:
                raise GuestTrap(spec.worker, "exited while being instantiated")
        except BaseException:
            self.close()
            raise
        self.instance = instance

    def begin(
        self,
        request_id: str = "",
        deadline: float = 0.0,
        interrupt: threading.Event | None = None,
        *,
        host: bool = True,
    ) -> None:
        """Start a call (see `Guest.begin`)."""
        self._calls.start(self.spec, request_id, deadline, interrupt, host)

    @property
    def context(self) -> GuestContext:
        return self._calls.current

    def call(self, export: str, *args: str) -> str:
        """Call a `(string…) -> string` export in the call begun last; failures raise a `WorkerError`."""
        func = self._funcs.get(export)
        if func is None:
            func = self.instance.get_func(self.store, export)
            if func is None:
                raise GuestTrap(self.spec.worker, f"the engine exports no '{export}'")
            self._funcs[export] = func
        result: str | None = None
        with self._call:
            result = _ffi.call_component_strings(self.store, func, args)
        if result is None:
            raise GuestTrap(self.spec.worker, f"'{export}' answered something else than a string")
        return result

    def stderr_tail(self) -> str:
        """Nothing: a component logs through the `log` host call, not a stderr the host keeps."""
        return ""

    def memory_bytes(self) -> int:
        """Unknown: a component's memory is not visible to the host (the store's limit still applies)."""
        return 0

    def close(self) -> None:
        self._funcs.clear()
        self._linker.guests.detach(self._key)
        self.store.close()
