"""The ASGI app: request/response fidelity, errors to HTTP, CORS, prefix, logs, and a slow worker not blocking."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.datastructures import URL

from tests.server.conftest import Client, add_worker, running
from wws.sandbox.engine import Sandbox
from wws.server import create_app
from wws.server.app import request_url


@pytest.fixture
def project(tmp_path: Path, native_modules: dict[str, Path]) -> Path:
    root = tmp_path / "project"
    add_worker(root, native_modules["echo"], "api/[id].wasm", "[limits]\nmax_body_bytes = 1000\n")
    add_worker(root, native_modules["fail_exit"], "broken.wasm")
    add_worker(root, native_modules["loop"], "slow.wasm", "[limits]\ntimeout_ms = 2000\n")
    add_worker(root, native_modules["counter"], "index.wasm")
    add_worker(root, native_modules["bad_output"], "garbled.wasm")
    add_worker(root, native_modules["printer"], "printer.wasm")
    add_worker(root, native_modules["echo"], "bad.wasm", "isolation = 3\n")
    (root / "empty.wasm").write_bytes(b"")
    return root


@pytest.fixture
def client(project: Path, sandbox: Sandbox) -> Iterator[Client]:
    app = create_app(project, sandbox=sandbox, kv="memory")
    yield Client(app)
    app.state.project.close()


def echoed(response: httpx.Response) -> dict[str, object]:
    assert response.status_code == 201, response.text
    received: dict[str, object] = json.loads(response.content)
    return received


def test_app_passes_full_url_params_method_and_body(client: Client) -> None:
    received = echoed(client.post("/api/7?x=1&y=%20z", content=b"hi"))
    assert received["url"] == "http://testserver/api/7?x=1&y=%20z"
    assert received["params"] == {"id": "7"}
    assert received["method"] == "POST"
    assert received["body"] == "hi"


def test_app_lowercases_headers_and_keeps_repeated_ones(client: Client) -> None:
    received = echoed(client.get("/api/1", headers=[("X-Test", "a"), ("x-test", "b"), ("Cookie", "c=1")]))
    headers = received["headers"]
    assert isinstance(headers, dict)
    assert headers["x-test"] == "a, b"
    assert headers["cookie"] == "c=1"


def test_app_passes_binary_bodies_both_ways(client: Client) -> None:
    body = bytes(range(256))
    received = echoed(client.post("/api/1", content=body))
    assert received["body_base64"] is True
    assert base64.b64decode(str(received["body"])) == body


def test_app_sends_several_set_cookie_headers(client: Client) -> None:
    response = client.get("/api/1")
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert response.headers["x-echo"] == "yes"


def test_app_refuses_bodies_over_the_limit_with_413(client: Client) -> None:
    assert client.post("/api/1", content=b"x" * 1000).status_code == 201
    assert client.post("/api/1", content=b"x" * 1001).status_code == 413

    async def chunks() -> object:  # no content-length: the cap applies while reading
        for _ in range(20):
            yield b"x" * 100

    assert client.post("/api/1", content=chunks()).status_code == 413


def test_app_answers_head_with_headers_and_no_body(client: Client) -> None:
    get = client.get("/")
    head = client.request("HEAD", "/")
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"] == "1"
    assert head.headers["content-type"] == get.headers["content-type"]


@pytest.mark.parametrize(
    ("path", "status", "public_text"),
    [
        ("/broken", 500, "Internal Server Error: the worker failed"),
        ("/garbled", 502, "Bad Gateway"),
        ("/empty", 500, "failed to load"),
    ],
)
def test_app_maps_failures_to_http_errors_without_host_details(
    client: Client, project: Path, path: str, status: int, public_text: str
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert public_text in response.text
    assert "request " in response.text
    assert str(project) not in response.text
    assert "Traceback" not in response.text
    assert client.get("/").status_code == 200  # and the server goes on


def test_app_in_debug_mode_shows_the_cause(project: Path, sandbox: Sandbox) -> None:
    app = create_app(project, sandbox=sandbox, kv="memory", debug=True)
    try:
        response = Client(app).get("/broken")
    finally:
        app.state.project.close()
    assert response.status_code == 500
    assert "broken.wasm" in response.text
    assert "exited with code" in response.text


def test_app_logs_the_failure_with_worker_request_id_and_cause(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = client.get("/broken")
    request_id = response.text.rsplit("request ", 1)[1].rstrip(")")
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert any(request_id in record.getMessage() and "broken.wasm" in record.getMessage() for record in errors)
    assert any("exited with code" in record.getMessage() for record in errors)


def test_app_writes_one_access_line_per_request(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="wws.access"):
        client.get("/api/5")
        client.get("/nowhere/at/all")
    lines = [record for record in caplog.records if record.name == "wws.access"]
    assert len(lines) == 2
    first, second = lines
    assert (first.method, first.path, first.status, first.worker) == ("GET", "/api/5", 201, "api/[id].wasm")  # type: ignore[attr-defined]
    assert (second.status, second.worker) == (404, None)  # type: ignore[attr-defined]
    assert len(first.request_id) == 12  # type: ignore[attr-defined]
    assert first.request_id in first.getMessage()  # type: ignore[attr-defined]


def test_app_attributes_guest_output_to_the_worker_and_request(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        client.post("/printer", content=b"stderr")
    access = next(record for record in caplog.records if record.name == "wws.access")
    guest = [record for record in caplog.records if record.name == "wws.guest"]
    assert guest
    assert all(record.worker == "printer.wasm" for record in guest)  # type: ignore[attr-defined]
    assert all(record.request_id == access.request_id for record in guest)  # type: ignore[attr-defined]


def test_app_does_not_serve_a_worker_whose_config_is_malformed(
    project: Path, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        app = create_app(project, sandbox=sandbox, kv="memory")
    client = Client(app)
    try:
        assert client.get("/bad").status_code == 404
        assert client.get("/").status_code == 200
    finally:
        app.state.project.close()
    message = next(record.getMessage() for record in caplog.records if "bad.toml" in record.getMessage())
    assert "bad.toml:1" in message
    assert "isolation" in message


def test_app_serves_everything_under_a_prefix(project: Path, sandbox: Sandbox) -> None:
    (project / "public").mkdir()
    (project / "public" / "site.txt").write_text("static")
    app = create_app(project, sandbox=sandbox, kv="memory", prefix="/edge/")
    client = Client(app)
    try:
        assert echoed(client.get("/edge/api/3"))["params"] == {"id": "3"}
        assert client.get("/edge").text == "1"
        assert client.get("/edge/site.txt").text == "static"
        assert client.get("/api/3").status_code == 404
        assert client.get("/edgeless/api/3").status_code == 404
    finally:
        app.state.project.close()


def test_app_answers_cors_preflight_and_adds_the_headers(project: Path, sandbox: Sandbox) -> None:
    app = create_app(project, sandbox=sandbox, kv="memory", cors=["https://app.example"])
    client = Client(app)
    try:
        preflight = client.request(
            "OPTIONS",
            "/api/1",
            headers={"origin": "https://app.example", "access-control-request-method": "PUT"},
        )
        simple = client.get("/api/1", headers={"origin": "https://app.example"})
        other = client.get("/api/1", headers={"origin": "https://evil.example"})
    finally:
        app.state.project.close()
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert "PUT" in preflight.headers["access-control-allow-methods"]
    assert simple.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in other.headers


def test_app_without_cors_sends_no_cors_headers(client: Client) -> None:
    response = client.get("/api/1", headers={"origin": "https://app.example"})
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.slow
def test_a_worker_in_an_infinite_loop_does_not_block_the_others(project: Path, sandbox: Sandbox) -> None:
    app = create_app(project, sandbox=sandbox, kv="memory")
    try:
        with running(app) as base:
            slow_status: list[int] = []

            def call_slow() -> None:
                slow_status.append(httpx.get(f"{base}/slow", timeout=30).status_code)

            slow = threading.Thread(target=call_slow)
            slow.start()
            time.sleep(0.2)  # the loop is running now
            started = time.monotonic()
            fast = httpx.get(f"{base}/api/9", timeout=30)
            fast_seconds = time.monotonic() - started
            slow.join(30)
    finally:
        app.state.project.close()
    assert fast.status_code == 201
    assert slow_status == [504]
    assert fast_seconds < 1.5  # well under the slow worker's 2 s deadline: it did not wait for it


def test_app_does_not_run_a_worker_on_half_a_body(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    messages = [
        {"type": "http.request", "body": b"half", "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return messages.pop(0)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/api/1", "raw_path": b"/api/1", "query_string": b"", "root_path": "",
        "headers": [(b"host", b"testserver")], "server": ("testserver", 80), "client": ("127.0.0.1", 1),
    }  # fmt: skip
    with caplog.at_level(logging.INFO, logger="wws.access"):
        asyncio.run(client.app(scope, receive, send))  # type: ignore[arg-type]
    assert sent[0]["status"] == 499
    access = next(record for record in caplog.records if record.name == "wws.access")
    assert access.status == 499  # type: ignore[attr-defined]


def test_app_answers_404_to_a_path_too_long_for_the_file_system(client: Client) -> None:
    assert client.get("/" + "a" * 300 + ".wasm").status_code == 404
    assert client.get("/" + "a" * 5000).status_code == 404


@pytest.mark.parametrize(
    ("host", "server", "path", "query"),
    [
        (b"example.com:8080", ("127.0.0.1", 8080), "/api/7", b""),
        (b"example.com", ("127.0.0.1", 80), "/a b/ü", b"x=1&y=%20"),
        (None, ("::1", 8080), "/api/7", b"q"),
        (None, ("127.0.0.1", 80), "//twice", b""),
        (b"bad host:port:9", ("127.0.0.1", 8080), "/p?x#y", b""),
    ],
)
def test_the_request_url_is_what_starlette_writes_also_when_remembered(
    host: bytes | None, server: tuple[str, int], path: str, query: bytes
) -> None:
    headers = [(b"host", host)] if host is not None else []
    scope = {"type": "http", "scheme": "http", "server": server, "path": path, "query_string": query}
    expected = str(URL(scope={**scope, "headers": headers}))
    for _ in range(2):  # computed, then remembered
        assert request_url({**scope, "headers": [(b"user-agent", b"t"), *headers]}) == expected
    other = [(b"host", b"other.example")]
    assert request_url({**scope, "headers": other}) == str(URL(scope={**scope, "headers": other}))
