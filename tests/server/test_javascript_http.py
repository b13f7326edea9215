"""JavaScript workers behind the HTTP server: a broken worker stops only itself, and what a worker answers reaches
the client intact (binary bodies, several cookies, HEAD)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.conftest import Client
from wws.sandbox.engine import Sandbox
from wws.server import create_app

WORKERS = {
    "ok.js": "export default { fetch: (request) => new Response(`ok ${request.method}`) };",
    "broken.js": "export default {\n  fetch(request) {\n    return new Response('x';\n  },\n};\n",
    "throws.js": 'export default { fetch() { throw new RangeError("out of range on purpose"); } };',
    "api/[id].js": """export default {
      async fetch(request) {
        const body = new Uint8Array(await request.arrayBuffer());
        const headers = new Headers({ "content-type": "application/octet-stream", "x-id": request.params.id });
        headers.append("set-cookie", "a=1; Path=/");
        headers.append("set-cookie", "b=2; HttpOnly");
        return new Response(body.map((byte) => 255 - byte), { status: 201, headers });
      },
    };""",
}


@pytest.fixture
def client(tmp_path: Path, sandbox: Sandbox) -> Iterator[Client]:
    for name, source in WORKERS.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(source)
    app = create_app(tmp_path, sandbox=sandbox, kv="memory")
    yield Client(app)
    app.state.project.close()


def test_a_syntax_error_stops_only_its_worker(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        broken = client.get("/broken")
    assert broken.status_code == 500
    assert "broken.js" not in broken.text
    assert any("broken.js" in r.getMessage() and "SyntaxError" in r.getMessage() for r in caplog.records)
    assert any("broken.js:3" in r.getMessage() for r in caplog.records)
    assert client.get("/ok").text == "ok GET"


def test_an_exception_is_a_500_and_the_log_has_the_stack(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        response = client.get("/throws")
    assert response.status_code == 500
    assert "out of range" not in response.text
    message = "\n".join(record.getMessage() for record in caplog.records)
    assert "RangeError: out of range on purpose" in message
    assert "throws.js:1" in message
    assert client.post("/ok").text == "ok POST"


def test_binary_bodies_cookies_and_params_cross_http_intact(client: Client) -> None:
    response = client.post("/api/9", content=bytes([0, 1, 254, 255]))
    assert response.status_code == 201
    assert response.content == bytes([255, 254, 1, 0])
    assert response.headers["x-id"] == "9"
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; HttpOnly"]


def test_head_gets_the_headers_without_the_body(client: Client) -> None:
    response = client.request("HEAD", "/ok")
    assert (response.status_code, response.content) == (200, b"")
