"""Compiled modules cached on disk, so a second start loads in milliseconds what took seconds to compile.

A cache file is `<key>.cwasm` where key = blake3(wasm bytes (or a caller's key, see `load_derived`), wasmtime
version, engine settings). Its content is the blake3 digest of the payload followed by the payload (wasmtime's
serialized module). The digest is checked before wasmtime sees the bytes: a truncated or corrupt file is never
deserialized (that could crash the process); it is compiled again and rewritten. Files are written to a temporary
name and renamed, so readers never see half a file.
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

import blake3
import wasmtime
import wasmtime.component

T = TypeVar("T", wasmtime.Module, wasmtime.component.Component)

log = logging.getLogger(__name__)

_DIGEST = 32


class ModuleCache:
    """Compile-or-load for one engine. Thread-safe; each module is compiled at most once per process."""

    def __init__(self, engine: wasmtime.Engine, folder: Path, engine_settings: str):
        self.engine = engine
        self.folder = folder
        self.engine_settings = engine_settings
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.compiled = 0
        """How many modules this cache had to compile (the rest came from memory or disk): for tests and logs."""

    def key(self, wasm: bytes) -> str:
        """The cache key of `wasm`: its bytes, the wasmtime version and the engine settings."""
        return self._cache_key(blake3.blake3(wasm).hexdigest())

    def _cache_key(self, inputs: str) -> str:
        return blake3.blake3(f"{inputs}\0wasmtime {wasmtime_version()}\0{self.engine_settings}".encode()).hexdigest()

    def path(self, wasm: bytes) -> Path:
        return self.folder / f"{self.key(wasm)}.cwasm"

    def load(self, wasm: bytes) -> wasmtime.Module:
        """The compiled module for `wasm`: from memory, else from disk, else compiled (and saved)."""
        return self._load(self.key(wasm), lambda: wasm)

    def load_derived(self, inputs_key: str, build: Callable[[], bytes]) -> wasmtime.Module:
        """The module cached under `inputs_key`, calling `build()` for its bytes only when it is not cached yet.

        For modules that cost something to produce (a pre-initialised snapshot): `inputs_key` must change with every
        input of `build`; the wasmtime version and engine settings are added here.
        """
        return self._load(self._cache_key(inputs_key), build)

    def load_component(self, inputs_key: str, build: Callable[[], bytes]) -> wasmtime.component.Component:
        """As `load_derived`, for a component (the component model's binary)."""
        return self._load(self._cache_key(f"component\0{inputs_key}"), build, wasmtime.component.Component)

    def _load(self, key: str, build: Callable[[], bytes], kind: type[T] = wasmtime.Module) -> T:  # type: ignore[assignment]
        with self._lock:
            module = self._loaded.get(key)
        if isinstance(module, kind):
            return module
        module = self._from_disk(key, kind) or self._compile(key, build(), kind)
        with self._lock:
            loaded: T = self._loaded.setdefault(key, module)
            return loaded

    def _from_disk(self, key: str, kind: type[T]) -> T | None:
        path = self.folder / f"{key}.cwasm"
        try:
            data = path.read_bytes()
        except OSError:
            return None
        digest, payload = data[:_DIGEST], data[_DIGEST:]
        if len(data) <= _DIGEST or blake3.blake3(payload).digest() != digest:
            log.warning("compiled-module cache file %s is corrupt or truncated; compiling again", path)
            return None
        try:
            return kind.deserialize(self.engine, payload)
        except wasmtime.WasmtimeError as exc:
            log.warning("compiled-module cache file %s is not usable (%s); compiling again", path, exc)
            return None

    def _compile(self, key: str, wasm: bytes, kind: type[T]) -> T:
        module = kind(self.engine, wasm)
        self.compiled += 1
        payload = bytes(module.serialize())
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=f".{key}.", suffix=".tmp")
            with os.fdopen(handle, "wb") as file:
                file.write(blake3.blake3(payload).digest())
                file.write(payload)
            os.replace(temporary, self.folder / f"{key}.cwasm")
        except OSError as exc:  # a read-only or full disk costs speed, not correctness
            log.warning("cannot write the compiled-module cache in %s: %s", self.folder, exc)
        return module


@functools.cache
def wasmtime_version() -> str:
    """The installed wasmtime-py version (read once: each metadata lookup costs about a millisecond)."""
    return version("wasmtime")
