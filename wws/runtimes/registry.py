"""Which runtime runs which extension: built-ins plus third-party runtimes from the `wws.runtimes` entry points.

Entry points are loaded lazily (on the first lookup) and once. Each entry point names a Runtime class or a factory
taking no arguments. Two runtimes claiming one extension is an error, not a silent override.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points

from wws.errors import DuplicateRuntime, LoadError, RuntimeNotFound
from wws.runtimes.base import Runtime

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "wws.runtimes"


def builtin_runtimes() -> list[Runtime]:
    """The runtimes that ship with wws (imported here, on first lookup, like plug-ins)."""
    from wws.runtimes.javascript import JavaScriptRuntime  # noqa: PLC0415 - lazy, as plug-ins are
    from wws.runtimes.native import NativeRuntime  # noqa: PLC0415
    from wws.runtimes.python import PythonRuntime  # noqa: PLC0415

    return [NativeRuntime(), JavaScriptRuntime(), PythonRuntime()]


class RuntimeRegistry:
    """Extension → Runtime. Register built-ins and plug-ins the same way, with `register`."""

    def __init__(self, runtimes: Iterable[Runtime] = ()):
        self._by_extension: dict[str, Runtime] = {}
        for runtime in runtimes:
            self.register(runtime)

    def register(self, runtime: Runtime) -> None:
        if not isinstance(runtime, Runtime):
            raise TypeError(f"{runtime!r} does not implement the wws Runtime protocol")
        for claimed in runtime.extensions:
            extension = claimed.lower()
            current = self._by_extension.get(extension)
            if current is not None and current is not runtime:
                raise DuplicateRuntime(extension, current.language, runtime.language)
            self._by_extension[extension] = runtime

    def get(self, extension: str) -> Runtime:
        runtime = self._by_extension.get(extension.lower())
        if runtime is None:
            raise RuntimeNotFound(extension, self.extensions())
        return runtime

    def extensions(self) -> list[str]:
        return sorted(self._by_extension)

    def runtimes(self) -> list[Runtime]:
        return list({id(runtime): runtime for runtime in self._by_extension.values()}.values())

    @classmethod
    def discover(cls) -> RuntimeRegistry:
        """Built-ins, then every installed `wws.runtimes` entry point."""
        registry = cls(builtin_runtimes())
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            try:
                factory: Callable[[], Runtime] = entry.load()
                runtime = factory()
            except Exception as exc:
                raise LoadError(entry.value, f"runtime plug-in '{entry.name}' failed to load: {exc}") from exc
            log.debug("runtime plug-in %s (%s) claims %s", entry.name, entry.value, runtime.extensions)
            registry.register(runtime)
        return registry


@functools.cache
def default_registry() -> RuntimeRegistry:
    """The registry of this process, discovered on first use."""
    return RuntimeRegistry.discover()


def init_runtime(extension: str) -> Runtime:
    """The Runtime for a file extension ('.wasm', '.js', …); `RuntimeNotFound` lists the supported ones."""
    return default_registry().get(extension if extension.startswith(".") else f".{extension}")
