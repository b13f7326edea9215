"""Handlers written as the original Wasm Workers Server's and Cloudflare's docs write them (tests/compat/platforms),
served unchanged by wws: each answers as it does on its own platform."""

from __future__ import annotations

import base64
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.conftest import Client
from wws.sandbox.engine import Sandbox
from wws.server.app import create_app

PLATFORMS = Path(__file__).parent / "platforms"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, sandbox: Sandbox) -> Iterator[Client]:
    project = tmp_path_factory.mktemp("platforms") / "project"
    shutil.copytree(PLATFORMS, project)
    app = create_app(project, sandbox=sandbox, kv="memory")
    yield Client(app)
    app.state.project.close()


def test_javascript_request_cf_holds_what_the_server_knows_and_nothing_made_up(client: Client) -> None:
    answer = client.get("/cloudflare/cf").json()
    assert answer["country"] == "undefined"
    assert answer["cf"] == {"httpProtocol": "HTTP/1.1", "clientAddress": "127.0.0.1"}


def test_python_missing_header_is_none_and_cf_fields_read_as_none(client: Client) -> None:
    assert client.get("/cloudflare/cf_cookie").json() == {
        "cookie": None,
        "session": None,
        "country": None,
        "httpProtocol": "HTTP/1.1",
        "clientAddress": "127.0.0.1",
    }
    with_cookie = client.get("/cloudflare/cf_cookie", headers={"cookie": "id=7"}).json()
    assert (with_cookie["cookie"], with_cookie["session"]) == ("id=7", "id=7")


def test_python_handler_decorator_marks_the_fetch_handler_whatever_its_name(client: Client) -> None:
    response = client.post("/cloudflare/decorated")
    assert (response.status_code, response.text) == (200, "decorated POST")


def test_original_wws_handlers_read_the_request_body_as_a_string(client: Client) -> None:
    answer = client.post("/original/payload", content=b'{"room": "lobby", "n": 2}').json()
    assert answer == {
        "payload": 'Payload: {"room": "lobby", "n": 2}',
        "parsed": {"room": "lobby", "n": 2},
        "stored": '{"room": "lobby", "n": 2}',
        "length": 25,
        "words": 4,
        "upper": '{"ROOM": "LOBBY", "N": 2}',
        "concatenated": '[{"room": "lobby", "n": 2}]',
    }
    plain = client.post("/original/payload", content="héllo there".encode()).json()
    assert (plain["payload"], plain["parsed"]) == ("Payload: héllo there", "not JSON (SyntaxError)")
    assert plain["length"] == 11
    assert client.get("/original/payload").json()["payload"] == "Payload: -"


@pytest.mark.parametrize(
    ("api", "named"),
    [("HTMLRewriter", "HTMLRewriter"), ("WebSocketPair", "WebSocketPair"), ("caches", "The Cache API")],
)
def test_unsupported_cloudflare_apis_fail_with_a_message_naming_them(client: Client, api: str, named: str) -> None:
    response = client.get(f"/cloudflare/unsupported?api={api}")
    assert response.status_code == 501
    assert response.text.startswith(f"TypeError: {named}")
    assert "is not supported by wws" in response.text


def test_nodejs_compat_flag_makes_buffer_a_global(client: Client) -> None:
    response = client.get("/cloudflare/nodejs_compat?name=wws")
    assert (response.status_code, base64.b64decode(response.text)) == (200, b"hello wws")
    assert client.get("/cloudflare/without_flags").json() == {"global": "undefined", "imported": "6869"}


def test_a_node_module_wws_lacks_fails_when_the_worker_loads_naming_it(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        assert client.get("/cloudflare/node_fs").status_code == 500
    assert "the Node.js module 'node:fs' is not available in wws (it offers node:buffer)" in caplog.text
    assert "node_fs.js" in caplog.text


def test_subtle_algorithms_wws_lacks_reject_naming_them(client: Client) -> None:
    response = client.get("/cloudflare/subtle_unsupported")
    assert response.status_code == 501
    assert response.text.startswith("NotSupportedError: importKey with AES-GCM is not supported by wws")
