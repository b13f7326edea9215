"""What one guest call runs under: its request, deadline, log budget and host API (`GuestContext`), and how host
functions find it from the store that called them (`StoreRegistry`).

Both kinds of guest (core modules in `store.py`, components in `components.py`) start each call with a new context;
every host function (stdio, waits, host calls, the epoch check) reads the calling store's context, so deadlines,
budgets and interruption work the same way whatever the guest is.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import wasmtime

from wws.errors import OutOfTime, SpeculationAborted
from wws.sandbox import _ffi

TICK_SECONDS = 0.010
"""Epoch granularity: deadlines are checked every 10 ms (a 1.2x slowdown measured, against 1.3x for fuel)."""

INTERRUPT_CHECK_TICKS = 10
"""How often (in epoch ticks: 100 ms) a call that may be interrupted looks whether it was."""

SPECULATION_TICKS = 2
"""The time a speculative call may run, in epoch ticks: 10 to 20 ms."""


@dataclass(slots=True)
class LogBudget:
    """What one request may still log, all ways together (stderr, `console.*`, `print`, the `log` host call), in
    bytes. Past it the rest is dropped and counted; the first cut is noted once, by whichever way hit it."""

    remaining: int
    dropped: int = 0
    noted: bool = False

    def keep(self, size: int) -> int:
        """Charge a stream write of `size` bytes; returns how many of them are kept (the rest is dropped)."""
        kept = min(size, max(0, self.remaining))
        self.remaining -= kept
        self.dropped += size - kept
        return kept

    def fits(self, size: int) -> bool:
        """Charge a whole line of `size` bytes, kept only if it fits; after a line is dropped, every later one is."""
        if size <= self.remaining:
            self.remaining -= size
            return True
        self.remaining = 0
        self.dropped += size
        return False

    def first_cut(self) -> bool:
        """True the first time it is asked after something was dropped: then the cut is to be noted."""
        if self.dropped and not self.noted:
            self.noted = True
            return True
        return False

    def note(self, cap: int) -> str:
        return f"[wws: log output over max_log_bytes ({cap} bytes); the rest of this request's log is dropped]"


class HostCalls(Protocol):
    """What answers a guest's host calls: the worker's host API (see `wws.worker.host.HostAPI`)."""

    def call(self, message: bytes, context: GuestContext) -> bytes:
        """Run one JSON host call for the guest call `context` and return its JSON answer; never raises (failures
        are answers). `log` calls are charged to the context's log budget."""
        ...


@dataclass(slots=True)
class GuestContext:
    """One call into a guest: whose request it is, until when it may run, what may stop it early, what it may still
    log, and who answers its host calls (None: they are refused)."""

    log_budget: LogBudget
    request_id: str = ""
    deadline: float = 0.0
    """`time.monotonic()` past which the call is out of time."""
    interrupt: threading.Event | None = None
    """Set when the call must stop before its deadline (its pipeline run was cancelled)."""
    host: HostCalls | None = None
    failure: Exception | None = field(default=None)
    """Why the host stopped the guest (out of time, too much output), for the translation of its trap."""
    speculative: bool = False
    """Runs on the event loop: the first host call or wait aborts it (`abort_speculation`), to run again on a thread."""

    def abort_speculation(self, reason: str) -> SpeculationAborted:
        """Note that this speculative call must stop now, before `reason` happens; returns the exception to raise."""
        aborted = SpeculationAborted(reason)
        self.failure = aborted
        return aborted

    def out_of_time(self, reason: str) -> None:
        """Note that the host stops the guest now: its deadline came, or its run was cancelled (then `reason` is
        replaced by that)."""
        if self.interrupted():
            reason = "interrupted: its run was cancelled"
        self.failure = OutOfTime(reason)

    def interrupted(self) -> bool:
        return self.interrupt is not None and self.interrupt.is_set()

    def ticks_left(self) -> int:
        """The epoch ticks the call may go on for, at most `INTERRUPT_CHECK_TICKS`; 0 when it must stop now
        (interrupted, or at its deadline), after noting why."""
        remaining = self.deadline - time.monotonic()
        if self.interrupted() or remaining <= 0:
            self.out_of_time("ran past its deadline")
            return 0
        return min(INTERRUPT_CHECK_TICKS, deadline_ticks(int(remaining * 1000)))  # never 0 with time left


def deadline_ticks(timeout_ms: int) -> int:
    """Epoch ticks for a timeout, rounded up, plus one since the current tick is already under way."""
    return -(-timeout_ms // int(TICK_SECONDS * 1000)) + 1


T = TypeVar("T")


class StoreRegistry(Generic[T]):
    """Per-store values (a guest's stdio, its current context) that host functions look up from their caller.

    Thread-safe: each store is tagged with an integer key; the lock is taken only to add or remove one.
    """

    def __init__(self) -> None:
        self.values: dict[int, T] = {}
        """Key → value; host functions on the hot path read it directly (`values[_ffi.caller_store_key(caller)]`)."""
        self._keys = itertools.count(1)
        self._lock = threading.Lock()

    def attach(self, store: wasmtime.Store, value: T) -> int:
        """Route the host calls of `store` to `value`; returns the key to `detach` with."""
        with self._lock:
            key = next(self._keys)
            self.values[key] = value
        _ffi.set_store_key(store, key)
        return key

    def of(self, caller: Any) -> T:
        """The value of the store a core host function was called from (its raw `caller`)."""
        return self.values[_ffi.caller_store_key(caller)]

    def of_context(self, context: Any) -> T:
        """The value of the store a component host function was called with (its `StoreContext`)."""
        return self.values[_ffi.context_store_key(context)]

    def detach(self, key: int) -> None:
        with self._lock:
            self.values.pop(key, None)


_thread = threading.local()


class speculating:
    """Within it, the guest calls this thread begins are speculative (`GuestContext.speculative`): they run at most
    `SPECULATION_TICKS`, and stop at their first host call or wait, raising `SpeculationAborted` before anything
    observable happened. The server runs short calls this way on its event loop, without a thread hand-off."""

    def __enter__(self) -> None:
        _thread.speculating = True

    def __exit__(self, *_exc: object) -> None:
        _thread.speculating = False


def is_speculating() -> bool:
    """Whether guest calls begun on this thread now are speculative."""
    return getattr(_thread, "speculating", False)
