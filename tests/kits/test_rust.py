"""The Rust kit (kits/rust): its examples, built with Debian's Rust for wasm32-wasi, served through wws."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import cargo_build
from tests.server.conftest import Client, add_worker
from wws.sandbox.engine import Sandbox
from wws.server import create_app

KIT = Path(__file__).parent.parent.parent / "kits" / "rust"
EXAMPLES = {  # kit example → where it is served, and its config
    "hello": ("hello.wasm", None),
    "echo": ("echo/[id].wasm", '[vars]\nGREETING = "hi"\n'),
    "kv": ("kv/[key].wasm", '[data.kv]\nnamespace = "rust"\n'),
    "fetch": ("fetch.wasm", '[features.http_requests]\nallowed_hosts = ["127.0.0.1:*"]\nallow_http = true\n'),
    "shapes": ("shapes/[...shape].wasm", None),
    "warm": ("warm.wasm", 'isolation = "instance"\n'),
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, cargo_target: Path, sandbox: Sandbox) -> Client:
    built = cargo_build(KIT, cargo_target, "--examples") / "examples"
    root = tmp_path_factory.mktemp("rust-kit")
    for example, (route_file, config) in EXAMPLES.items():
        add_worker(root, built / f"{example}.wasm", route_file, config)
    return Client(create_app(root, sandbox=sandbox, kv="memory", watch=False))


def test_hello_reads_the_query(client: Client) -> None:
    answer = client.get("/hello?name=R%C3%BCst+kit")
    assert (answer.status_code, answer.text) == (200, "Hello, Rüst kit!")
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert client.get("/hello").text == "Hello, world!"


def test_the_request_carries_method_url_headers_params_body_and_vars(client: Client) -> None:
    answer = client.post("/echo/42?q=a%26b&x=1", json={"n": [1, 2]}, headers={"x-agent": "tester"})
    assert answer.json() == {
        "method": "POST",
        "url": "http://testserver/echo/42?q=a%26b&x=1",
        "path": "/echo/42",
        "query": "q=a%26b&x=1",
        "q": "a&b",
        "agent": "tester",
        "params": {"id": "42"},
        "body": {"n": [1, 2]},
        "var": "hi",
    }
    assert client.request("PUT", "/echo/7", content="plain text").json()["body"] == "plain text"
    assert client.post("/echo/7", content=b"\xff\x00\xfe").json()["body"] == {"bytes": 3}


def test_kv_put_get_list_delete(client: Client) -> None:
    assert client.get("/kv/color").status_code == 404
    assert client.request("PUT", "/kv/color", content="blue").status_code == 201
    assert client.request("PUT", "/kv/size", content="L").status_code == 201
    assert client.get("/kv/color").text == "blue"
    assert client.get("/kv/any?prefix=").json() == ["color", "size"]
    assert client.get("/kv/any?prefix=s").json() == ["size"]
    assert client.request("DELETE", "/kv/color").status_code == 204
    assert client.get("/kv/color").status_code == 404
    assert client.get("/kv/any?prefix=").json() == ["size"]


def test_fetch_goes_through_the_host_and_its_allow_list(client: Client, origin: str) -> None:
    answer = client.post(f"/fetch?url={origin}/echo", content="ping")
    assert answer.status_code == 200
    echoed = answer.json()
    assert (echoed["status"], echoed["type"]) == (200, "application/json")
    sent = json.loads(echoed["body"])
    assert (sent["method"], sent["body"], sent["headers"]["x-from"]) == ("POST", "ping", "rust")
    refused = client.get("/fetch?url=http://example.com/")
    assert refused.status_code == 502
    assert "example.com" in refused.text


def test_status_headers_and_binary_bodies(client: Client) -> None:
    created = client.get("/shapes/created")
    assert (created.status_code, created.text, created.headers["location"]) == (201, "created", "/items/7")
    assert created.headers.get_list("set-cookie") == ["a=1", "b=2"]
    binary = client.get("/shapes/binary")
    assert binary.headers["content-type"] == "image/png"
    assert binary.content == b"\x89PNG\r\n\x1a\n\x00\xff\x80"


def test_logs_reach_the_operator(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="wws.guest"):
        assert client.get("/shapes/log").text == "logged"
    lines = {(record.levelname, record.getMessage()) for record in caplog.records if record.name == "wws.guest"}
    assert any(level == "WARNING" and "a warning from Rust" in message for level, message in lines)
    assert any("a line on stderr" in message for _level, message in lines)


@pytest.mark.parametrize(("shape", "cause"), [("error", "the handler gave up"), ("panic", "the handler panicked")])
def test_errors_and_panics_are_500s_that_name_the_cause(
    client: Client, caplog: pytest.LogCaptureFixture, shape: str, cause: str
) -> None:
    with caplog.at_level("INFO"):
        answer = client.get(f"/shapes/{shape}")
    assert answer.status_code == 500
    assert cause not in answer.text  # the client sees no internals
    messages = [record.getMessage() for record in caplog.records]
    assert any(cause in message and "shapes/[...shape].wasm" in message for message in messages)
    assert client.get("/shapes/created").status_code == 201


def test_a_reactor_is_kept_warm(client: Client) -> None:
    counts = [int(client.get("/warm").text) for _ in range(3)]
    assert counts == [counts[0], counts[0] + 1, counts[0] + 2]
