"""A guest that is a core module: one wasmtime Store with WASI, limits and host stdio (`Guest` for core modules).

Created per request in `request` isolation and per warm instance in `instance` isolation; this is the hot path.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable
from typing import Any

import wasmtime

from wws.errors import GuestTrap, HostUnavailable
from wws.sandbox import _ffi
from wws.sandbox.context import GuestContext
from wws.sandbox.engine import Sandbox
from wws.sandbox.guest import Calls, SandboxSpec
from wws.sandbox.stdio import Streams
from wws.sandbox.traps import GuestCall

STDERR_TAIL_BYTES = 2048


def confine(store: wasmtime.Store, spec: SandboxSpec) -> None:
    """Give `store` its WASI context (argv, only the declared env, only the mounts) and its memory limit. A mount
    the host cannot open raises `HostUnavailable`."""
    wasi = wasmtime.WasiConfig()
    wasi.argv = list(spec.argv)
    if spec.env:
        wasi.env = [list(pair) for pair in spec.env]
    for mount in spec.mounts:
        try:
            wasi.preopen_dir(str(mount.source), mount.guest, mount.writable)
        except wasmtime.WasmtimeError as exc:  # gone or unreadable on the host: not the guest's doing
            what = f"the folder {mount.guest} of its sandbox"
            raise HostUnavailable(spec.worker, what, f"cannot open {mount.source}: {exc}") from None
    store.set_wasi(wasi)
    store.set_limits(memory_size=spec.limits.memory_bytes)


class GuestStore:
    """One Store with its WASI context (only the declared env and mounts) and capped stdio."""

    def __init__(self, sandbox: Sandbox, spec: SandboxSpec):
        self.spec = spec
        self.store = wasmtime.Store(sandbox.engine)
        self.streams = Streams(spec.limits.max_response_bytes, spec.limits.max_log_bytes)
        self._sandbox = sandbox
        self._key = sandbox.stdio.streams.attach(self.store, self.streams)
        self._instance: wasmtime.Instance | None = None
        self._memory: Any = None
        self._calls = Calls(sandbox, self.store)
        self._call = GuestCall(self)
        confine(self.store, spec)

    @property
    def context(self) -> GuestContext:
        return self.streams.context

    def instantiate(self, pre: wasmtime.InstancePre) -> wasmtime.Instance:
        """Instantiate (running the start function, if any, as a call of its own)."""
        self.begin()
        instance: wasmtime.Instance | None = None
        with self._call:
            instance = pre.instantiate(self.store)
        if instance is None:
            raise GuestTrap(self.spec.worker, "exited while being instantiated")
        self._instance = instance
        return instance

    def extend_env(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Give the guest more environment variables (a step's secrets) before its entry point runs."""
        self.spec = dataclasses.replace(self.spec, env=(*self.spec.env, *pairs))
        confine(self.store, self.spec)

    def export(self, instance: wasmtime.Instance, name: str) -> Any:
        return _ffi.instance_export(self.store, instance, name)

    def begin(
        self,
        request_id: str = "",
        deadline: float = 0.0,
        interrupt: threading.Event | None = None,
        *,
        host: bool = True,
        stdin: bytes = b"",
    ) -> None:
        """Start a call (see `Guest.begin`), with `stdin` as what the guest reads."""
        self.streams.reset(stdin, self._calls.start(self.spec, request_id, deadline, interrupt, host))

    def call(self, func: wasmtime.Func) -> None:
        """Call a `() -> ()` guest export; a clean WASI exit returns, any failure raises a WorkerError."""
        with self._call:
            _ffi.call_nullary(self.store, func)

    def call_status(self, func: wasmtime.Func) -> int:
        """Call a `() -> i32` guest export and return its status; failures raise as in `call` (a clean WASI exit
        returns 0)."""
        with self._call:
            return _ffi.call_status(self.store, func)
        return 0  # a clean WASI exit

    def stderr_tail(self) -> str:
        return self.streams.stderr_tail(STDERR_TAIL_BYTES).decode("utf-8", "replace").strip()

    def memory_region(self, memory: wasmtime.Memory) -> tuple[int, int]:
        """(address, size) of one of the guest's memories in this process."""
        return _ffi.memory_region(self.store, memory)

    def memory_size(self, memory: wasmtime.Memory) -> int:
        """The size of one of the guest's memories, whose address (`memory_region`) never changes."""
        return _ffi.memory_size(self.store, memory)

    def read_memory(self, memory: wasmtime.Memory, offset: int) -> bytes:
        """A copy of one of the guest's memories, from `offset` to its end."""
        base, size = _ffi.memory_region(self.store, memory)
        return _ffi.copy_out(base + offset, size - offset)

    def memory_bytes(self) -> int:
        """Current size of the guest's exported memory (0 if none). Looked up on first use: fresh instances that
        succeed never need it."""
        if self._memory is None and self._instance is not None:
            self._memory = _ffi.instance_export(self.store, self._instance, "memory")
        return _ffi.memory_size(self.store, self._memory) if isinstance(self._memory, wasmtime.Memory) else 0

    def close(self) -> None:
        """Drop the store now (not at garbage collection): stores alive at exit upset wasmtime's runtime."""
        self._sandbox.stdio.streams.detach(self._key)
        self._memory = self._instance = None
        self.store.close()
