"""Both ways of writing a Workers handler, the original wws style, `env`, `ctx.waitUntil`, and isolation."""

from __future__ import annotations

import ctypes
import json

import pytest

from tests.runtimes.javascript.conftest import MakeJsWorker, get, get_json
from wws.messages import WorkerRequest
from wws.runtimes.javascript import JavaScriptProgram

MODULE_STYLE = """
export default {
  async fetch(request, env, ctx) {
    return Response.json({ style: "module", message: env.MESSAGE, keys: Object.keys(env).sort(),
                           hasWaitUntil: typeof ctx.waitUntil });
  },
};
"""

SERVICE_WORKER_STYLE = """
addEventListener("fetch", (event) => {
  event.respondWith(handle(event.request));
});
async function handle(request) {
  return new Response(`service worker ${request.method} ${new URL(request.url).pathname} ${MESSAGE}`);
}
"""

ORIGINAL_WWS_STYLE = """
const reply = (request) => {
  const count = Number(Cache.get("count") || 0) + 1;
  Cache.set("count", String(count));
  return new Response(`id=${request.params.id} count=${count}`, { headers: { "x-generated-by": "wasm-workers-server" } });
};
addEventListener("fetch", (event) => {
  return event.respondWith(reply(event.request));
});
"""

VARS = '[vars]\nMESSAGE = "hello from vars"\n'


def test_module_style_gets_env_and_ctx(js_worker: MakeJsWorker) -> None:
    worker = js_worker(MODULE_STYLE, VARS + '[data.kv]\nnamespace = "ns"\nbinding = "STORE"\n')
    assert get_json(worker) == {
        "style": "module",
        "message": "hello from vars",
        "keys": ["MESSAGE", "STORE"],
        "hasWaitUntil": "function",
    }


def test_service_worker_style_sees_vars_as_globals(js_worker: MakeJsWorker) -> None:
    worker = js_worker(SERVICE_WORKER_STYLE, VARS)
    response = get(worker, "http://localhost/some/path", method="PUT")
    assert (response.status, response.body) == (200, b"service worker PUT /some/path hello from vars")


def test_original_wws_worker_runs_unchanged(js_worker: MakeJsWorker) -> None:
    worker = js_worker(ORIGINAL_WWS_STYLE, '[data.kv]\nnamespace = "original"\n', name="api/[id].js")
    bodies = [get(worker, "http://localhost/api/7", params=(("id", "7"),)).body for _ in range(3)]
    assert bodies == [b"id=7 count=1", b"id=7 count=2", b"id=7 count=3"]
    assert dict(get(worker, params=(("id", "1"),)).headers)["x-generated-by"] == "wasm-workers-server"


def test_env_holds_only_declared_vars(js_worker: MakeJsWorker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WWS_TEST_SECRET", "s3cret")
    worker = js_worker(
        "export default { fetch: (r, env) => Response.json(env) };",
        '[vars]\nTOKEN = "${WWS_TEST_SECRET}"\n',
    )
    assert get_json(worker) == {"TOKEN": "s3cret"}


def test_wait_until_work_finishes_before_the_instance_goes(js_worker: MakeJsWorker) -> None:
    worker = js_worker(
        """let done = [];
        export default {
          async fetch(request, env, ctx) {
            ctx.waitUntil(new Promise((resolve) => setTimeout(() => { Cache.set("later", "yes"); resolve(); }, 5)));
            ctx.waitUntil(Promise.reject(new Error("ignored")));
            return new Response("now");
          },
        };""",
        '[data.kv]\nnamespace = "wait"\n',
    )
    response = get(worker)
    assert response.body == b"now"
    assert worker.kv is not None
    assert worker.kv.get("wait", "later") == "yes"


def test_a_worker_without_a_fetch_handler_does_not_load(js_worker: MakeJsWorker) -> None:
    worker = js_worker("export const nothing = 1;")
    with pytest.raises(Exception, match="no fetch handler"):
        get(worker)


COUNTER = """
let count = 0;
const started = Math.random();
export default {
  async fetch() {
    count += 1;
    return Response.json({ count, random: Math.random(), uuid: crypto.randomUUID(), started });
  },
};
"""


def test_request_isolation_gives_every_request_a_fresh_global_state(js_worker: MakeJsWorker) -> None:
    worker = js_worker(COUNTER)
    answers = [get_json(worker) for _ in range(6)]
    assert [answer["count"] for answer in answers] == [1] * 6
    assert len({answer["random"] for answer in answers}) == 6, "Math.random must be reseeded in every request"
    assert len({answer["uuid"] for answer in answers}) == 6


def test_instance_isolation_keeps_globals_between_requests(js_worker: MakeJsWorker) -> None:
    worker = js_worker(COUNTER, 'isolation = "instance"\n')
    answers = [get_json(worker) for _ in range(4)]
    assert [answer["count"] for answer in answers] == [1, 2, 3, 4]
    assert len({answer["random"] for answer in answers}) == 4


def test_concurrent_requests_in_request_isolation_never_share_state(js_worker: MakeJsWorker) -> None:
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    worker = js_worker(COUNTER)
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda _: json.loads(worker.handle(WorkerRequest("http://localhost/")).body), range(40))
        )
    assert {answer["count"] for answer in answers} == {1}


def test_a_burst_of_concurrent_requests_leaves_instances_for_the_next_burst(
    js_worker: MakeJsWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    from wws.runtimes import javascript  # noqa: PLC0415

    created = []
    original_init = javascript.JavaScriptInstance.__init__

    def counting_init(self: javascript.JavaScriptInstance, program: javascript.JavaScriptProgram) -> None:
        created.append(self)
        original_init(self, program)

    monkeypatch.setattr(javascript.JavaScriptInstance, "__init__", counting_init)
    worker = js_worker(
        """export default { async fetch() {
          const until = Date.now() + 30;
          while (Date.now() < until) {}
          return new Response("done");
        } };"""
    )

    def burst() -> list[bytes]:
        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(lambda _: worker.handle(WorkerRequest("http://localhost/")).body, range(8)))

    assert burst() == [b"done"] * 8
    first = len(created)
    assert first > 2, "the requests of a burst overlap, each on its own instance"
    assert burst() == [b"done"] * 8
    assert len(created) == first, "the second burst runs on the instances the first one left"


def test_state_never_survives_a_request_that_grew_memory_or_failed(js_worker: MakeJsWorker) -> None:
    worker = js_worker(
        """let count = 0;
        let hoard = null;
        export default { async fetch(request) {
          count += 1;
          if (request.url.endsWith("/grow")) hoard = new Uint8Array(32 * 1024 * 1024).fill(1);
          if (request.url.endsWith("/fail")) throw new Error("failed after counting");
          return Response.json({ count, hoard: hoard === null ? 0 : hoard.length });
        } };"""
    )
    assert get_json(worker, "http://localhost/grow") == {"count": 1, "hoard": 32 * 1024 * 1024}
    assert get_json(worker) == {"count": 1, "hoard": 0}
    with pytest.raises(Exception, match="failed after counting"):
        get(worker, "http://localhost/fail")
    assert [get_json(worker) for _ in range(3)] == [{"count": 1, "hoard": 0}] * 3


DEEP = """
function dive(depth) {
  return depth === 0 ? 0 : 1 + dive(depth - 1);
}
export default {
  async fetch() {
    return new Response(String(dive(400)) + "x".repeat(50000));
  },
};
"""


def test_new_and_recycled_instances_are_the_image_byte_for_byte_stack_included(js_worker: MakeJsWorker) -> None:
    """The image is its stack (zeros, not kept) and the rest; a recycled instance's stack pages were dropped, a new
    one's never written."""
    worker = js_worker(DEEP)
    worker.load()
    program = worker._program
    assert isinstance(program, JavaScriptProgram)
    image = program._image.read()
    assert len(image) == program.image_size
    new = program.new_instance()
    try:
        assert ctypes.string_at(new.base, program.image_size) == image
    finally:
        new.drop()
    assert get(worker).body.startswith(b"400x")  # a deep stack and a large answer dirty both ends of memory
    [recycled] = program._recycled
    assert recycled.memory_bytes() == program.image_size
    assert ctypes.string_at(recycled.base, program.image_size) == image
