"""The one place where wasmtime's failures become wws errors.

A guest can fail by trapping, by being stopped at its deadline (or its run's cancellation), by running out of memory
under its cap, by writing too much, or by exiting with a non-zero code. Exit code 0 is a normal end (interpreters
call `proc_exit`). Every call into a guest, instantiation included, is made inside a `GuestCall`; nothing else
reads wasmtime's messages.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import TracebackType

import wasmtime

from wws.config.model import MIB
from wws.errors import (
    BadGuestOutput,
    GuestException,
    GuestTimeout,
    GuestTrap,
    LoadError,
    MemoryLimitExceeded,
    OutOfTime,
    OutputLimitExceeded,
    SpeculationAborted,
    WorkerError,
)
from wws.sandbox.context import GuestContext
from wws.sandbox.guest import Guest

_INTERRUPT = "wasm trap: interrupt"
"""How a component call reports the epoch interrupt: as an error message, not a `Trap` with its code."""


class GuestCall:
    """Wraps every call into a guest, in the manner of wasmtime-py's `enter_wasm`: what wasmtime raises becomes the
    `WorkerError` it means, and a clean WASI exit ends the call normally. One per guest, reused (no allocation)."""

    __slots__ = ("_guest",)

    def __init__(self, guest: Guest):
        self._guest = guest

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> bool:
        if not isinstance(exc, wasmtime.WasmtimeError | wasmtime.Trap):
            return False
        context = self._guest.context
        if context.speculative:
            aborted = speculation_aborted(exc, context)
            if aborted is not None:
                raise aborted from exc
        error = translate(exc, self._guest)
        if error is None:
            return True
        raise error from exc


def speculation_aborted(
    exc: wasmtime.WasmtimeError | wasmtime.Trap, context: GuestContext
) -> SpeculationAborted | None:
    """Whether a speculative call stopped to run again on a thread: the host aborted it, or its time on the event
    loop ran out (an interrupt before the request's deadline)."""
    if isinstance(context.failure, SpeculationAborted):
        return context.failure
    if _interrupted(exc) and time.monotonic() < context.deadline:
        return context.abort_speculation("over its time on the event loop")
    return None


def _interrupted(exc: wasmtime.WasmtimeError | wasmtime.Trap) -> bool:
    """The epoch deadline stopped the call (a `Trap` with its code, or a component's error message)."""
    if isinstance(exc, wasmtime.Trap) and exc.trap_code == wasmtime.TrapCode.INTERRUPT:
        return True
    return wasmtime_cause(exc) == _INTERRUPT


def translate(exc: wasmtime.WasmtimeError | wasmtime.Trap, guest: Guest) -> WorkerError | None:
    """The WorkerError that `exc` (raised by a call into `guest`) means, or None for a clean exit."""
    worker, limits = guest.spec.worker, guest.spec.limits
    failure = guest.context.failure
    tail = guest.stderr_tail()
    if isinstance(exc, wasmtime.ExitTrap):
        if exc.code == 0:
            return None
        return GuestTrap(worker, f"exited with code {exc.code}", stderr_tail=tail)
    if isinstance(failure, OutputLimitExceeded):
        return BadGuestOutput(worker, str(failure), stderr_tail=tail)
    cause = wasmtime_cause(exc)
    if isinstance(failure, OutOfTime) or _interrupted(exc):
        return GuestTimeout(worker, f"ran past its deadline of {limits.timeout_ms} ms", stderr_tail=tail)
    memory_bytes = guest.memory_bytes()
    if "exceeds memory limits" in cause or near_memory_cap(memory_bytes, limits.memory_bytes):
        used = f"{memory_bytes // MIB} MiB in use" if memory_bytes else "at start"
        return MemoryLimitExceeded(
            worker, f"hit its memory limit of {limits.memory_mb} MiB ({used}): {cause}", stderr_tail=tail
        )
    return GuestTrap(worker, f"trapped: {cause}", stderr_tail=tail)


def uncaught(worker: Path, summary: str, trace: str, *, out_of_memory_mb: int = 0) -> WorkerError:
    """What the guest's own uncaught exception means, as its glue reported it (the guest did not trap): `summary`
    says what it threw, `trace` is its stack; `out_of_memory_mb`, the cap, when the exception was running out of
    memory under it."""
    if out_of_memory_mb:
        cause = f"hit its memory limit of {out_of_memory_mb} MiB ({summary})"
        return MemoryLimitExceeded(worker, cause, stderr_tail=trace)
    return GuestException(worker, summary, stderr_tail=trace)


def cannot_load(worker: Path, what: str, exc: wasmtime.WasmtimeError) -> LoadError:
    """The LoadError for a module or component wasmtime refuses (to compile, or to link): `what` went wrong."""
    return LoadError(worker, f"{what}: {wasmtime_cause(exc)}")


def near_memory_cap(memory_bytes: int, cap_bytes: int) -> bool:
    """True when the guest cannot grow much more: within 1 MiB of its cap."""
    return memory_bytes + MIB > cap_bytes


def wasmtime_cause(exc: wasmtime.WasmtimeError | wasmtime.Trap) -> str:
    """The cause in a wasmtime message: it comes after a backtrace and context lines, on the last line."""
    text = (exc.message if isinstance(exc, wasmtime.Trap) else str(exc)).strip()
    if not text:
        return "trap" if isinstance(exc, wasmtime.Trap) else type(exc).__name__
    return text.splitlines()[-1].strip()
