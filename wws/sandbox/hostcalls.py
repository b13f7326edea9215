"""The `wws` wasm imports through which native modules reach the host API (KV, outbound HTTP, logs, config).

Two functions, one message format, so that any language that can write JSON can use every host call:

    (import "wws" "host_call" (func (param $ptr i32) (param $len i32) (result i32)))
    (import "wws" "host_result" (func (param $ptr i32) (param $len i32) (result i32)))

`host_call` reads a JSON request from guest memory (`{"op": "kv.get", "key": "a"}`), runs it, keeps the JSON answer
(`{"ok": true, "value": …}` or `{"ok": false, "error": "…"}`) and returns its length; the guest then allocates that
many bytes and calls `host_result` to copy it in (it returns the number of bytes copied). Both return -1 when a
pointer does not lie inside guest memory. The operations themselves are implemented once, in `wws.worker.host`.
"""

from __future__ import annotations

from typing import Any

import wasmtime

from wws.sandbox import _ffi
from wws.sandbox.stdio import HostStdio

MODULE = "wws"
_FAULT = -1
_NO_HOST = b'{"ok":false,"error":"host calls are not available to this worker"}'


class HostImports:
    """Defines `wws.host_call` and `wws.host_result` in a linker, answered by the host API of the calling store's
    current call (its `GuestContext.host`)."""

    def __init__(self, stdio: HostStdio):
        self._stdio = stdio
        self._callbacks = [_ffi.make_callback(self._host_call), _ffi.make_callback(self._host_result)]

    def define(self, linker: wasmtime.Linker) -> None:
        i32 = wasmtime.ValType.i32()
        ty = wasmtime.FuncType([i32, i32], [i32])
        _ffi.define_raw_func(linker, MODULE, "host_call", ty, self._callbacks[0])
        _ffi.define_raw_func(linker, MODULE, "host_result", ty, self._callbacks[1])

    def _host_call(self, env: Any, caller: Any, args: Any, count: int) -> int:
        try:
            streams = self._stdio.streams.of(caller)
            base, size = _ffi.caller_memory(caller)
            pointer, length = args[0].i32 & 0xFFFFFFFF, args[1].i32 & 0xFFFFFFFF
            if not size or pointer + length > size:
                args[0].i32 = _FAULT
                return 0
            message = _ffi.copy_out(base + pointer, length)
            context = streams.context
            if context.speculative:
                context.abort_speculation("a host call")
                return _ffi.new_trap("wws: a host call stops a speculative call")
            streams.host_result = _NO_HOST if context.host is None else context.host.call(message, context)
            args[0].i32 = len(streams.host_result)
            return 0
        except BaseException as exc:  # an exception must never cross the C boundary
            return _ffi.new_trap(f"wws: host_call failed: {exc!r}")

    def _host_result(self, env: Any, caller: Any, args: Any, count: int) -> int:
        try:
            streams = self._stdio.streams.of(caller)
            base, size = _ffi.caller_memory(caller)
            pointer, length = args[0].i32 & 0xFFFFFFFF, args[1].i32 & 0xFFFFFFFF
            result = streams.host_result[:length]
            if not size or pointer + len(result) > size:
                args[0].i32 = _FAULT
                return 0
            _ffi.copy_in(base + pointer, result)
            args[0].i32 = len(result)
            return 0
        except BaseException as exc:  # an exception must never cross the C boundary
            return _ffi.new_trap(f"wws: host_result failed: {exc!r}")
