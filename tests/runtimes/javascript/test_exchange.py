"""Requests and responses cross in the guest's memory (`wws.runtimes.javascript.exchange`): whatever their size, each
request reads its own request and the host reads its own response, and the response cap holds."""

from __future__ import annotations

import pytest

from tests.runtimes.javascript.conftest import MakeJsWorker, get
from wws.errors import BadGuestOutput

ECHO = """export default {
  async fetch(request) {
    const body = await request.text();
    return new Response(`${request.method} ${body.length} ${body.slice(0, 8)}|${body.slice(-8)}`);
  },
};
"""

BIG = """export default {
  fetch(request) {
    return new Response("x".repeat(Number(new URL(request.url).searchParams.get("size"))));
  },
};
"""


@pytest.mark.parametrize("isolation", ["request", "instance"])
def test_requests_of_every_size_reach_the_handler_whole_and_in_turn(js_worker: MakeJsWorker, isolation: str) -> None:
    worker = js_worker(ECHO, f'isolation = "{isolation}"\n')
    for size in (0, 100, 16 * 1024, 100_000, 10, 64 * 1024, 1):  # the area holds 16 KiB; past it, stdin
        body = (f"<{size}>" + "b" * size)[:size].encode() if size else b""
        response = get(worker, method="POST", body=body)
        text = body.decode()
        assert response.body.decode() == f"POST {size} {text[:8]}|{text[-8:]}"


@pytest.mark.parametrize("isolation", ["request", "instance"])
def test_a_response_over_its_cap_is_a_502_and_the_next_one_is_served(js_worker: MakeJsWorker, isolation: str) -> None:
    worker = js_worker(BIG, f'isolation = "{isolation}"\n[limits]\nmax_response_bytes = 20000\n')
    with pytest.raises(BadGuestOutput, match="response exceeded 20000 bytes") as caught:
        get(worker, "http://localhost/?size=30000")
    assert caught.value.status == 502
    assert get(worker, "http://localhost/?size=5000").body == b"x" * 5000
    assert get(worker, "http://localhost/?size=3").body == b"xxx"
