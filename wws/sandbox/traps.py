"""The one place where wasmtime's failures become wws errors.

A guest can fail by trapping, by being interrupted at its deadline, by running out of memory under its cap, by
writing too much, or by exiting with a non-zero code. Exit code 0 is a normal end (interpreters call `proc_exit`).
"""

from __future__ import annotations

from pathlib import Path

import wasmtime

from wws.config.model import MIB
from wws.errors import (
    BadGuestOutput,
    GuestTimeout,
    GuestTrap,
    MemoryLimitExceeded,
    OutOfTime,
    OutputLimitExceeded,
    WorkerError,
)
from wws.sandbox.stdio import Streams

STDERR_TAIL_BYTES = 2048


def near_memory_cap(memory_bytes: int, cap_bytes: int) -> bool:
    """True when the guest cannot grow much more: within 1 MiB of its cap."""
    return memory_bytes + MIB > cap_bytes


def stderr_tail(streams: Streams) -> str:
    """The end of what the guest wrote to stderr, for error messages."""
    return streams.stderr_tail(STDERR_TAIL_BYTES).decode("utf-8", "replace").strip()


def translate(  # noqa: PLR0911 - one return per kind of failure reads best
    exc: Exception, *, worker: Path, streams: Streams, memory_bytes: int, cap_bytes: int, timeout_ms: int
) -> WorkerError | None:
    """The WorkerError that `exc` (raised by a guest call or instantiation) means, or None for a clean exit."""
    tail = stderr_tail(streams)
    if isinstance(exc, wasmtime.ExitTrap):
        if exc.code == 0:
            return None
        return GuestTrap(worker, f"exited with code {exc.code}", stderr_tail=tail)
    if isinstance(streams.failure, OutputLimitExceeded):
        return BadGuestOutput(worker, str(streams.failure), stderr_tail=tail)
    if isinstance(streams.failure, OutOfTime) or (
        isinstance(exc, wasmtime.Trap) and exc.trap_code == wasmtime.TrapCode.INTERRUPT
    ):
        return GuestTimeout(worker, f"ran past its deadline of {timeout_ms} ms", stderr_tail=tail)
    message = wasmtime_cause(exc)
    if "exceeds memory limits" in message or near_memory_cap(memory_bytes, cap_bytes):
        used = f"{memory_bytes // MIB} MiB in use" if memory_bytes else "at start"
        return MemoryLimitExceeded(
            worker, f"hit its memory limit of {cap_bytes // MIB} MiB ({used}): {message}", stderr_tail=tail
        )
    if isinstance(exc, wasmtime.Trap | wasmtime.WasmtimeError):
        return GuestTrap(worker, f"trapped: {message}", stderr_tail=tail)
    return GuestTrap(worker, f"failed: {exc!r}", stderr_tail=tail)


_INTERRUPT = "wasm trap: interrupt"
"""How a component call reports the epoch interrupt: as an error message, not a `Trap` with its code."""


def translate_component(exc: Exception, *, worker: Path, timeout_ms: int, out_of_time: bool = False) -> WorkerError:
    """The WorkerError that `exc` (raised by a component call or instantiation) means; `out_of_time` when the host
    stopped the guest at its deadline (a wait, or an epoch check)."""
    cause = wasmtime_cause(exc)
    interrupted = isinstance(exc, wasmtime.Trap) and exc.trap_code == wasmtime.TrapCode.INTERRUPT
    if out_of_time or interrupted or cause == _INTERRUPT:
        return GuestTimeout(worker, f"ran past its deadline of {timeout_ms} ms")
    return GuestTrap(worker, f"trapped: {cause}")


def wasmtime_cause(exc: Exception) -> str:
    """The cause in a wasmtime message: it comes after a backtrace and context lines, on the last line."""
    text = (exc.message if isinstance(exc, wasmtime.Trap) else str(exc)).strip()
    if not text:
        return "trap" if isinstance(exc, wasmtime.Trap) else type(exc).__name__
    return text.splitlines()[-1].strip()
