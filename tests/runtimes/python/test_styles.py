"""Both handler styles run unchanged: the original wws (`def worker(request)`) and Cloudflare's Python Workers
(`async def on_fetch(request, env)`, `class Default(WorkerEntrypoint)`)."""

from __future__ import annotations

import base64
import json

import pytest

from tests.runtimes.python.conftest import MakePyWorker, get, get_json

ORIGINAL = """
    import json

    def worker(request):
        body = json.dumps({
            "method": request.method, "url": request.url, "body": request.body,
            "agent": request.headers.get("User-Agent"), "params": request.params,
        })
        res = Response(body)
        res.status_code = 201
        res.headers = {"content-type": "application/json", "x-style": "original"}
        return res
"""

CLOUDFLARE_ON_FETCH = """
    from workers import Response

    async def on_fetch(request, env):
        return Response.json(
            {"method": request.method, "url": request.url, "body": await request.text(),
             "agent": request.headers.get("user-agent"), "params": request.params},
            status=201, headers={"x-style": "on_fetch"},
        )
"""

CLOUDFLARE_ENTRYPOINT = """
    from workers import Response, WorkerEntrypoint

    class Default(WorkerEntrypoint):
        async def fetch(self, request):
            data = {"method": request.method, "url": request.url, "body": (await request.bytes()).decode(),
                    "agent": request.headers["User-Agent"], "params": request.params}
            return Response(json_dumps(data), status=201,
                            headers={"content-type": "application/json", "x-style": "entrypoint"})

    def json_dumps(value):
        import json
        return json.dumps(value)
"""


@pytest.mark.parametrize(
    ("source", "style"),
    [(ORIGINAL, "original"), (CLOUDFLARE_ON_FETCH, "on_fetch"), (CLOUDFLARE_ENTRYPOINT, "entrypoint")],
)
def test_each_style_sees_the_request_and_shapes_the_response(py_worker: MakePyWorker, source: str, style: str) -> None:
    worker = py_worker(source)
    response = get(
        worker,
        "http://localhost/items/7?x=1",
        method="POST",
        headers=(("user-agent", "tests"),),
        body=b"hello",
        params={"id": "7"},
    )
    assert response.status == 201
    assert response.header("x-style") == style
    assert response.header("content-type") == "application/json"
    assert json.loads(response.body) == {
        "method": "POST",
        "url": "http://localhost/items/7?x=1",
        "body": "hello",
        "agent": "tests",
        "params": {"id": "7"},
    }


def test_async_worker_awaits_tasks_and_sleeps(py_worker: MakePyWorker) -> None:
    worker = py_worker(
        """
        import asyncio

        async def double(value):
            await asyncio.sleep(0.01)
            return value * 2

        async def worker(request):
            values = await asyncio.gather(double(1), double(2), double(3))
            return Response(",".join(map(str, values)))
        """
    )
    assert get(worker).body == b"2,4,6"


def test_bytes_bodies_both_ways(py_worker: MakePyWorker) -> None:
    worker = py_worker(
        """
        def worker(request):
            return Response(bytes(reversed(request.body_bytes)), headers={"content-type": "application/octet-stream"})
        """
    )
    payload = bytes(range(256))
    response = get(worker, method="POST", body=payload)
    assert response.body == payload[::-1]
    assert response.header("content-type") == "application/octet-stream"


def test_text_response_defaults_to_plain_text_and_str_return_is_accepted(py_worker: MakePyWorker) -> None:
    assert get(py_worker("def worker(request):\n    return Response('hé')\n")).header("content-type") == (
        "text/plain;charset=UTF-8"
    )
    assert get(py_worker("def worker(request):\n    return 'just text'\n", name="plain.py")).body == b"just text"


def test_repeated_headers_and_redirects(py_worker: MakePyWorker) -> None:
    worker = py_worker(
        """
        from workers import Headers

        def worker(request):
            if request.path == "/old":
                return Response.redirect("/new", 301)
            headers = Headers()
            headers.append("Set-Cookie", "a=1")
            headers.append("Set-Cookie", "b=2")
            return Response("ok", headers=headers)
        """
    )
    moved = get(worker, "http://localhost/old")
    assert (moved.status, moved.header("location")) == (301, "/new")
    cookies = [value for name, value in get(worker).headers if name == "set-cookie"]
    assert cookies == ["a=1", "b=2"]


def test_env_vars_reach_os_environ_and_env_only_when_declared(py_worker: MakePyWorker) -> None:
    worker = py_worker(
        """
        import os
        from workers import Response

        async def on_fetch(request, env):
            return Response.json({"environ": dict(os.environ), "attr": env.MESSAGE, "item": env["MESSAGE"]})
        """,
        config="""
        [vars]
        MESSAGE = "hello"
        """,
    )
    assert get_json(worker) == {"environ": {"MESSAGE": "hello"}, "attr": "hello", "item": "hello"}


def test_original_cache_round_trips_through_the_namespace(py_worker: MakePyWorker) -> None:
    worker = py_worker(
        """
        def worker(request):
            count = int(Cache.get("counter") or 0) + 1
            Cache.set("counter", count)
            return Response(str(count))
        """,
        config="""
        [data.kv]
        namespace = "counter"
        """,
    )
    assert [get(worker).body for _ in range(3)] == [b"1", b"2", b"3"]
    assert worker.kv is not None
    assert worker.kv.get("counter", "counter") == "3"


def test_wait_until_runs_after_the_response(py_worker: MakePyWorker) -> None:
    worker = py_worker(
        """
        from workers import Response

        async def on_fetch(request, env, ctx):
            async def later():
                await env.KV.put("after", "yes")
            ctx.wait_until(later())
            return Response(str(await env.KV.get("after")))
        """,
        config="""
        [data.kv]
        namespace = "later"
        """,
    )
    assert get(worker).body == b"None"
    assert get(worker).body == b"yes"


def test_non_utf8_request_body_arrives_intact(py_worker: MakePyWorker) -> None:
    worker = py_worker(
        """
        import base64

        def worker(request):
            return Response(base64.b64encode(request.body_bytes).decode())
        """
    )
    payload = b"\xff\xfe\x00binary"
    assert base64.b64decode(get(worker, method="PUT", body=payload).body) == payload
