"""HTTP limits of `wws serve`, from a raw socket: oversized heads get 431, slow clients (headers or body) and idle
connections are closed, an HTTP/0.9 request line is not answered."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.conftest import add_worker, running
from wws.config.model import HttpLimits
from wws.sandbox.engine import Sandbox
from wws.server import create_app

LIMITS = HttpLimits(
    max_header_bytes=8192, header_timeout_ms=1000, body_timeout_ms=500, body_min_rate=500, keep_alive_timeout_ms=700
)
SLOW_MACHINE_SECONDS = 3.0
"""How long past a limit a loaded machine may take to act on it (each case below would otherwise wait forever)."""


@pytest.fixture
def address(tmp_path: Path, native_modules: dict[str, Path], sandbox: Sandbox) -> Iterator[tuple[str, int]]:
    add_worker(tmp_path, native_modules["echo"], "echo.wasm")
    app = create_app(tmp_path, sandbox=sandbox, kv="memory")
    try:
        with running(app, http_limits=LIMITS) as base:
            host, port = base.removeprefix("http://").split(":")
            yield host, int(port)
    finally:
        app.state.project.close()


def connect(address: tuple[str, int]) -> socket.socket:
    return socket.create_connection(address, timeout=LIMITS.header_timeout_ms / 1000 + SLOW_MACHINE_SECONDS)


def read_all(client: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started = time.monotonic()
    received = b""
    while chunk := client.recv(65536):
        received += chunk
    return received, time.monotonic() - started


def request(path: str = "/echo", headers: str = "", body: bytes = b"") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}Content-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def test_a_head_under_the_limit_is_served(address: tuple[str, int]) -> None:
    with connect(address) as client:
        client.sendall(request(headers=f"X-Big: {'a' * 6000}\r\n", body=b"hi"))
        answer, _ = read_all(client)
    assert answer.startswith(b"HTTP/1.1 201 ")
    assert b'"body":"hi"' in answer


@pytest.mark.parametrize(
    "headers",
    [f"X-Big: {'a' * 1_000_000}\r\n", "".join(f"X-{index}: {'b' * 50}\r\n" for index in range(400))],
    ids=["one 1 MB header", "many small headers"],
)
def test_a_head_over_the_limit_gets_431_and_the_connection_is_closed(address: tuple[str, int], headers: str) -> None:
    with connect(address) as client:
        client.sendall(request(headers=headers))  # read to the end and dropped, so that the 431 arrives
        answer, _ = read_all(client)
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert b"connection: close" in answer


@pytest.mark.slow
def test_headers_trickling_in_are_cut_off_at_the_header_timeout(address: tuple[str, int]) -> None:
    limit = LIMITS.header_timeout_ms / 1000
    answer = b""
    with connect(address) as client:
        client.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n")
        client.settimeout(0.2)
        started = time.monotonic()
        while not answer and time.monotonic() - started < limit + SLOW_MACHINE_SECONDS:
            client.sendall(b"X-Slow: 1\r\n")  # a header line every 0.2 s, never the end of the head
            try:
                answer = client.recv(65536)
            except TimeoutError:
                continue
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert limit - 0.2 <= elapsed < limit + SLOW_MACHINE_SECONDS


def test_a_stalled_body_closes_the_connection_and_the_worker_never_runs(address: tuple[str, int]) -> None:
    with connect(address) as client:
        client.sendall(request(body=b"x" * 1000)[:-990])  # the head and 10 bytes of the body, then nothing
        answer, seconds = read_all(client)
    assert answer == b""  # closed without an answer: the worker never saw half a body
    assert LIMITS.body_timeout_ms / 1000 <= seconds < LIMITS.body_timeout_ms / 1000 + SLOW_MACHINE_SECONDS


def test_a_body_arriving_steadily_may_take_longer_than_the_body_timeout(address: tuple[str, int]) -> None:
    body = b"y" * 4000
    message = request(body=body)
    head = message[: -len(body)]
    with connect(address) as client:
        client.sendall(head)
        for start in range(0, len(body), 500):  # 500 bytes every 0.1 s: 0.8 s in all, over the 0.5 s base
            client.sendall(body[start : start + 500])
            time.sleep(0.1)
        answer, _ = read_all(client)
    assert answer.startswith(b"HTTP/1.1 201 ")


def test_an_http09_request_line_is_not_answered_and_closed_at_once(address: tuple[str, int]) -> None:
    with connect(address) as client:
        client.sendall(b"GET /echo\r\n")
        answer, seconds = read_all(client)
    assert answer == b""
    assert seconds < LIMITS.header_timeout_ms / 1000  # at once, not when the header timeout fires


def test_empty_lines_before_a_request_line_are_allowed(address: tuple[str, int]) -> None:
    with connect(address) as client:
        client.sendall(b"\r\n" + request(body=b"ok"))
        answer, _ = read_all(client)
    assert answer.startswith(b"HTTP/1.1 201 ")


def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(address: tuple[str, int]) -> None:
    with connect(address) as client:  # never sends anything
        answer, seconds = read_all(client)
    assert answer == b""
    assert LIMITS.keep_alive_timeout_ms / 1000 - 0.1 <= seconds < LIMITS.keep_alive_timeout_ms / 1000 + 2


def test_a_kept_alive_connection_serves_several_requests_then_idles_out(address: tuple[str, int]) -> None:
    keep = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"
    with connect(address) as client:
        client.sendall(keep)
        first = client.recv(65536)
        client.sendall(keep)
        second, seconds = read_all(client)
    assert first.startswith(b"HTTP/1.1 201 ")
    assert second.startswith(b"HTTP/1.1 201 ")
    assert seconds >= LIMITS.keep_alive_timeout_ms / 1000 - 0.1
