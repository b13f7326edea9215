"""The HTTP/1.1 connection: uvicorn's httptools protocol with the limits a server facing clients needs.

uvicorn leaves these to a proxy in front of it; wws serves clients directly, so it enforces them itself (settings:
`HttpLimits`, from `[http]` in `wws.toml` or `wws serve` options):

- the request line and headers together are at most `max_header_bytes`: past it, 431 and the connection is closed,
  however the bytes arrive (one header a megabyte long, or ten thousand small ones);
- the headers arrive within `header_timeout_ms` of the request's first byte, whatever trickles in meanwhile
  (slowloris): past it, 408 and the connection is closed;
- the body arrives within `body_timeout_ms`, extended by a second per `body_min_rate` bytes received (Apache's
  mod_reqtimeout rule): past it, the connection is closed, and the worker never runs on half a body;
- a connection idle for `keep_alive_timeout_ms` (before its first request or between two) is closed;
- an HTTP/0.9 request (a request line without a version) is not answered: the connection is closed at once.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import re
import signal
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from wws.config.model import HttpLimits

log = logging.getLogger(__name__)

_HTTP09_LINE = re.compile(rb"[^ \r\n]+ [^ \r\n]+\r?")
"""A request line of two words, method and target, without the protocol version that HTTP/1.0 introduced."""
LINGER_SECONDS = 2.0
"""How long a refused client's remaining bytes are read (and dropped) so that it receives the refusal."""
_HEADER_FRAMING = 4
"""": " and CRLF around each header, as they count in the limit."""


class ServerConfig(uvicorn.Config):
    """uvicorn's config with wws's HTTP limits (picklable, so `--workers N` hands it to every process)."""

    def __init__(self, app: Any, *, http_limits: HttpLimits | None = None, **settings: Any):
        self.http_limits = http_limits or HttpLimits()
        settings["timeout_keep_alive"] = self.http_limits.keep_alive_timeout_ms / 1000
        super().__init__(app, http=LimitedHttpProtocol, **settings)


def server_settings(host: str, port: int) -> dict[str, Any]:
    """uvicorn's settings for `wws serve` (the HTTP load benchmark serves its ceiling with the same): uvloop and
    httptools, as in uvicorn's `standard` extra (2-3x the requests/s of asyncio and h11 at 16 connections);
    wws writes its own access log."""
    return {"host": host, "port": port, "loop": "uvloop", "log_level": "warning", "access_log": False}


def run_server(
    app: Starlette | str, *, host: str, port: int, http_limits: HttpLimits | None = None, workers: int = 1
) -> None:
    """Serve `app` until interrupted: in this process, or in `workers` processes sharing the socket (then `app` is
    the import string of an app factory, which each process calls)."""
    config = ServerConfig(
        app, http_limits=http_limits, workers=workers, factory=isinstance(app, str), **server_settings(host, port)
    )
    if workers == 1:
        uvicorn.Server(config).run()
        return
    Multiprocess(config, sockets=[config.bind_socket()]).run()


_PR_SET_PDEATHSIG = 1


def exit_with_supervisor(supervisor: int) -> None:
    """Have this server process (one of `workers`) die with its supervisor `supervisor` when that one dies without
    stopping them (killed, or crashed): they would otherwise go on serving the shared port, unsupervised. Like a
    crash of the whole server, then: their unfinished pipeline runs are taken over as a dead process's. (A graceful
    stop goes through the supervisor, which stops them gracefully.)"""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != supervisor:  # it died before the call above
        os.kill(os.getpid(), signal.SIGKILL)


class LimitedHttpProtocol(HttpToolsProtocol):
    """One client connection, read under `HttpLimits` (see the module docstring).

    The request path pays little for the limits: one timer per connection, armed when a request starts and none is
    pending, and re-armed from its own callback (a kept-alive connection rarely touches it); the head is measured
    once, when complete; the request line is looked at once.
    """

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any):
        super().__init__(config, *args, **kwargs)
        self.limits: HttpLimits = getattr(config, "http_limits", None) or HttpLimits()
        self._header_timeout = self.limits.header_timeout_ms / 1000
        self._idle = True
        """Between two requests: the next chunk starts a request, whose first line is checked."""
        self._first_line: bytes | None = None
        """The start of a request line that has not ended yet."""
        self._in_head = False
        self._head_raw = 0
        """The head as received, while it is incomplete (a single endless header line counts too)."""
        self._head_due = 0.0
        self._in_body = False
        self._body_started = 0.0
        self._body_bytes = 0
        self._refused = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Idle before its first request: the same bound as between two (uvicorn arms it only after a response).
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if (self._idle or self._first_line is not None) and self._http09(data):
            log.info("%s: HTTP/0.9 request line: connection closed", _peer(self.client))
            self._refused = True
            self.transport.close()
            return
        super().data_received(data)
        if self._in_head and not self._refused:
            self._head_raw += len(data)  # the headers are not complete yet: all of it is head
            if self._head_raw > self.limits.max_header_bytes:
                self._refuse(431, "Request Header Fields Too Large")

    def _http09(self, data: bytes) -> bool:
        """Whether a request starting in `data` has a request line without a version (HTTP/0.9). A line that has not
        ended is kept (up to the head limit) and looked at with the next chunk."""
        if self._first_line is not None:
            data, self._first_line = self._first_line + data, None
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                if len(data) - start <= self.limits.max_header_bytes:
                    self._first_line = data[start:]
                return False
            line = data[start:end].rstrip(b"\r")
            if line:
                return b" HTTP/" not in line and _HTTP09_LINE.fullmatch(line) is not None
            start = end + 1  # empty lines before a request line are allowed (RFC 9112, 2.2)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._idle = False
        self._in_head = True
        self._head_raw = 0
        self._head_due = self.loop.time() + self._header_timeout
        self._arm(self._head_due)

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._refused:
            return
        size = len(self.url) + sum(len(name) + len(value) + _HEADER_FRAMING for name, value in self.headers)
        if size > self.limits.max_header_bytes:
            self._refuse(431, "Request Header Fields Too Large")
            return
        self._in_body = True
        self._body_started, self._body_bytes = self.loop.time(), 0
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._refused:
            return
        self._body_bytes += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._in_body = False
        self._idle = True
        super().on_message_complete()

    def _body_due(self) -> float:
        """When the body must be complete: its base time, plus a second per `body_min_rate` bytes received."""
        allowed = self.limits.body_timeout_ms / 1000 + self._body_bytes / self.limits.body_min_rate
        return self._body_started + allowed

    def _arm(self, due: float) -> None:
        """Make sure the connection's timer fires by `due` (loop time)."""
        if self._timer is None or due < self._timer_due:
            self._disarm()
            self._timer, self._timer_due = self.loop.call_at(due, self._check), due

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        """The timer fired: act on the request's head or body if it is late, else wait for what is due next."""
        self._timer = None
        if self._refused:
            return
        now = self.loop.time()
        if self._in_head:
            if now < self._head_due:
                self._arm(self._head_due)
                return
            log.info("%s: headers not received within %d ms: 408", _peer(self.client), self.limits.header_timeout_ms)
            self._refuse(408, "Request Timeout")
        elif self._in_body:
            due = self._body_due()
            if now < due:
                self._arm(due)
                return
            log.info("%s: body too slow (%d bytes received): closed", _peer(self.client), self._body_bytes)
            self._refused = True
            self.transport.close()

    def _refuse(self, status: int, reason: str) -> None:
        """Answer `status` and close: no worker runs. A lingering close, as nginx does: closing with the client's
        bytes still unread would reset the connection and lose the answer, so what still comes is read and dropped
        for up to `LINGER_SECONDS` after the answer is sent and the sending side shut."""
        self._refused = True
        self._disarm()
        body = f"{reason}\n".encode()
        head = f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        head += f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        self.transport.write(head.encode() + body)
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()


def _peer(client: tuple[str, int] | None) -> str:
    return f"{client[0]}:{client[1]}" if client else "client"
