"""Server test helpers: fixture projects built from the native test workers, an in-process ASGI client, and a real
uvicorn server on a free port."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from wws.config.model import HttpLimits
from wws.server.http import ServerConfig, server_settings

ROUTE_FILES = {
    "/": "index.wasm",
    "/fixed": "fixed.wasm",
    "/[id]": "[id].wasm",
    "/[id]/fixed": "[id]/fixed.wasm",
    "/sub/[id]": "sub/[id].wasm",
    "/sub/[...all]": "sub/[...all].wasm",
    "/sub/sub/[...all]": "sub/sub/[...all].wasm",
}
"""The routing table of DESIGN.md, as files; each answers with its route (see whoami.c)."""


def add_worker(root: Path, module: Path, name: str, config: str | None = None) -> Path:
    target = root / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(module, target)
    if config is not None:
        target.with_suffix(".toml").write_text(config)
    return target


@pytest.fixture
def routes_project(tmp_path: Path, native_modules: dict[str, Path]) -> Path:
    root = tmp_path / "project"
    for route, name in ROUTE_FILES.items():
        add_worker(root, native_modules["whoami"], name, f'[vars]\nROUTE = "{route}"\n')
    add_worker(root, native_modules["whoami"], "_private/hidden.wasm", '[vars]\nROUTE = "hidden"\n')
    public = root / "public"
    (public / "docs").mkdir(parents=True)
    (public / "style.css").write_text("body { color: red }")
    (public / "docs" / "index.html").write_text("<h1>docs</h1>")
    (public / "404.html").write_text("<h1>nothing here</h1>")
    (public / "fixed").write_text("the public file named like a static route")
    (public / "sub").mkdir()
    (public / "sub" / "page.html").write_text("public beats the catch-all")
    return root


class Client:
    """A synchronous face on httpx's ASGI transport: the app runs in-process, its workers in the thread pool."""

    def __init__(self, app: Starlette):
        self.app = app

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as session:
                return await session.request(method, url, **kwargs)

        return asyncio.run(send())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports: each is held until all are picked (ports picked one after the other, each
    released at once, may repeat, and a server given the same port twice cannot start)."""
    with contextlib.ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]


@contextlib.contextmanager
def running(app: Starlette, port: int | None = None, http_limits: HttpLimits | None = None) -> Iterator[str]:
    """Serve `app` as `wws serve` does (uvicorn, wws's HTTP protocol and limits), on a free port unless given, in a
    thread; yields the base URL; stops it after."""
    port = port or free_port()
    server = uvicorn.Server(ServerConfig(app, http_limits=http_limits, **server_settings("127.0.0.1", port)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


class DrainedProcess(subprocess.Popen[str]):
    """A process whose stdout and stderr are read as they come (a server that logs every request would otherwise
    fill its pipes and stop while the test waits for it), and handed over whole by `communicate()`."""

    def __init__(self, command: list[str], **options: Any):
        super().__init__(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **options)
        self._output: tuple[list[str], list[str]] = ([], [])
        self._readers = [
            threading.Thread(target=_drain, args=(stream, lines), daemon=True)
            for stream, lines in ((self.stdout, self._output[0]), (self.stderr, self._output[1]))
        ]
        for reader in self._readers:
            reader.start()

    def communicate(self, input: str | None = None, timeout: float | None = None) -> tuple[str, str]:
        """Wait for the process to end (`TimeoutExpired` past `timeout`) and return all it wrote."""
        self.wait(timeout)
        for reader in self._readers:
            reader.join(timeout)
        return "".join(self._output[0]), "".join(self._output[1])


def _drain(stream: Any, lines: list[str]) -> None:
    for line in stream:
        lines.append(line)
    stream.close()


@contextlib.contextmanager
def serving(
    project: Path,
    *options: str,
    env: dict[str, str] | None = None,
    port: int | None = None,
    wws: tuple[str, ...] = (sys.executable, "-m", "wws"),
    cwd: Path | None = None,
) -> Iterator[tuple[str, DrainedProcess]]:
    """A real `wws serve PROJECT` process (with `options`, and `env` added to the environment; `wws` the command,
    run in `cwd`), once it answers; yields its base URL and the process; terminates it at the end unless the test
    did."""
    port = port or free_port()
    command = [*wws, "serve", str(project), "--port", str(port), *options]
    environment = {**os.environ, **(env or {})}
    process = DrainedProcess(command, env=environment, cwd=cwd)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"wws serve did not start: {process.communicate()}") from None
                time.sleep(0.1)
        yield base, process
    except Exception as exc:  # what the server said goes with the failure: a flake is then diagnosable
        if process.returncode is None:
            process.terminate()
        said = process.communicate(timeout=20)[1][-4000:]
        exc.add_note(f"wws serve {project.name} said (its last 4000 characters):\n{said}")
        raise
    finally:
        if process.returncode is None:
            process.terminate()
            process.communicate(timeout=20)
