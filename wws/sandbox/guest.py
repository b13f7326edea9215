"""What every guest is, whatever its kind: the `Guest` protocol, and the `SandboxSpec` it is confined by.

Two implementations: `store.GuestStore` (a core module, WASI preview 1, stdio served by the host) and
`components.ComponentGuest` (a component, WASI preview 2, strings in and out). Both begin each call with a new
`GuestContext` and make it inside `traps.GuestCall`, the one place where wasmtime's failures become wws errors.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import wasmtime

from wws.config.model import Limits, Mount
from wws.sandbox import _ffi
from wws.sandbox.context import (
    INTERRUPT_CHECK_TICKS,
    SPECULATION_TICKS,
    GuestContext,
    HostCalls,
    LogBudget,
    is_speculating,
)
from wws.sandbox.engine import Sandbox


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
    """Answers the guest's host calls; None refuses them."""


class Guest(Protocol):
    """One guest instance in its own Store, serving one call at a time."""

    spec: SandboxSpec

    @property
    def context(self) -> GuestContext:
        """The current (or last) call's context."""
        ...

    def begin(
        self,
        request_id: str = "",
        deadline: float = 0.0,
        interrupt: threading.Event | None = None,
        *,
        host: bool = True,
    ) -> None:
        """Start a call: a new context, its deadline (`time.monotonic()`; 0: `timeout_ms` from now), what interrupts
        it early, and whether its host calls are answered (False: code that runs before any request)."""
        ...

    def stderr_tail(self) -> str:
        """The end of what the guest wrote to stderr in this call, for error messages ("" when it has no stderr)."""
        ...

    def memory_bytes(self) -> int:
        """Current size of the guest's memory (0 when the host cannot see it)."""
        ...

    def close(self) -> None: ...


class Calls:
    """Starts the calls into one store, for either kind of guest: a new `GuestContext` each time, the store's epoch
    deadline, and (for a call that may be interrupted) the check on every few ticks."""

    def __init__(self, sandbox: Sandbox, store: wasmtime.Store):
        self.current = GuestContext(LogBudget(0))
        """The context of the current (or last) call; before the first, one that may do nothing."""
        self._sandbox = sandbox
        self._store = store
        self._epoch_watch: Any = None

    def start(
        self, spec: SandboxSpec, request_id: str, deadline: float, interrupt: threading.Event | None, host: bool
    ) -> GuestContext:
        """A new call (see `Guest.begin`) under `spec`'s limits and host API; returns its context."""
        limit, ticks = self._sandbox.call_deadline(spec.limits.timeout_ms, deadline)
        budget = LogBudget(spec.limits.max_log_bytes)
        self.current = GuestContext(budget, request_id, limit, interrupt, spec.host if host else None)
        if is_speculating():
            self.current.speculative = True
            ticks = min(ticks, SPECULATION_TICKS)
        elif interrupt is not None:  # a guest that computes is checked every few ticks, not only at its deadline
            if self._epoch_watch is None:
                self._epoch_watch = _ffi.on_epoch_deadline(self._store, self._ticks_left)
            ticks = min(ticks, INTERRUPT_CHECK_TICKS)
        _ffi.set_epoch_deadline(self._store, ticks)
        return self.current

    def _ticks_left(self) -> int:
        return self.current.ticks_left()
