"""The process-wide sandbox: one wasmtime Engine, its epoch ticker, the compiled-module cache and the linker.

Engine, Module, Linker and InstancePre are shared by every thread; each request gets its own Store (see `store.py`).
"""

from __future__ import annotations

import atexit
import functools
import threading
import time
from pathlib import Path

import wasmtime

from wws.config.paths import cache_dir
from wws.sandbox.cache import ModuleCache
from wws.sandbox.context import TICK_SECONDS, deadline_ticks
from wws.sandbox.hostcalls import HostImports
from wws.sandbox.stdio import HostStdio
from wws.sandbox.waits import HostWaits

MAX_WASM_STACK = 2 * 1024 * 1024
"""Native stack a guest call may use: wasmtime's default is 512 KiB; 2 MiB is the most it allows without async
support. Interpreters recurse deeply in native code, and QuickJS must reach its own limit (a catchable RangeError)
before this one. The threads that run guests have 8 MiB stacks."""

ENGINE_SETTINGS = "epoch_interruption=1 max_wasm_stack=2MiB memory_may_move=0"
"""The engine flags that change compiled code, part of every compiled-module cache key."""


class EpochTicker:
    """One daemon thread advancing the engine's epoch every tick, which is what makes deadlines fire."""

    def __init__(self, engine: wasmtime.Engine):
        self._engine = engine
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wws-epoch-ticker", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            self._engine.increment_epoch()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class Sandbox:
    """Everything guests share within one process. Create one (or use `default_sandbox()`) and close it at exit."""

    def __init__(self, cache_folder: Path | None = None):
        config = wasmtime.Config()
        config.epoch_interruption = True
        config.max_wasm_stack = MAX_WASM_STACK
        config.memory_may_move = False  # a memory's address is fixed for its life: the host keeps it (see _ffi)
        self.engine = wasmtime.Engine(config)
        self.cache = ModuleCache(self.engine, cache_folder or cache_dir() / "modules", ENGINE_SETTINGS)
        self.stdio = HostStdio(self.engine)
        self.linker = wasmtime.Linker(self.engine)
        self.linker.define_wasi()
        self.linker.allow_shadowing = True
        self.stdio.define(self.linker)
        self.host_imports = HostImports(self.stdio)
        self.host_imports.define(self.linker)
        self.waits = HostWaits(self.stdio)
        self.waits.define(self.linker)
        self._ticker = EpochTicker(self.engine)

    deadline_ticks = staticmethod(deadline_ticks)

    @classmethod
    def call_deadline(cls, timeout_ms: int, deadline: float = 0.0) -> tuple[float, int]:
        """When a guest call must end (`time.monotonic()`) and its epoch ticks: `timeout_ms` from now, or
        `deadline` (a request's, set when it arrived) if that comes first."""
        now = time.monotonic()
        limit = now + timeout_ms / 1000
        if deadline and deadline < limit:
            return deadline, cls.deadline_ticks(max(0, int((deadline - now) * 1000)))
        return limit, cls.deadline_ticks(timeout_ms)

    def close(self) -> None:
        self._ticker.stop()


@functools.cache
def default_sandbox() -> Sandbox:
    """The sandbox of this process, created on first use and closed at interpreter exit."""
    sandbox = Sandbox()
    atexit.register(sandbox.close)
    return sandbox
