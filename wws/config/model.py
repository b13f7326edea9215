"""The validated, frozen form of a worker's config. Built by `wws.config.loader`; read everywhere else."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from enum import Enum, StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

MIB = 1024 * 1024


NODEJS_COMPAT = frozenset({"nodejs_compat", "nodejs_compat_v2"})
"""Either flag gives JavaScript workers the Node.js globals (`Buffer`); `node:buffer` imports without them."""
COMPATIBILITY_FLAGS = NODEJS_COMPAT


class Isolation(StrEnum):
    """How much a worker's requests share.

    REQUEST: a fresh instance per request; nothing survives it (the default, the safe choice).
    INSTANCE: warm instances reused for many requests; globals persist between them (like Cloudflare Workers).
    """

    REQUEST = "request"
    INSTANCE = "instance"


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-request limits. Every one has a safe default; `[limits]` in the worker config overrides them."""

    timeout_ms: int = 30_000
    memory_mb: int = 128
    max_body_bytes: int = 10 * MIB
    max_response_bytes: int = 16 * MIB
    """Cap on what the guest writes to stdout (its response); past it the guest is stopped (502)."""
    max_log_bytes: int = 1 * MIB
    """Cap on what the guest logs per request, all ways together (stderr, `console.*`, `print`, the `log` host
    call); the rest is dropped and the drop is noted once."""
    fetch_timeout_ms: int = 10_000
    """Bound on one outbound request (redirects included), and never past the request's own deadline."""
    max_fetch_bytes: int = 10 * MIB
    """Cap on the body of one outbound response, as received (wws asks for it uncompressed and never decodes it)."""
    max_concurrent_requests: int = 32
    """Requests of this worker running at once, each on a thread (one that overran its deadline counts until its
    thread is back); the others wait in line."""
    max_queued_requests: int = 128
    """Requests waiting for a slot; past it, or at a waiting request's deadline, the answer is 503 with
    `Retry-After`."""
    idle_ms: int = 60_000
    """After this long without a request, a worker gives its memory back: its instances (warm or kept for reuse)
    and what it loaded are dropped, and its next request loads it again. 0 keeps them for as long as it is served."""

    @property
    def memory_bytes(self) -> int:
        return self.memory_mb * MIB


@dataclass(frozen=True, slots=True)
class Mount:
    """A host folder the guest may see at `guest` (`[[folders]]`), read-only unless `writable`."""

    source: Path
    guest: str
    writable: bool = False


@dataclass(frozen=True, slots=True)
class HttpRequests:
    """`[features.http_requests]`: where the worker may send requests through the host."""

    allowed_hosts: tuple[str, ...] = ()
    allowed_methods: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
    allow_http: bool = False


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """`[http]` in the project's `wws.toml` (or `wws serve` options): what the server accepts from a client before
    any worker runs. Defaults follow the usual servers (nginx, Apache's mod_reqtimeout, Node)."""

    max_header_bytes: int = 32 * 1024
    """Request line and headers together; past it, 431 and the connection is closed."""
    header_timeout_ms: int = 10_000
    """From a request's first byte to the end of its headers; past it, 408 and the connection is closed."""
    body_timeout_ms: int = 20_000
    """Time for the body, extended by a second for every `body_min_rate` bytes received; past it, the connection is
    closed (the request is logged as 499)."""
    body_min_rate: int = 500
    """Bytes per second a body must keep up, on average, once `body_timeout_ms` is spent."""
    keep_alive_timeout_ms: int = 5_000
    """How long a connection may stay idle between requests (or before its first one)."""


DEFAULT_LARGE_OUTPUT_BYTES = 256 * 1024
DEFAULT_RUNS_PER_PROCESS = 8


@dataclass(frozen=True, slots=True)
class PipelinesSettings:
    """`[pipelines]` in the project's `wws.toml` (or `wws serve` options): how its pipelines are served."""

    token_env: str | None = None
    """The environment variable holding the bearer token every request to `/_wws/pipelines` must carry. Without
    one, only loopback clients may call those routes."""
    database: str | None = None
    """Where the runs are kept: a `postgresql://…` URL when several processes or hosts share them; None: the
    project's `.wws/pipelines.sqlite`."""
    large_output_bytes: int = DEFAULT_LARGE_OUTPUT_BYTES
    """A step output larger than this is stored once, by content hash, and passed on by reference."""
    runs_per_process: int = DEFAULT_RUNS_PER_PROCESS
    """Postgres: the runs one process takes from the queue at once (waiting ones included); the others wait for a
    process with room, so that a burst is shared between the processes."""


DEFAULT_KV_BINDING = "KV"


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """Everything a worker's `<basename>.toml` can say. `WorkerConfig()` is the config of a worker without one."""

    name: str | None = None
    version: str | None = None
    isolation: Isolation = Isolation.REQUEST
    max_requests: int = 1000
    """In `instance` isolation: requests an instance serves before it is replaced by a fresh one."""
    compatibility_flags: tuple[str, ...] = ()
    """Cloudflare's flags that wws honours (`COMPATIBILITY_FLAGS`): `nodejs_compat` makes `Buffer` a global."""
    vars: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    kv_namespace: str | None = None
    kv_binding: str = DEFAULT_KV_BINDING
    """The name of the namespace in a JavaScript worker's `env` (Workers' binding name)."""
    folders: tuple[Mount, ...] = ()
    http_requests: HttpRequests = field(default_factory=HttpRequests)
    limits: Limits = field(default_factory=Limits)
    file: Path | None = None
    """The config file it came from, if any (for messages)."""

    def fingerprint(self) -> str:
        """A canonical text of the settings (not of where they came from), hashed into prepared folders."""
        settings = _plain(self)
        settings.pop("file")
        return json.dumps(settings, sort_keys=True)


def _plain(value: Any) -> Any:
    """JSON-ready copy of a config value (dataclasses, mappings, tuples, enums, paths)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {item.name: _plain(getattr(value, item.name)) for item in fields(value)}
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    return value
