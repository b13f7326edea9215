"""WASI's `poll_oneoff` and `clock_time_get` served by the host, so that a guest's every wait ends by its deadline.

The epoch deadline only fires while wasm code runs: a guest sleeping in wasmtime's own `poll_oneoff` (C `sleep`,
`nanosleep`, QuickJS timers) blocks its thread inside the host for as long as it asked. Here a wait sleeps at most
until the request's deadline; reaching it stops the guest with a timeout (noted in its `GuestContext`).

The guest's clocks come from the host too, so that an absolute wait ("until monotonic time T") is measured on the
same clock the guest read T from: realtime is the host's wall clock, monotonic counts from the sandbox's creation.
Guests get no file or socket that can block (stdin is the request, files are always ready), so an fd subscription
is ready at once, as wasmtime reports it.
"""

from __future__ import annotations

import ctypes
import struct
import threading
import time
from typing import Any

import wasmtime

from wws.sandbox import _ffi
from wws.sandbox.stdio import HostStdio

_WASI = "wasi_snapshot_preview1"
_SUBSCRIPTION = struct.Struct("<QB7xI4xQQH6x")
"""userdata, tag, then the clock (id, timeout, precision, flags) or the fd (read as the clock's id)."""
_EVENT = struct.Struct("<QHB5xQH6x")
"""userdata, error, type, then nbytes and flags for fd events."""
_CLOCK, _FD_READ, _FD_WRITE = 0, 1, 2
_REALTIME, MONOTONIC = 0, 1
_ABSTIME = 1
_ERRNO_SUCCESS, _ERRNO_FAULT, _ERRNO_INVAL, _ERRNO_NOTSUP = 0, 21, 28, 58
_NS = 1_000_000_000
WOULD_SLEEP: list[tuple[int, int, int, int, int]] = []
"""What `_wait` answers (this very list) when a speculative call would have to sleep."""


class HostWaits:
    """Defines `poll_oneoff` and `clock_time_get` in a linker, bounded by the calling store's deadline."""

    def __init__(self, stdio: HostStdio):
        self._stdio = stdio
        self._origin_ns = time.monotonic_ns()
        self._callbacks = [_ffi.make_callback(self._poll_oneoff), _ffi.make_callback(self._clock_time_get)]

    def define(self, linker: wasmtime.Linker) -> None:
        """Shadow WASI's functions in `linker` (which must already define WASI and allow shadowing)."""
        i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
        poll = wasmtime.FuncType([i32, i32, i32, i32], [i32])
        clock = wasmtime.FuncType([i32, i64, i32], [i32])
        _ffi.define_raw_func(linker, _WASI, "poll_oneoff", poll, self._callbacks[0])
        _ffi.define_raw_func(linker, _WASI, "clock_time_get", clock, self._callbacks[1])

    def now_ns(self, clock: int) -> int | None:
        """The guest's view of `clock`, or None for a clock it does not have (CPU-time clocks)."""
        if clock == _REALTIME:
            return time.time_ns()
        if clock == MONOTONIC:
            return time.monotonic_ns() - self._origin_ns
        return None

    def _clock_time_get(self, env: Any, caller: Any, args: Any, count: int) -> int:
        try:
            now = self.now_ns(args[0].i32)
            if now is None:
                args[0].i32 = _ERRNO_NOTSUP
                return 0
            base, size = _ffi.caller_memory(caller)
            pointer = args[2].i32 & 0xFFFFFFFF
            if pointer + 8 > size:
                args[0].i32 = _ERRNO_FAULT
                return 0
            ctypes.c_uint64.from_address(base + pointer).value = now
            args[0].i32 = _ERRNO_SUCCESS
            return 0
        except BaseException as exc:  # an exception must never cross the C boundary
            return _ffi.new_trap(f"wws: host clock_time_get failed: {exc!r}")

    def _poll_oneoff(self, env: Any, caller: Any, args: Any, count: int) -> int:
        try:
            streams = self._stdio.streams.of(caller)
            context = streams.context
            base, size = _ffi.caller_memory(caller)
            subscriptions, events = args[0].i32 & 0xFFFFFFFF, args[1].i32 & 0xFFFFFFFF
            total, written = args[2].i32 & 0xFFFFFFFF, args[3].i32 & 0xFFFFFFFF
            if total == 0:
                args[0].i32 = _ERRNO_INVAL
                return 0
            if (
                subscriptions + total * _SUBSCRIPTION.size > size
                or events + total * _EVENT.size > size
                or written + 4 > size
            ):
                args[0].i32 = _ERRNO_FAULT
                return 0
            raw = _ffi.copy_out(base + subscriptions, total * _SUBSCRIPTION.size)
            ready = self._wait(
                streams.stdin_remaining(), raw, total, context.deadline, context.interrupt, context.speculative
            )
            if ready is WOULD_SLEEP:  # a speculative call never sleeps on the event loop: it runs again on a thread
                context.abort_speculation("a wait")
                return _ffi.new_trap("wws: a wait stops a speculative call")
            if ready is None:
                context.out_of_time("reached its deadline while waiting (poll_oneoff: sleep or timer)")
                return _ffi.new_trap("wws: the guest's wait was cut short")
            out = bytearray()
            for event in ready:
                out += _EVENT.pack(*event)
            _ffi.copy_in(base + events, bytes(out))
            _ffi.write_u32(base, size, written, len(ready))
            args[0].i32 = _ERRNO_SUCCESS
            return 0
        except BaseException as exc:  # an exception must never cross the C boundary
            return _ffi.new_trap(f"wws: host poll_oneoff failed: {exc!r}")

    def _wait(  # noqa: PLR0917 - a poll's inputs and its call's bounds
        self,
        stdin_left: int,
        raw: bytes,
        total: int,
        deadline: float,
        interrupt: threading.Event | None = None,
        speculative: bool = False,
    ) -> list[tuple[int, int, int, int, int]] | None:
        """The events (userdata, errno, type, nbytes, flags) of a poll, after waiting for the first clock if no fd
        is ready; None when the request's deadline (`time.monotonic()`) comes first, or `interrupt` is set;
        `WOULD_SLEEP` instead of sleeping in a `speculative` call."""
        events: list[tuple[int, int, int, int, int]] = []
        clocks: list[tuple[int, int]] = []  # (userdata, due as time.monotonic_ns())
        for index in range(total):
            userdata, tag, ident, timeout, _precision, flags = _SUBSCRIPTION.unpack_from(
                raw, index * _SUBSCRIPTION.size
            )
            if tag in (_FD_READ, _FD_WRITE):
                nbytes = stdin_left if tag == _FD_READ and ident == 0 else 0
                events.append((userdata, _ERRNO_SUCCESS, tag, nbytes, 0))
            elif tag != _CLOCK:
                events.append((userdata, _ERRNO_INVAL, tag, 0, 0))
            else:
                now = self.now_ns(ident)
                if now is None:
                    events.append((userdata, _ERRNO_NOTSUP, _CLOCK, 0, 0))
                    continue
                wait_ns = max(0, timeout - now) if flags & _ABSTIME else timeout
                clocks.append((userdata, time.monotonic_ns() + min(wait_ns, 10**6 * _NS)))
        if events or not clocks:
            return events
        due = min(when for _, when in clocks)
        if speculative and due > time.monotonic_ns():
            return WOULD_SLEEP
        limit = int(deadline * _NS) if deadline else due
        if due > limit:
            sleep_unless(max(0, limit - time.monotonic_ns()) / _NS, interrupt)
            return None
        pause = due - time.monotonic_ns()
        if pause > 0 and sleep_unless(pause / _NS, interrupt):
            return None
        now = time.monotonic_ns()
        return [(userdata, _ERRNO_SUCCESS, _CLOCK, 0, 0) for userdata, when in clocks if when <= now]


def sleep_unless(seconds: float, interrupt: threading.Event | None) -> bool:
    """Sleep for `seconds`, or until `interrupt` is set: whether it was."""
    if interrupt is None:
        time.sleep(seconds)
        return False
    return interrupt.wait(seconds)
