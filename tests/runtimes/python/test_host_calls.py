"""What a Python worker asks of the host: its KV namespace, outbound fetch through the allow-list, and logs."""

from __future__ import annotations

import json
import logging

import pytest

from tests.runtimes.python.conftest import MakePyWorker, get, get_json

KV_CONFIG = """
[data.kv]
namespace = "people"
"""

ALLOW_LOCAL = '[features.http_requests]\nallowed_hosts = ["127.0.0.1:*"]\nallow_http = true\n'


def test_kv_object_reads_and_writes_the_namespace(py_worker: MakePyWorker) -> None:
    worker = py_worker(
        """
        import json

        def worker(request):
            kv.put("user:1", "ada")
            kv.put("user:2", json.dumps({"name": "grace"}))
            kv.put("other", "x")
            before = kv.get("user:1")
            listed = kv.list("user:")
            kv.delete("user:1")
            return Response(json.dumps({"before": before, "listed": listed, "after": kv.get("user:1"),
                                        "parsed": json.loads(kv.get("user:2"))}))
        """,
        KV_CONFIG,
    )
    assert get_json(worker) == {
        "before": "ada",
        "listed": ["user:1", "user:2"],
        "after": None,
        "parsed": {"name": "grace"},
    }
    assert worker.kv is not None
    assert worker.kv.keys("people", "") == ["other", "user:2"]


def test_kv_binding_in_env_is_awaitable_with_types_and_pages(py_worker: MakePyWorker) -> None:
    worker = py_worker(
        """
        from workers import Response

        async def on_fetch(request, env):
            store = env.KV
            await store.put("user:1", "ada")
            await store.put("user:2", '{"name": "grace"}')
            first = await store.list(prefix="user:", limit=1)
            second = await store.list(prefix="user:", limit=1, cursor=first["cursor"])
            return Response.json({
                "text": await store.get("user:1"),
                "json": await store.get("user:2", type="json"),
                "missing": await store.get("nobody"),
                "pages": [first, second],
            })
        """,
        KV_CONFIG,
    )
    assert get_json(worker) == {
        "text": "ada",
        "json": {"name": "grace"},
        "missing": None,
        "pages": [
            {"keys": [{"name": "user:1"}], "list_complete": False, "cursor": "1"},
            {"keys": [{"name": "user:2"}], "list_complete": True, "cursor": ""},
        ],
    }


def test_kv_without_a_namespace_raises_a_clear_error(py_worker: MakePyWorker) -> None:
    worker = py_worker(
        """
        from workers import HostError

        def worker(request):
            try:
                kv.get("x")
            except HostError as error:
                return Response(str(error), status=409)
        """
    )
    response = get(worker)
    assert response.status == 409
    assert b"no KV namespace" in response.body


FETCH_WORKER = """
    from urllib.parse import parse_qs
    from workers import Response, fetch

    async def on_fetch(request, env):
        target = parse_qs(request.query)["target"][0]
        response = await fetch(target, method="POST", headers={"x-test": "yes"}, body="ping")
        return Response.json({"status": response.status, "ok": response.ok, "body": await response.text(),
                              "type": response.headers.get("content-type"), "url": response.url})
"""


def test_fetch_goes_through_the_host(py_worker: MakePyWorker, origin: str) -> None:
    answer = get_json(py_worker(FETCH_WORKER, ALLOW_LOCAL), f"http://localhost/?target={origin}/echo")
    assert (answer["status"], answer["ok"], answer["type"]) == (200, True, "application/json")
    echoed = json.loads(answer["body"])
    assert (echoed["method"], echoed["body"], echoed["headers"]["x-test"]) == ("POST", "ping", "yes")
    assert answer["url"] == f"{origin}/echo"


def test_fetch_without_await_and_binary_bodies(py_worker: MakePyWorker, origin: str) -> None:
    worker = py_worker(
        """
        from urllib.parse import parse_qs

        def worker(request):
            response = fetch(parse_qs(request.query)["target"][0])
            return Response(response.body_bytes, headers={"content-type": "application/octet-stream"})
        """,
        ALLOW_LOCAL,
    )
    assert get(worker, f"http://localhost/?target={origin}/binary").body == bytes(range(256))


def test_fetch_to_a_host_not_allowed_raises_host_error(py_worker: MakePyWorker, origin: str) -> None:
    worker = py_worker(
        """
        from urllib.parse import parse_qs
        from workers import HostError

        def worker(request):
            try:
                fetch(parse_qs(request.query)["target"][0])
            except HostError as error:
                return Response(str(error), status=502)
            return Response("fetched")
        """,
        '[features.http_requests]\nallowed_hosts = ["api.example.com"]\nallow_http = true\n',
    )
    response = get(worker, f"http://localhost/?target={origin}/hello")
    assert response.status == 502
    assert b"allowed_hosts" in response.body
    assert b"127.0.0.1" in response.body


def test_print_and_logging_go_to_the_worker_log(py_worker: MakePyWorker, caplog: pytest.LogCaptureFixture) -> None:
    worker = py_worker(
        """
        import logging
        import sys

        def worker(request):
            print("plain", 1, {"a": [1, "x"]})
            print("no newline yet", end="")
            logging.getLogger("app").warning("careful %s=%d", "n", 42)
            logging.debug("details")
            print("to stderr", file=sys.stderr)
            return Response("logged")
        """,
        name="logger.py",
    )
    with caplog.at_level(logging.DEBUG, logger="wws.guest"):
        assert get(worker, request_id="req-42").body == b"logged"
    records = [(record.levelno, record.getMessage()) for record in caplog.records if record.name == "wws.guest"]
    assert (logging.INFO, "logger.py [req-42] plain 1 {'a': [1, 'x']}") in records
    assert (logging.INFO, "logger.py [req-42] no newline yet") in records
    assert (logging.WARNING, "logger.py [req-42] app: careful n=42") in records
    assert (logging.ERROR, "logger.py [req-42] to stderr") in records
    assert not any("details" in message for _, message in records)  # the root logger is at INFO, as by default


def test_log_output_is_capped_per_request(py_worker: MakePyWorker, caplog: pytest.LogCaptureFixture) -> None:
    worker = py_worker(
        """
        def worker(request):
            for index in range(2000):
                print("line", index)
            return Response("done")
        """,
        "[limits]\nmax_log_bytes = 2000\n",
    )
    with caplog.at_level(logging.INFO, logger="wws.guest"):
        assert get(worker).body == b"done"
    texts = [record.getMessage().split("] ", 1)[1] for record in caplog.records if record.name == "wws.guest"]
    notes = [text for text in texts if "over max_log_bytes (2000 bytes)" in text]
    assert len(notes) == 1
    kept = sum(len(text) for text in texts if text not in notes)
    assert 2000 - len("line 1999") < kept <= 2000  # whole lines, as many as the 2000 bytes hold
