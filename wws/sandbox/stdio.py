"""Guest stdin, stdout and stderr served by the host.

WASI's `fd_read` and `fd_write` are shadowed for fds 0-2: stdin is the current request's bytes, stdout and stderr
are captured into per-store buffers with caps. Every other fd goes to wasmtime's own WASI, through the small
`file_io.wat` module (see there why). Because the streams are
ours (not fixed in the store's WASI context), a warm instance gets a new request without rebuilding its WASI
context, and an over-long stdout stops the guest at once instead of filling host memory.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import wasmtime

from wws.errors import OutputLimitExceeded
from wws.sandbox import _ffi
from wws.sandbox.context import GuestContext, LogBudget, StoreRegistry

_ERRNO_SUCCESS = 0
_ERRNO_FAULT = 21
_STDIN, _STDOUT, _STDERR = 0, 1, 2
_LATE_STDERR_BYTES = 4096


class Streams:
    """One store's stdio: the current call's stdin and captured output, and the call's context."""

    __slots__ = (
        "context",
        "file_io",
        "host_result",
        "late_stderr",
        "log_cap",
        "out_cap",
        "stderr",
        "stderr_cut",
        "stdin",
        "stdin_pos",
        "stdout",
    )

    def __init__(self, out_cap: int, log_cap: int):
        self.out_cap = out_cap
        self.log_cap = log_cap
        self.file_io: tuple[wasmtime.Func, wasmtime.Func] | None = None
        """fd_read/fd_write of wasmtime's WASI, bound to this store's guest memory on first use."""
        self.reset(b"", GuestContext(LogBudget(log_cap)))

    def reset(self, stdin: bytes, context: GuestContext) -> None:
        """Start a call: new stdin, empty outputs, and its context (request, deadline, budget, host API)."""
        self.context = context
        self.stdin = stdin
        self.stdin_pos = 0
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.stderr_cut = False
        """stderr was the way that went past the log budget first: `log_bytes` notes the cut."""
        self.late_stderr = bytearray()
        """The last bytes of stderr dropped past the budget: an error's stack is written last, and must be shown."""
        self.host_result = b""
        """The answer of the last host call, until the guest copies it out with `wws.host_result`."""

    def stdin_remaining(self) -> int:
        return len(self.stdin) - self.stdin_pos

    def log_bytes(self) -> bytes:
        """The captured stderr, with a note when it is where the log was cut."""
        if not self.stderr_cut:
            return bytes(self.stderr)
        return bytes(self.stderr) + f"\n{self.context.log_budget.note(self.log_cap)}\n".encode()

    def stderr_tail(self, size: int) -> bytes:
        """The last `size` bytes the guest wrote to stderr, kept or dropped."""
        return bytes((self.stderr + self.late_stderr)[-size:])


class HostStdio:
    """Registers `fd_read`/`fd_write` in a linker and routes each call to the calling store's `Streams` (attached
    to the store in `streams`)."""

    def __init__(self, engine: wasmtime.Engine):
        self._engine = engine
        self.streams: StoreRegistry[Streams] = StoreRegistry()
        self._by_key = self.streams.values
        self._file_io = wasmtime.Module(engine, (resources.files("wws.sandbox") / "file_io.wat").read_text())
        self._callbacks = [_ffi.make_callback(self._fd_read), _ffi.make_callback(self._fd_write)]

    def define(self, linker: wasmtime.Linker) -> None:
        """Shadow WASI's fd_read/fd_write in `linker` (which must already define WASI and allow shadowing)."""
        i32 = wasmtime.ValType.i32()
        ty = wasmtime.FuncType([i32, i32, i32, i32], [i32])
        _ffi.define_raw_func(linker, "wasi_snapshot_preview1", "fd_read", ty, self._callbacks[0])
        _ffi.define_raw_func(linker, "wasi_snapshot_preview1", "fd_write", ty, self._callbacks[1])

    def _fd_read(self, env: Any, caller: Any, args: Any, count: int) -> int:
        try:
            streams = self._by_key[_ffi.caller_store_key(caller)]
            if args[0].i32 != _STDIN:
                return _ffi.call_func(caller, self._files(caller, streams)[0], args, count)
            base, size = _ffi.caller_memory(caller)
            vectors = _ffi.read_iovecs(base, size, args[1].i32 & 0xFFFFFFFF, args[2].i32)
            if vectors is None:
                args[0].i32 = _ERRNO_FAULT
                return 0
            total = 0
            for address, length in vectors:
                chunk = streams.stdin[streams.stdin_pos : streams.stdin_pos + length]
                _ffi.copy_in(address, chunk)
                streams.stdin_pos += len(chunk)
                total += len(chunk)
                if len(chunk) < length:
                    break
            args[0].i32 = (
                _ERRNO_SUCCESS if _ffi.write_u32(base, size, args[3].i32 & 0xFFFFFFFF, total) else _ERRNO_FAULT
            )
            return 0
        except BaseException as exc:  # an exception must never cross the C boundary
            return _ffi.new_trap(f"wws: host fd_read failed: {exc!r}")

    def _fd_write(self, env: Any, caller: Any, args: Any, count: int) -> int:
        try:
            fd = args[0].i32
            streams = self._by_key[_ffi.caller_store_key(caller)]
            if fd not in (_STDOUT, _STDERR):
                return _ffi.call_func(caller, self._files(caller, streams)[1], args, count)
            base, size = _ffi.caller_memory(caller)
            vectors = _ffi.read_iovecs(base, size, args[1].i32 & 0xFFFFFFFF, args[2].i32)
            if vectors is None:
                args[0].i32 = _ERRNO_FAULT
                return 0
            total = sum(length for _, length in vectors)
            if fd == _STDOUT:
                if len(streams.stdout) + total > streams.out_cap:
                    streams.context.failure = OutputLimitExceeded(f"response (stdout) exceeded {streams.out_cap} bytes")
                    return _ffi.new_trap("wws: stdout limit exceeded")
                for address, length in vectors:
                    streams.stdout += _ffi.copy_out(address, length)
            else:
                budget = streams.context.log_budget
                for address, length in vectors:
                    kept = budget.keep(length)
                    streams.stderr += _ffi.copy_out(address, kept)
                    if kept < length:
                        tail = min(length - kept, _LATE_STDERR_BYTES)
                        streams.late_stderr += _ffi.copy_out(address + length - tail, tail)
                        del streams.late_stderr[:-_LATE_STDERR_BYTES]
                if budget.first_cut():
                    streams.stderr_cut = True
            args[0].i32 = (
                _ERRNO_SUCCESS if _ffi.write_u32(base, size, args[3].i32 & 0xFFFFFFFF, total) else _ERRNO_FAULT
            )
            return 0
        except BaseException as exc:  # an exception must never cross the C boundary
            return _ffi.new_trap(f"wws: host fd_write failed: {exc!r}")

    def _files(self, caller: Any, streams: Streams) -> tuple[wasmtime.Func, wasmtime.Func]:
        """WASI's own fd_read/fd_write for this store, through `file_io.wat` bound to the guest's memory."""
        if streams.file_io is None:
            with _ffi.caller_store(caller) as store:
                memory = store.get("memory")
                if not isinstance(memory, wasmtime.Memory):
                    raise RuntimeError("the guest exports no memory")
                linker = wasmtime.Linker(self._engine)
                linker.define_wasi()
                linker.define(store, "wws", "memory", memory)
                exports = linker.instantiate(store, self._file_io).exports(store)
                read, write = exports["fd_read"], exports["fd_write"]
                assert isinstance(read, wasmtime.Func)
                assert isinstance(write, wasmtime.Func)
                streams.file_io = (read, write)
        return streams.file_io
