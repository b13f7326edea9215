"""What goes wrong in JavaScript reaches the operator with its file and line, the client with a clean status, and
never the next request."""

from __future__ import annotations

import time

import pytest

from tests.runtimes.javascript.conftest import MakeJsWorker, get
from wws.errors import GuestException, GuestTimeout, LoadError, MemoryLimitExceeded, WorkerError

THROWS = """export default {
  async fetch(request) {
    if (request.url.endsWith("/ok")) return new Response("fine");
    if (request.url.endsWith("/reject")) return Promise.reject(new TypeError("rejected on purpose"));
    helper();
  },
};
function helper() {
  throw new Error("thrown on purpose");
}
"""


@pytest.mark.parametrize("isolation", ["request", "instance"])
def test_an_exception_is_a_500_with_the_stack_for_the_operator(js_worker: MakeJsWorker, isolation: str) -> None:
    worker = js_worker(THROWS, f'isolation = "{isolation}"\n')
    with pytest.raises(GuestException) as caught:
        get(worker, "http://localhost/throw")
    error = caught.value
    assert error.status == 500
    assert "Error: thrown on purpose" in error.cause
    assert "at helper (index.js:9" in error.stderr_tail
    assert "at fetch (index.js:5" in error.stderr_tail
    assert "index.js" not in error.public_message
    with pytest.raises(GuestException, match="TypeError: rejected on purpose"):
        get(worker, "http://localhost/reject")
    assert get(worker, "http://localhost/ok").body == b"fine"


def test_returning_something_else_than_a_response_is_an_error(js_worker: MakeJsWorker) -> None:
    worker = js_worker('export default { fetch: () => "just a string" };')
    with pytest.raises(GuestException, match="must return a Response, not string"):
        get(worker)


def test_a_promise_that_never_settles_is_an_error(js_worker: MakeJsWorker) -> None:
    worker = js_worker("export default { fetch: () => new Promise(() => {}) };")
    with pytest.raises(GuestException, match="never settled"):
        get(worker)


def test_a_syntax_error_is_reported_at_load_with_file_and_line(js_worker: MakeJsWorker) -> None:
    worker = js_worker("export default {\n  fetch(request) {\n    return new Response(;\n  },\n};\n")
    with pytest.raises(LoadError) as caught:
        worker.load()
    assert "SyntaxError" in str(caught.value)
    assert "index.js:3" in str(caught.value)


def test_an_exception_at_top_level_is_reported_at_load(js_worker: MakeJsWorker) -> None:
    worker = js_worker('const config = JSON.parse("{oops");\nexport default { fetch: () => new Response("x") };')
    with pytest.raises(LoadError, match=r"SyntaxError[\s\S]*index.js:1"):
        worker.load()


def test_top_level_code_may_not_call_the_host(js_worker: MakeJsWorker) -> None:
    worker = js_worker('await fetch("https://example.com/");\nexport default { fetch: () => new Response("x") };')
    with pytest.raises(LoadError, match="host calls are not available"):
        worker.load()


RECURSION = """let depth = 0;
function dive(n) { depth = n; return dive(n + 1) + 1; }
export default {
  async fetch(request) {
    if (request.url.endsWith("/deep")) {
      try { dive(0); } catch (error) { return new Response(`${error.name} at depth ${depth > 500}`); }
    }
    let data = [];
    for (let i = 0; i < 100; i++) data.push({ i, text: "x".repeat(i) });
    return Response.json({ count: data.length, sum: data.reduce((a, b) => a + b.i, 0) });
  },
};
"""


@pytest.mark.parametrize("isolation", ["request", "instance"])
def test_deep_recursion_fails_cleanly_and_later_requests_are_intact(js_worker: MakeJsWorker, isolation: str) -> None:
    worker = js_worker(RECURSION, f'isolation = "{isolation}"\n')
    for _ in range(3):
        assert get(worker, "http://localhost/deep").body == b"RangeError at depth true"
        assert get(worker, "http://localhost/work").body == b'{"count":100,"sum":4950}'


def test_an_infinite_loop_is_stopped_at_the_deadline(js_worker: MakeJsWorker) -> None:
    worker = js_worker(
        'export default { fetch(request) { if (request.url.endsWith("/loop")) for (;;) {} return new Response("ok"); } };',
        "[limits]\ntimeout_ms = 200\n",
    )
    with pytest.raises(GuestTimeout):
        get(worker, "http://localhost/loop")
    assert get(worker).body == b"ok"


def test_a_handler_waiting_on_a_timer_is_stopped_at_the_deadline(js_worker: MakeJsWorker) -> None:
    worker = js_worker(
        """export default { async fetch(request) {
          const ms = Number(new URL(request.url).searchParams.get("ms"));
          await new Promise((resolve) => setTimeout(resolve, ms));
          return new Response("awake");
        } };""",
        "[limits]\ntimeout_ms = 300\n",
    )
    started = time.monotonic()
    with pytest.raises(GuestTimeout, match="deadline of 300 ms"):
        get(worker, "http://localhost/?ms=5000")
    assert time.monotonic() - started < 2.5
    assert get(worker, "http://localhost/?ms=10").body == b"awake"
    started = time.monotonic()
    with pytest.raises(GuestTimeout):  # a deadline set on arrival comes before the worker's own timeout
        get(worker, "http://localhost/?ms=5000", deadline=started + 0.1)
    assert time.monotonic() - started < 2.5


def test_a_memory_bomb_is_stopped_at_the_cap(js_worker: MakeJsWorker) -> None:
    worker = js_worker(
        """export default { fetch(request) {
          if (request.url.endsWith("/bomb")) { const hoard = []; for (;;) hoard.push("x".repeat(1 << 16) + hoard.length); }
          return new Response("ok");
        } };""",
        "[limits]\nmemory_mb = 16\n",
    )
    with pytest.raises(WorkerError) as caught:
        get(worker, "http://localhost/bomb")
    assert isinstance(caught.value, MemoryLimitExceeded | GuestException)
    assert get(worker).body == b"ok"
