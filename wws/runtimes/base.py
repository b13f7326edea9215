"""What a language runtime is: the contract between a Worker and the code that runs its language.

A Runtime prepares a worker's folder, loads (builds or fetches from cache) its engine module into a Program, and a
Program makes GuestInstances that each serve requests. Built-in and third-party runtimes implement the same
protocol; `BaseRuntime` gives the usual defaults.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from wws.config.model import Mount, WorkerConfig
from wws.messages import WorkerRequest, WorkerResponse
from wws.sandbox.engine import Sandbox
from wws.sandbox.guest import SandboxSpec

GUEST_ROOT = "/src"
"""Where the prepared folder appears inside the guest, read-only."""


@dataclass(frozen=True, slots=True)
class PreparedWorker:
    """A worker ready to load: its prepared folder and everything the sandbox will allow it."""

    handler: Path
    """The user's file, for messages."""
    folder: Path
    """`.wws/<language>/<hash>/`, holding the source (named `source_name`), the glue and the libs."""
    source_name: str
    config: WorkerConfig
    sandbox: Sandbox
    spec: SandboxSpec


class GuestInstance(Protocol):
    """One live guest. Serves one request (request isolation) or many in turn (instance isolation)."""

    def handle(self, request: WorkerRequest) -> WorkerResponse:
        """Run one request; raise a `WorkerError` when the guest fails. Never called by two threads at once."""
        ...

    def memory_bytes(self) -> int:
        """Current guest memory, so a pool can retire an instance at its cap."""
        ...

    def close(self) -> None: ...

    # A guest that can run pipeline steps also has `run_step(call: StepCall) -> StepAnswer` (the built-in runtimes
    # do; a plug-in may not: `Worker.run_step` says so when it is asked for one).


class Program(Protocol):
    """A loaded worker version: makes instances cheaply (the expensive work is done once, in `Runtime.load`)."""

    reusable: bool
    """Whether one instance can serve several requests (else instance isolation falls back to fresh ones)."""

    def new_instance(self) -> GuestInstance: ...

    # A program may say `speculates = True` when its instances make their calls through `wws.sandbox` guests, which
    # honour speculation (`wws.sandbox.context.speculating`): the server may then run its calls on its event loop.
    # A program may also say `kv_snapshot = False`: its guests reach the KV namespace through host calls, so requests
    # need not carry a copy of it (the wws JSON protocol of native modules does: True when it is not said).

    def close(self) -> None:
        """Drop whatever the program keeps between requests (called once, when its worker version retires)."""
        ...


@runtime_checkable
class Runtime(Protocol):
    """A language: the files it claims, how their folders are prepared, loaded and mounted."""

    language: str
    """Names the `.wws/<language>/` folder and shows in route tables."""
    extensions: tuple[str, ...]
    """File extensions it runs, with the dot: (".wasm",)."""

    def fingerprint(self) -> str:
        """Identifies the glue and engine versions; part of every prepared folder's hash."""
        ...

    def sources(self, handler: Path, exclude: Sequence[Path] = ()) -> list[Path]:
        """The files the worker is made of, the handler first: their names and bytes are part of its folder's hash.
        Nothing under the folders of `exclude` (the ones the worker may write to: what it writes is not its code,
        whatever their number) is one of them."""
        ...

    def prepare(self, handler: Path, folder: Path, exclude: Sequence[Path] = ()) -> str:
        """Fill the (new, empty) `folder` with the handler's source, glue and libs, nothing from under `exclude`;
        return the source's name in it."""
        ...

    def preopens(self, folder: Path) -> tuple[Mount, ...]:
        """What the guest sees of the host besides the config's `[[folders]]`."""
        ...

    def load(self, worker: PreparedWorker) -> Program:
        """Build or load the engine module (cached) and return a Program. Raise `LoadError` when it cannot."""
        ...


class BaseRuntime:
    """Defaults for runtimes: copy the handler into the folder and mount the folder read-only at `/src`."""

    language = "base"
    extensions: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        return f"{self.language}-1"

    def sources(self, handler: Path, exclude: Sequence[Path] = ()) -> list[Path]:
        return [handler]

    def prepare(self, handler: Path, folder: Path, exclude: Sequence[Path] = ()) -> str:
        shutil.copyfile(handler, folder / handler.name)
        return handler.name

    def preopens(self, folder: Path) -> tuple[Mount, ...]:
        return (Mount(folder, GUEST_ROOT, writable=False),)
