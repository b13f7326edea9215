"""The access log: one line per HTTP request on `wws.access`, whoever answered it (a worker, a public file, the
pipelines API), with the same fields (see `wws.logs`)."""

from __future__ import annotations

import os
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wws.logs import access_log


def new_request_id() -> str:
    return os.urandom(6).hex()


def log_access(request_id: str, scope: Scope, status: int, started: float, worker: str | None) -> None:
    """Log a request answered with `status`, `started` at that `time.perf_counter()`, by `worker` (None: no
    worker answered)."""
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    access_log.info(
        "%s %s %s %d %.1fms %s",
        request_id,
        scope["method"],
        scope["path"],
        status,
        duration_ms,
        worker or "-",
        extra={
            "request_id": request_id,
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "duration_ms": duration_ms,
            "worker": worker,
        },
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
