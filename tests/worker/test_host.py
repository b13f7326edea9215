"""The host API as a guest sees it: one native worker passes JSON host calls through `wws.host_call`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from typing import Any

import pytest

from tests.conftest import MakeWorker
from wws.messages import WorkerRequest
from wws.worker.worker import Worker

HOST_CONFIG = """
[vars]
GREETING = "hi"
[data.kv]
namespace = "host-tests"
[features.http_requests]
allowed_hosts = ["127.0.0.1:*"]
allowed_methods = ["GET", "POST"]
allow_http = true
"""


def call(worker: Worker, message: object) -> Any:
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    response = worker.handle(WorkerRequest("http://localhost/", "POST", body=body, request_id="req-1"))
    assert response.status == 200, response.body
    return json.loads(response.body)


@pytest.fixture
def worker(make_worker: MakeWorker) -> Worker:
    return make_worker("hostcall", HOST_CONFIG)


def test_host_kv_calls(worker: Worker) -> None:
    assert call(worker, {"op": "kv.get", "key": "a"}) == {"ok": True, "value": None}
    assert call(worker, {"op": "kv.put", "key": "a", "value": "1"}) == {"ok": True, "value": None}
    assert call(worker, {"op": "kv.get", "key": "a"}) == {"ok": True, "value": "1"}
    assert call(worker, {"op": "kv.list", "prefix": ""}) == {"ok": True, "value": ["a"]}
    call(worker, {"op": "kv.delete", "key": "a"})
    assert call(worker, {"op": "kv.get", "key": "a"})["value"] is None


def test_host_config_get_reads_the_worker_vars(worker: Worker) -> None:
    assert call(worker, {"op": "config.get", "name": "GREETING"}) == {"ok": True, "value": "hi"}
    assert call(worker, {"op": "config.get", "name": "HOME"}) == {"ok": True, "value": None}


def test_host_log_is_attributed_to_worker_and_request(worker: Worker, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="wws.guest"):
        call(worker, {"op": "log", "level": "warn", "message": "disk almost full"})
    record = next(record for record in caplog.records if "disk almost full" in record.getMessage())
    assert record.levelno == logging.WARNING
    assert (record.worker, record.request_id) == ("hostcall.wasm", "req-1")  # type: ignore[attr-defined]


def test_host_fetch_reaches_an_allowed_origin(worker: Worker, origin: str) -> None:
    answer = call(worker, {"op": "http.fetch", "url": f"{origin}/hello"})
    assert answer["ok"] is True
    assert (answer["value"]["status"], answer["value"]["body"]) == (200, "hello from the origin")
    assert ["x-origin", "yes"] in answer["value"]["headers"]


def test_host_fetch_sends_and_receives_binary_bodies(worker: Worker, origin: str) -> None:
    payload = base64.b64encode(b"\xff\x00 body").decode()
    echo = call(worker, {"op": "http.fetch", "url": f"{origin}/echo", "method": "POST", "body": payload,
                         "body_base64": True, "headers": [["x-one", "1"]]})  # fmt: skip
    sent = json.loads(echo["value"]["body"])
    assert (sent["body"].encode("latin-1"), sent["headers"]["x-one"]) == (b"\xff\x00 body", "1")
    binary = call(worker, {"op": "http.fetch", "url": f"{origin}/binary"})["value"]
    assert binary["body_base64"] is True
    assert base64.b64decode(binary["body"]) == bytes(range(256))


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ({"op": "http.fetch", "url": "http://example.com/"}, "example.com is not in allowed_hosts"),
        ({"op": "http.fetch", "url": "http://127.0.0.1:1/", "method": "DELETE"}, "DELETE is not an allowed method"),
        ({"op": "nope"}, "unknown host call 'nope'"),
        ({"op": "crypto.digest", "algorithm": "SHA-3", "data": ""}, "unsupported hash 'SHA-3'"),
        ({"op": "crypto.hmac", "hash": "SHA-256", "key": "%%", "data": ""}, "'key' is not valid base64"),
        ({"op": "kv.get"}, "'key' must be a string"),
        (b"not json", "must be JSON"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_host_refusals_reach_the_guest_as_errors(worker: Worker, message: object, error: str) -> None:
    answer = call(worker, message)
    assert answer["ok"] is False
    assert error in answer["error"]


def test_host_crypto_calls_hash_and_sign_with_the_standard_library(worker: Worker) -> None:
    data = "hash me ✓".encode()
    encoded = base64.b64encode(data).decode()
    digest = call(worker, {"op": "crypto.digest", "algorithm": "sha-384", "data": encoded})["value"]
    assert base64.b64decode(digest) == hashlib.sha384(data).digest()
    mac = call(worker, {"op": "crypto.hmac", "hash": "SHA-1", "key": base64.b64encode(b"k").decode(), "data": encoded})
    assert base64.b64decode(mac["value"]) == hmac.digest(b"k", data, "sha1")


def test_host_kv_without_a_namespace_is_an_error_for_the_guest(make_worker: MakeWorker) -> None:
    worker = make_worker("hostcall")
    answer = call(worker, {"op": "kv.get", "key": "a"})
    assert answer["ok"] is False
    assert "no KV namespace" in answer["error"]


def test_host_imports_refuse_pointers_outside_guest_memory(make_worker: MakeWorker) -> None:
    worker = make_worker("hostcall_wild")
    assert worker.handle(WorkerRequest("http://localhost/")).body == b"refused"
