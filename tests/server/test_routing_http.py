"""Routing, static files and the 404 rules over HTTP: the DESIGN.md table, precedence, traversal."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.routing.test_router import DESIGN_TABLE
from tests.server.conftest import Client, running
from wws.sandbox.engine import Sandbox
from wws.server import create_app


@pytest.fixture
def client(routes_project: Path, sandbox: Sandbox) -> Iterator[Client]:
    app = create_app(routes_project, sandbox=sandbox, kv="memory")
    yield Client(app)
    app.state.project.close()


def answered_by(response_text: str) -> tuple[str, dict[str, str]]:
    route, _, request = response_text.partition("\n")
    return route, json.loads(request)["params"]


@pytest.mark.parametrize(
    ("path", "route", "params"),
    [
        *((path, route, params) for path, route, params in DESIGN_TABLE if route is not None),
        ("/", "/", {}),
        ("/fixed/", "/fixed", {}),
        ("/sub/any/", "/sub/[id]", {"id": "any"}),
    ],
)
def test_routing_table_of_design_over_http(client: Client, path: str, route: str, params: dict[str, str]) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert answered_by(response.text) == (route, params)


@pytest.mark.parametrize(
    "path", [*(path for path, route, _ in DESIGN_TABLE if route is None), "/_private/hidden", "/public/style.css"]
)
def test_unmatched_paths_get_the_404_page_with_status_404(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.text == "<h1>nothing here</h1>"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_routes_answer_every_method(client: Client, method: str) -> None:
    response = client.request(method, "/fixed")
    assert response.status_code == 200
    route, _, request = response.text.partition("\n")
    assert (route, json.loads(request)["method"]) == ("/fixed", method)


def test_public_files_win_over_dynamic_and_catch_all_routes(client: Client) -> None:
    assert client.get("/style.css").text == "body { color: red }"
    assert client.get("/style.css").headers["content-type"].startswith("text/css")
    assert client.get("/any").text.startswith("/[id]\n")
    (client.app.state.project.root / "public" / "any").write_text("now a public file")
    assert client.get("/any").text == "now a public file"
    assert client.get("/sub/page.html").text == "public beats the catch-all"


def test_static_routes_win_over_public_files(client: Client) -> None:
    assert client.get("/fixed").text.startswith("/fixed\n")


def test_public_folders_serve_their_index(client: Client) -> None:
    assert client.get("/docs").text == "<h1>docs</h1>"
    assert client.get("/docs/").text == "<h1>docs</h1>"


def test_public_files_answer_only_reads(client: Client) -> None:
    assert client.post("/style.css").text.startswith("/[id]\n")


def test_public_files_support_conditional_requests(client: Client) -> None:
    first = client.get("/style.css")
    again = client.get("/style.css", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304


def test_head_of_a_public_file_has_headers_and_no_body(client: Client) -> None:
    response = client.request("HEAD", "/style.css")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len("body { color: red }"))
    assert response.content == b""


def test_without_a_404_page_unmatched_paths_get_a_plain_404(tmp_path: Path, sandbox: Sandbox) -> None:
    (tmp_path / "public").mkdir()
    app = create_app(tmp_path, sandbox=sandbox, kv="memory")
    response = Client(app).get("/missing")
    assert (response.status_code, response.text) == (404, "Not Found")


@pytest.mark.parametrize(
    "raw_path",
    [
        "/../project/fixed.wasm",
        "/%2e%2e/project/fixed.wasm",
        "/%2E%2E/%2E%2E/etc/passwd",
        "/docs/..%2f..%2ffixed.toml",
        "/%C0AE%C0AE%C0AFx",
        "/%C0%AE%C0%AE/%C0%AFetc/passwd",
        "/..%5c..%5cetc/passwd",
        "//etc/passwd",
        "/%00",
        "/./style.css",
        "/fixed.wasm",
        "/fixed.toml",
        "/index.wasm",
        "/sub/[id].wasm",
    ],
)
def test_traversal_and_source_requests_get_404(routes_project: Path, sandbox: Sandbox, raw_path: str) -> None:
    app = create_app(routes_project, sandbox=sandbox, kv="memory")
    try:
        with running(app) as base:
            connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=10)
            connection.request("GET", raw_path)  # sent as is: no client-side normalisation
            response = connection.getresponse()
            body = response.read()
            connection.close()
    finally:
        app.state.project.close()
    assert response.status == 404
    assert b"\0asm" not in body
    assert b"ROUTE" not in body
