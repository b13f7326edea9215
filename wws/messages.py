"""The request a worker receives and the response it gives, independent of HTTP server and guest language."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

Headers = tuple[tuple[str, str], ...]
"""Header pairs in order, names lower-cased; a name may repeat (`set-cookie`)."""


def first_header(headers: Headers, name: str) -> str | None:
    """The first value of header `name` (any case) in `headers`, or None."""
    wanted = name.lower()
    return next((value for key, value in headers if key == wanted), None)


@dataclass(frozen=True, slots=True)
class WorkerRequest:
    """One HTTP request as the host hands it to a worker."""

    url: str
    method: str = "GET"
    headers: Headers = ()
    body: bytes = b""
    params: Mapping[str, str] = field(default_factory=dict)
    kv: Mapping[str, str] = field(default_factory=dict)
    request_id: str = ""
    """The host's id for this request, for logs; never sent to the guest."""
    client: str = ""
    """The client's address as the server saw it (no port), or "" when unknown (`wws run`)."""
    http_version: str = "1.1"
    deadline: float = 0.0
    """`time.monotonic()` by which the answer is due (the server sets it when the request arrives, so time spent
    waiting for the worker counts); 0: the worker's `timeout_ms` from when its guest starts."""

    def header(self, name: str) -> str | None:
        """The first value of a header, or None."""
        return first_header(self.headers, name)


@dataclass(frozen=True, slots=True)
class WorkerResponse:
    """What a worker answered. `log` is the guest's stderr for the operator, never sent to the client;
    `kv` holds the namespace as the worker left it (None for a key it deleted)."""

    status: int = 200
    headers: Headers = ()
    body: bytes = b""
    kv: Mapping[str, str | None] = field(default_factory=dict)
    log: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of a header, or None."""
        return first_header(self.headers, name)


@dataclass(frozen=True, slots=True)
class StepCall:
    """One pipeline step as the host hands it to a worker: its input state as JSON text
    (`{"data", "errors", "config"}`), with the ids and the deadline of the run it belongs to."""

    state: str
    request_id: str = ""
    """The run and the step (`<run id>/<step id>`), for logs."""
    deadline: float = 0.0
    """`time.monotonic()` by which the step must end; 0: the worker's `timeout_ms` from when its guest starts."""
    secrets: Mapping[str, str] = field(default_factory=dict)
    """What only this step's sandbox receives (in `env`, or as environment variables), on top of `[vars]`."""
    interrupt: threading.Event | None = field(default=None, compare=False)
    """Set when the run is cancelled: a guest waiting in the host (a sleep, a timer) stops at once, as at its
    deadline."""


@dataclass(frozen=True, slots=True)
class StepAnswer:
    """What a step's guest answered: its new state as JSON text (checked by the pipeline), and its log."""

    state: bytes
    log: bytes = b""
