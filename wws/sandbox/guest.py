"""What every guest is, whatever its kind: the `Guest` protocol, and the `SandboxSpec` it is confined by.

Two implementations: `store.GuestStore` (a core module, WASI preview 1, stdio served by the host) and
`components.ComponentGuest` (a component, WASI preview 2, strings in and out). Both begin each call with a new
`GuestContext` and make it inside `traps.GuestCall`, the one place where wasmtime's failures become wws errors.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from wws.config.model import Limits, Mount
from wws.sandbox.context import GuestContext, HostCalls


@dataclass(frozen=True, slots=True)
class SandboxSpec:
    """Everything a guest is allowed to touch: argv, declared env vars, mounted folders, and its limits."""

    worker: Path
    """The handler file, for messages."""
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    mounts: tuple[Mount, ...]
    limits: Limits
    host: HostCalls | None = None
    """Answers the guest's host calls; None refuses them."""


class Guest(Protocol):
    """One guest instance in its own Store, serving one call at a time."""

    spec: SandboxSpec

    @property
    def context(self) -> GuestContext:
        """The current (or last) call's context."""
        ...

    def begin(
        self,
        request_id: str = "",
        deadline: float = 0.0,
        interrupt: threading.Event | None = None,
        *,
        host: bool = True,
    ) -> None:
        """Start a call: a new context, its deadline (`time.monotonic()`; 0: `timeout_ms` from now), what interrupts
        it early, and whether its host calls are answered (False: code that runs before any request)."""
        ...

    def stderr_tail(self) -> str:
        """The end of what the guest wrote to stderr in this call, for error messages ("" when it has no stderr)."""
        ...

    def memory_bytes(self) -> int:
        """Current size of the guest's memory (0 when the host cannot see it)."""
        ...

    def close(self) -> None: ...
