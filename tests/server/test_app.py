"""The ASGI app: routes to workers, passes params, maps worker failures to clean HTTP errors."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from wws.sandbox.engine import Sandbox
from wws.server import create_app


class Client:
    """A synchronous face on httpx's ASGI transport (the app runs in-process, its workers in the thread pool)."""

    def __init__(self, app: object):
        self.app = app

    def request(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as session:
                return await session.request(method, url, **kwargs)  # type: ignore[arg-type]

        return asyncio.run(send())

    def get(self, url: str, **kwargs: object) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: object) -> httpx.Response:
        return self.request("POST", url, **kwargs)


@pytest.fixture
def client(tmp_path: Path, native_modules: dict[str, Path], sandbox: Sandbox) -> Iterator[Client]:
    layout = {"echo": "api/[id].wasm", "fail_exit": "broken.wasm", "loop": "slow.wasm", "counter": "index.wasm"}
    for module, name in layout.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(native_modules[module], tmp_path / name)
    (tmp_path / "slow.toml").write_text("[limits]\ntimeout_ms = 100\n")
    (tmp_path / "bad.wasm").write_bytes(b"")
    (tmp_path / "bad.toml").write_text("isolation = 3\n")
    app = create_app(tmp_path, sandbox=sandbox)
    yield Client(app)
    app.state.project.close()


def test_app_serves_a_worker_with_its_params_and_full_url(client: Client) -> None:
    response = client.post("/api/7?x=1", content=b"hi", headers={"X-Test": "yes"})
    assert response.status_code == 201
    received = json.loads(response.content)
    assert received["params"] == {"id": "7"}
    assert received["url"] == "http://testserver/api/7?x=1"
    assert received["headers"]["x-test"] == "yes"
    assert received["body"] == "hi"
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]


def test_app_maps_failures_to_http_errors_without_host_details(client: Client, tmp_path: Path) -> None:
    broken = client.get("/broken")
    assert broken.status_code == 500
    assert str(tmp_path) not in broken.text
    assert "database" not in broken.text
    assert client.get("/slow").status_code == 504
    assert client.get("/").text == "1"
    assert client.get("/nothing/here").status_code == 404


def test_app_does_not_serve_a_worker_whose_config_is_malformed(client: Client) -> None:
    assert client.get("/bad").status_code == 404
    assert client.get("/").status_code == 200
