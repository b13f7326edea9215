"""The few raw wasmtime C-API calls the hot path needs, wrapped once.

wasmtime-py's public host functions cost ~20 µs a call and its custom stdout hands bytes over on a background thread
with no cap; the raw "unchecked" host functions cost ~1 µs. Everything that touches
`wasmtime._ffi` lives here, so an upgrade of wasmtime-py has one file to check.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import wasmtime
from wasmtime import _bindings
from wasmtime import _ffi as ffi
from wasmtime._extern import wrap_extern
from wasmtime._func import Caller
from wasmtime.component import Func as ComponentFunc
from wasmtime.component._enter import maybe_raise_last_exn

RawCallback = Callable[[Any, Any, Any, int], int]
"""(env, caller, args_and_results, count) -> 0, or the address of a trap to raise in the guest."""

_MEMORY = b"memory"
_NO_FINALIZER = ctypes.cast(0, ctypes.CFUNCTYPE(None, ctypes.c_void_p))
_IOVEC = ctypes.c_uint32 * 2
_NO_VALUES = (ffi.wasmtime_val_raw_t * 1)()


def make_callback(function: RawCallback) -> Any:
    """A C function pointer for `function`; keep the result referenced for as long as the linker lives."""
    return ffi.wasmtime_func_unchecked_callback_t(function)


def define_raw_func(linker: wasmtime.Linker, module: str, name: str, ty: wasmtime.FuncType, callback: Any) -> None:
    """Define an unchecked host function in `linker` (shadowing any earlier definition)."""
    module_bytes, name_bytes = module.encode(), name.encode()
    error = ffi.wasmtime_linker_define_func_unchecked(
        linker.ptr(),
        module_bytes,
        len(module_bytes),
        name_bytes,
        len(name_bytes),
        ty.ptr(),
        callback,
        None,
        _NO_FINALIZER,
    )
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)


def set_store_key(store: wasmtime.Store, key: int) -> None:
    """Tag a store with an integer that host functions read back through `caller_store_key`."""
    ffi.wasmtime_context_set_data(store._context(), key)


_GIL_HOLDING = ctypes.PyDLL(ffi.dll._name)
"""The same library, through functions that keep the GIL. ctypes releases the GIL around every C call; for a call of a
few nanoseconds that only lets the busy event loop take it, and the guest's thread then waits to get it back, about 20
times per request. Keeping it for these calls took a native hello in instance isolation from 2.0k to 4.2k requests/s
at 16 connections (HTTP load benchmark)."""


def keeping_gil(name: str) -> Any:
    """wasmtime's C function `name`, typed as wasmtime-py types it, called without releasing the GIL: only for calls
    that return at once (never one that runs guest code, maps memory or blocks)."""
    typed = getattr(ffi.dll, name)
    function = getattr(_GIL_HOLDING, name)
    function.argtypes, function.restype = typed.argtypes, typed.restype
    return function


# The C functions themselves, without wasmtime-py's Python wrapper around each: host calls are the hot path.
_caller_context = keeping_gil("wasmtime_caller_context")
_context_get_data = keeping_gil("wasmtime_context_get_data")
_caller_export_get = keeping_gil("wasmtime_caller_export_get")
_memory_data = keeping_gil("wasmtime_memory_data")
_memory_data_size = keeping_gil("wasmtime_memory_data_size")
_set_epoch_deadline = keeping_gil("wasmtime_context_set_epoch_deadline")
_small_memmove = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)(
    ctypes._memmove_addr  # type: ignore[attr-defined]
)
"""memmove keeping the GIL, for copies short enough that releasing it costs more than the copy."""
SMALL_COPY = 64 * 1024
_EXTERN_MEMORY = ffi.WASMTIME_EXTERN_MEMORY.value
_byref = ctypes.byref
_addressof = ctypes.addressof


def caller_store_key(caller: Any) -> int:
    return int(_context_get_data(_caller_context(caller)) or 0)


def context_store_key(context: Any) -> int:
    """The key of the store behind a wasmtime-py `StoreContext` (what a component's host functions are given)."""
    return int(_context_get_data(context._context()) or 0)


def caller_memory(caller: Any) -> tuple[int, int]:
    """(address, size) of the calling instance's exported `memory`, or (0, 0) when it exports none."""
    item = ffi.wasmtime_extern_t()
    if not _caller_export_get(caller, _MEMORY, 6, _byref(item)) or cast(int, item.kind) != _EXTERN_MEMORY:
        return 0, 0
    return _region(_caller_context(caller), _byref(item.of.memory))


def _region(context: Any, memory: Any) -> tuple[int, int]:
    """(address, size) of a raw memory in a raw store context, or (0, 0) when it is empty."""
    size = int(_memory_data_size(context, memory))
    return (_addressof(_memory_data(context, memory).contents), size) if size else (0, 0)


def read_iovecs(base: int, size: int, iovs: int, count: int) -> list[tuple[int, int]] | None:
    """The (address, length) of each guest iovec, every one checked to lie inside guest memory; None if not."""
    if count < 0 or iovs < 0 or iovs + 8 * count > size:
        return None
    vectors = []
    for index in range(count):
        pointer, length = _IOVEC.from_address(base + iovs + 8 * index)
        if pointer + length > size:
            return None
        vectors.append((base + pointer, length))
    return vectors


def copy_in(address: int, data: bytes) -> None:
    """Copy host bytes into guest memory at an address `read_iovecs` has checked."""
    (_small_memmove if len(data) <= SMALL_COPY else ctypes.memmove)(address, data, len(data))


def set_epoch_deadline(store: wasmtime.Store, ticks: int) -> None:
    """`Store.set_epoch_deadline`, keeping the GIL."""
    _set_epoch_deadline(store._context(), ticks)


def copy_out(address: int, length: int) -> bytes:
    """Copy guest bytes out of memory at an address `read_iovecs` has checked."""
    return ctypes.string_at(address, length)


def write_u32(base: int, size: int, offset: int, value: int) -> bool:
    if offset < 0 or offset + 4 > size:
        return False
    ctypes.c_uint32.from_address(base + offset).value = value
    return True


def new_trap(message: str) -> int:
    """A trap the host function returns to stop the guest with `message`."""
    text = message.encode()
    trap = ffi.wasmtime_trap_new(text, len(text))
    return int(ctypes.cast(trap, ctypes.c_void_p).value or 0)


def call_func(caller: Any, func: wasmtime.Func, args: Any, count: int) -> int:
    """Call a wasm function from inside a host function with the caller's raw arguments (results land in `args`).

    Returns what a raw host function returns: 0, or the address of a trap.
    """
    context = ffi.wasmtime_caller_context(caller)
    trap = ctypes.POINTER(ffi.wasm_trap_t)()
    error = ffi.wasmtime_func_call_unchecked(context, ctypes.byref(func._func), args, count, ctypes.byref(trap))
    if error:
        return new_trap(str(wasmtime.WasmtimeError._from_ptr(error)))
    return int(ctypes.cast(trap, ctypes.c_void_p).value or 0)


@contextmanager
def caller_store(caller: Any) -> Iterator[Any]:
    """The raw caller as a wasmtime-py `Caller`, usable as a store for the public API during the host call."""
    wrapped = Caller(caller)
    try:
        yield wrapped
    finally:
        wrapped._invalidate()


def instance_export(store: wasmtime.Store, instance: wasmtime.Instance, name: str) -> Any:
    """One export of `instance` (a Func, Memory, …) or None, without wrapping all of them as `exports()` does."""
    encoded = name.encode()
    item = ffi.wasmtime_extern_t()
    found = ffi.wasmtime_instance_export_get(
        store._context(), ctypes.byref(instance._instance), encoded, len(encoded), ctypes.byref(item)
    )
    return wrap_extern(item) if found else None


def call_nullary(store: wasmtime.Store, func: wasmtime.Func) -> None:
    """Call a `() -> ()` export: `Func.__call__` re-reads the function's type on every call (17-70 µs); this is ~2 µs.

    Raises what wasmtime-py would: `Trap`, or `WasmtimeError` (`ExitTrap` for a WASI exit).
    """
    _call_unchecked(store, func, _NO_VALUES, 0)


def call_status(store: wasmtime.Store, func: wasmtime.Func) -> int:
    """Call a `() -> i32` export the way `call_nullary` calls a `() -> ()` one, and return the i32."""
    results = (ffi.wasmtime_val_raw_t * 1)()
    _call_unchecked(store, func, results, 1)
    return int(results[0].i32)


def _call_unchecked(store: wasmtime.Store, func: wasmtime.Func, values: Any, count: int) -> None:
    """Call `func` with `count` raw values (room for its results too); the caller vouches for the function's type."""
    trap = ctypes.POINTER(ffi.wasm_trap_t)()
    error = ffi.wasmtime_func_call_unchecked(
        store._context(), ctypes.byref(func._func), values, count, ctypes.byref(trap)
    )
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)
    if trap:
        raise wasmtime.Trap._from_ptr(trap)


def memory_region(store: wasmtime.Store, memory: wasmtime.Memory) -> tuple[int, int]:
    """(address, size) of a memory's bytes in this process, for copying it out at once (wasmtime's C functions,
    keeping the GIL: `Memory.data_len` and `data_ptr` cost 3.5 µs a pair, twice per JavaScript request)."""
    return _region(store._context(), _byref(memory._memory))


def memory_size(store: wasmtime.Store, memory: wasmtime.Memory) -> int:
    """The current size in bytes of a memory, keeping the GIL. Its address never changes (the engine is configured
    with `memory_may_move` off: a memory grows in place, within its reservation), so the host reads that once."""
    return int(_memory_data_size(store._context(), _byref(memory._memory)))


_COMPONENT_STRING = ffi.WASMTIME_COMPONENT_STRING.value
_BYTES = ctypes.POINTER(ctypes.c_uint8)


def call_component_strings(store: wasmtime.Store, func: ComponentFunc, args: tuple[str, ...]) -> str | None:
    """Call a component's `(string…) -> string` export and its post-return; None when it answered something else.

    `component.Func.__call__` reads the function's type back from wasmtime and converts each value through it on
    every call: 35 µs of a warm Python hello's 150. Raises what it would (`WasmtimeError`, or the exception a host
    function raised)."""
    params = (ffi.wasmtime_component_val_t * len(args))()
    filled = 0
    try:
        for text in args:
            data = text.encode()
            value = params[filled]
            value.kind = _COMPONENT_STRING
            ffi.wasm_byte_vec_new(_byref(value.of.string), len(data), ctypes.cast(ctypes.c_char_p(data), _BYTES))
            filled += 1
        result = ffi.wasmtime_component_val_t()
        raw = _byref(func._func)
        context = store._context()
        _raise_component_error(ffi.wasmtime_component_func_call(raw, context, params, filled, _byref(result), 1))
        answer = None
        if result.kind == _COMPONENT_STRING:
            vector = result.of.string
            answer = ctypes.string_at(vector.data, vector.size).decode("utf-8") if vector.size else ""
        ffi.wasmtime_component_val_delete(_byref(result))
        _raise_component_error(ffi.wasmtime_component_func_post_return(raw, context))
        return answer
    finally:
        for index in range(filled):
            ffi.wasmtime_component_val_delete(_byref(params[index]))


def _raise_component_error(error: Any) -> None:
    if error:
        exc = wasmtime.WasmtimeError._from_ptr(error)
        maybe_raise_last_exn()
        raise exc


_DEADLINE_CALLBACK = _bindings._wasmtime_store_epoch_deadline_callback.argtypes[1]
_CONTINUE = 0
"""`WASMTIME_UPDATE_DEADLINE_CONTINUE`: go on, with a new deadline."""

EpochCheck = Callable[[], int]
"""Called when a store's epoch deadline comes: the ticks the guest may go on for, or 0 to stop it."""


def on_epoch_deadline(store: wasmtime.Store, check: EpochCheck) -> Any:
    """Have `check` decide, on the guest's own thread, what happens when the store's epoch deadline comes (instead
    of a trap at once). Returns the C callback: keep it referenced for as long as the store lives."""

    def callback(_context: Any, _data: Any, delta: Any, kind: Any) -> int:
        try:
            ticks = check()
        except BaseException:  # an exception must never cross the C boundary: stop the guest
            ticks = 0
        if ticks <= 0:
            error = ffi.wasmtime_error_new(b"wws: the guest was stopped")
            return int(ctypes.cast(error, ctypes.c_void_p).value or 0)
        delta[0] = ticks
        kind[0] = _CONTINUE
        return 0

    function = _DEADLINE_CALLBACK(callback)
    _bindings._wasmtime_store_epoch_deadline_callback(store.ptr(), function, None, _NO_FINALIZER)
    return function
