"""The access log: one line per HTTP request on `wws.access`, whoever answered it (a worker, a public file, the
pipelines API), with the same fields (see `wws.logs`)."""

from __future__ import annotations

import os
import random
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wws.logs import log_access as write_access_line

_ids = random.Random()
"""Request ids' own generator, seeded from the system's entropy in each process (a forked one reseeds): ids tell a
request's log lines apart and are no secret (clients see theirs), and `os.urandom`, a system call per request,
cost 3 µs."""
os.register_at_fork(after_in_child=_ids.seed)


def new_request_id() -> str:
    """12 hex digits."""
    return f"{_ids.getrandbits(48):012x}"


def log_access(request_id: str, scope: Scope, status: int, started: float, worker: str | None) -> None:
    """Log a request answered with `status`, `started` at that `time.perf_counter()`, by `worker` (None: no
    worker answered)."""
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    write_access_line(
        request_id, method=scope["method"], path=scope["path"], status=status, duration_ms=duration_ms, worker=worker
    )


async def logged(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run `app` on one HTTP request and log it once it is answered (a stream: once it ends); a request the app
    failed on is logged 500, as the server answers it."""
    request_id, started, status = new_request_id(), time.perf_counter(), 500

    async def sending(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        await send(message)

    try:
        await app(scope, receive, sending)
    finally:
        log_access(request_id, scope, status, started, None)
