"""A local HTTP origin for outbound-request tests (the real thing, on 127.0.0.1, no mocks)."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BIG_BYTES = 2 * 1024 * 1024


class OriginHandler(BaseHTTPRequestHandler):
    """/hello, /echo (method, headers, body as JSON), /redirect?to=URL&status=N, /big, /gzip-bomb, /slow,
    /trickle, /binary."""

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        url = urlsplit(self.path)
        query = {name: values[0] for name, values in parse_qs(url.query).items()}
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/hello":
            self._send(200, b"hello from the origin", {"content-type": "text/plain", "x-origin": "yes"})
        elif url.path == "/echo":
            headers = {name.lower(): value for name, value in self.headers.items()}
            echo = {"method": self.command, "headers": headers, "body": body.decode("latin-1")}
            self._send(200, json.dumps(echo).encode(), {"content-type": "application/json"})
        elif url.path == "/redirect":
            self._send(int(query.get("status", "302")), b"", {"location": query["to"]})
        elif url.path == "/big":
            self._send(200, b"x" * BIG_BYTES)
        elif url.path == "/gzip-bomb":
            self._send(200, gzip.compress(b"\0" * BIG_BYTES), {"content-encoding": "gzip"})
        elif url.path == "/slow":
            time.sleep(float(query.get("seconds", "3")))
            self._send(200, b"late")
        elif url.path == "/trickle":  # headers one line every 0.1 s: only a total deadline stops the wait
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for _ in range(100):
                self.wfile.write(b"x-slow: yes\r\n")
                self.wfile.flush()
                time.sleep(0.1)
            self.wfile.write(b"content-length: 0\r\n\r\n")
        elif url.path == "/binary":
            self._send(200, bytes(range(256)), {"content-type": "application/octet-stream"})
        else:
            self._send(404, b"no such page")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


@contextmanager
def running_origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), OriginHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
