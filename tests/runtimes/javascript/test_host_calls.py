"""What a JavaScript worker asks of the host: its KV namespace, outbound fetch through the allow-list, and logs."""

from __future__ import annotations

import json
import logging

import pytest

from tests.runtimes.javascript.conftest import MakeJsWorker, get, get_json

KV_WORKER = """
export default {
  async fetch(request, env) {
    const kv = env.KV;
    await kv.put("user:1", "ada");
    await kv.put("user:2", JSON.stringify({ name: "grace" }));
    await kv.put("other", "x");
    const before = await kv.get("user:1");
    const parsed = await kv.get("user:2", { type: "json" });
    const listed = await kv.list({ prefix: "user:" });
    const paged = await kv.list({ prefix: "user:", limit: 1 });
    const next = await kv.list({ prefix: "user:", limit: 1, cursor: paged.cursor });
    await kv.delete("user:1");
    return Response.json({ before, parsed, after: await kv.get("user:1"), listed, paged, next,
                           meta: await kv.getWithMetadata("other") });
  },
};
"""


def test_kv_binding_reads_and_writes_the_namespace(js_worker: MakeJsWorker) -> None:
    worker = js_worker(KV_WORKER, '[data.kv]\nnamespace = "people"\n')
    answer = get_json(worker)
    assert answer["before"] == "ada"
    assert answer["parsed"] == {"name": "grace"}
    assert answer["after"] is None
    assert answer["listed"] == {"keys": [{"name": "user:1"}, {"name": "user:2"}], "list_complete": True, "cursor": ""}
    assert answer["paged"] == {"keys": [{"name": "user:1"}], "list_complete": False, "cursor": "1"}
    assert answer["next"] == {"keys": [{"name": "user:2"}], "list_complete": True, "cursor": ""}
    assert answer["meta"] == {"value": "x", "metadata": None}
    assert worker.kv is not None
    assert worker.kv.items("people") == {"user:2": '{"name":"grace"}', "other": "x"}


def test_kv_binding_is_absent_without_a_namespace(js_worker: MakeJsWorker) -> None:
    worker = js_worker('export default { fetch: (r, env) => new Response(String("KV" in env)) };')
    assert get(worker).body == b"false"


def test_cache_of_the_original_wws_persists_between_requests(js_worker: MakeJsWorker) -> None:
    worker = js_worker(
        """export default { fetch() {
          const hits = Number(Cache.get("hits") ?? 0) + 1;
          Cache.set("hits", String(hits));
          if (hits === 2) Cache.delete("gone");
          return new Response(String(hits));
        } };""",
        '[data.kv]\nnamespace = "cache"\n',
    )
    assert worker.kv is not None
    worker.kv.put("cache", "gone", "soon")
    assert [get(worker).body for _ in range(3)] == [b"1", b"2", b"3"]
    assert worker.kv.items("cache") == {"hits": "3"}


FETCH_WORKER = """
export default {
  async fetch(request) {
    const target = new URL(request.url).searchParams.get("target");
    try {
      const response = await fetch(target, { method: "POST", headers: { "x-test": "yes" }, body: "ping" });
      return Response.json({ status: response.status, ok: response.ok, body: await response.text(),
                             type: response.headers.get("content-type"), url: response.url,
                             redirected: response.redirected });
    } catch (error) {
      return Response.json({ error: error.name, message: error.message }, { status: 502 });
    }
  },
};
"""
ALLOW_LOCAL = '[features.http_requests]\nallowed_hosts = ["127.0.0.1:*"]\nallow_http = true\n'


def test_fetch_goes_through_the_host(js_worker: MakeJsWorker, origin: str) -> None:
    worker = js_worker(FETCH_WORKER, ALLOW_LOCAL)
    answer = get_json(worker, f"http://localhost/?target={origin}/echo")
    assert answer["status"] == 200
    assert answer["ok"] is True
    assert "POST" in answer["body"]
    assert "ping" in answer["body"]
    assert answer["url"] == f"{origin}/echo"
    assert answer["redirected"] is False


def test_fetch_binary_body(js_worker: MakeJsWorker, origin: str) -> None:
    worker = js_worker(
        """export default { async fetch(request) {
          const response = await fetch(new URL(request.url).searchParams.get("target"));
          return new Response(await response.arrayBuffer(), { headers: { "content-type": "application/octet-stream" } });
        } };""",
        ALLOW_LOCAL,
    )
    response = get(worker, f"http://localhost/?target={origin}/binary")
    assert response.status == 200
    assert response.body == bytes(range(256))


def test_fetch_to_a_host_not_allowed_rejects_with_a_type_error(js_worker: MakeJsWorker, origin: str) -> None:
    worker = js_worker(
        FETCH_WORKER, '[features.http_requests]\nallowed_hosts = ["api.example.com"]\nallow_http = true\n'
    )
    response = get(worker, f"http://localhost/?target={origin}/hello")
    assert response.status == 502
    answer = json.loads(response.body)
    assert answer["error"] == "TypeError"
    assert answer["message"].startswith("fetch failed: 127.0.0.1")
    assert "allowed_hosts" in answer["message"]


def test_console_writes_to_the_worker_log_with_levels(
    js_worker: MakeJsWorker, caplog: pytest.LogCaptureFixture
) -> None:
    worker = js_worker(
        """export default { fetch() {
          console.log("plain", 1, { a: [1, "x"] });
          console.warn("careful %s=%d", "n", 42);
          console.error(new Error("bad thing"));
          console.debug("details");
          return new Response("logged");
        } };""",
        name="logger.js",
    )
    with caplog.at_level(logging.DEBUG, logger="wws.guest"):
        assert get(worker, request_id="req-42").body == b"logged"
    records = [(record.levelno, record.getMessage()) for record in caplog.records if record.name == "wws.guest"]
    assert (logging.INFO, 'logger.js [req-42] plain 1 { a: [ 1, "x" ] }') in records
    assert (logging.WARNING, "logger.js [req-42] careful n=42") in records
    assert any(
        level == logging.ERROR and "Error: bad thing" in message and "logger.js" in message
        for level, message in records
    )
    assert (logging.DEBUG, "logger.js [req-42] details") in records
