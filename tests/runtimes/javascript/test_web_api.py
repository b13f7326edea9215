"""The Web APIs a JavaScript worker sees, case by case: each case is the body of an async function run inside one
worker (one snapshot for the whole table), and the value it returns is compared with what Workers would give."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wws.messages import WorkerRequest
from wws.sandbox.engine import Sandbox
from wws.worker.worker import Worker

FORM = (("content-type", "application/x-www-form-urlencoded"),)

# (name, JavaScript body of `async (request, env) => …`, expected value, request fields)
CASES: list[tuple[str, str, Any, dict[str, Any]]] = [
    # ---- Request
    (
        "request_basics",
        'return [request.method, request.url, request.headers.get("Content-Type"), request.params, request.bodyUsed]',
        ["POST", "http://localhost/request_basics?q=1", "text/plain", {}, False],
        {"method": "POST", "headers": (("content-type", "text/plain"),)},
    ),
    (
        "request_headers_are_one_object_made_when_first_read_and_copied_by_new_request_and_clone",
        """const first = request.headers;
        first.set("x-added", "1");
        const copy = new Request(request);
        const clone = request.clone();
        copy.headers.set("x-copy", "only here");
        return [first === request.headers, request.headers.get("x-added"), request.headers.get("x-a"),
                copy.headers.get("x-added"), copy.headers.get("x-a"), clone.headers.get("x-added"),
                request.headers.has("x-copy"), Object.isFrozen(request.params), request.params.id]""",
        [True, "1", "b, c", "1", "b, c", "1", False, True, "7"],
        {"headers": (("x-a", "b"), ("x-a", "c")), "params": {"id": "7"}},
    ),
    ("request_text", "return await request.text()", "héllo", {"method": "POST", "body": "héllo".encode()}),
    ("request_json", "return await request.json()", {"a": [1, 2]}, {"method": "POST", "body": b'{"a":[1,2]}'}),
    (
        "request_array_buffer_of_binary_body",
        "return Array.from(new Uint8Array(await request.arrayBuffer()))",
        [0, 255, 16],
        {"method": "POST", "body": b"\x00\xff\x10"},
    ),
    (
        "request_body_is_read_once",
        """const bytes = await request.bytes();
        let second = "no error";
        try { await request.text(); } catch (error) { second = error.constructor.name; }
        return [bytes instanceof Uint8Array, bytes.length, request.bodyUsed, second]""",
        [True, 3, True, "TypeError"],
        {"method": "POST", "body": b"abc"},
    ),
    (
        "request_form_data_urlencoded",
        'const form = await request.formData(); return [form.getAll("a"), form.get("b"), form.has("c")]',
        [["1", "2"], "x y", False],
        {"method": "POST", "body": b"a=1&b=x+y&a=2", "headers": FORM},
    ),
    (
        "request_constructed_and_cloned",
        """const made = new Request("https://example.com/p?q=1", {method: "post", headers: {"X-A": "1"}, body: "hi"});
        const copy = made.clone();
        return [made.method, made.url, made.headers.get("x-a"), await copy.text(), await made.text()]""",
        ["POST", "https://example.com/p?q=1", "1", "hi", "hi"],
        {},
    ),
    (
        "request_get_with_body_is_refused",
        'try { new Request("https://a.example/", {body: "x"}); return "accepted"; } catch (e) { return e.name; }',
        "TypeError",
        {},
    ),
    # ---- Response
    (
        "response_from_string",
        """const r = new Response("hi", {status: 201, statusText: "Made", headers: {"X-A": "b"}});
        return [r.status, r.statusText, r.ok, r.headers.get("x-a"), r.headers.get("content-type"), await r.text()]""",
        [201, "Made", True, "b", "text/plain;charset=UTF-8", "hi"],
        {},
    ),
    (
        "response_from_bytes",
        """const r = new Response(new Uint8Array([104, 105]));
        return [r.headers.get("content-type"), await r.text(), r.statusText]""",
        [None, "hi", ""],
        {},
    ),
    (
        "response_from_array_buffer",
        "return Array.from(new Uint8Array(await new Response(new Uint8Array([1, 2, 3]).buffer).arrayBuffer()))",
        [1, 2, 3],
        {},
    ),
    (
        "response_null_body",
        "const r = new Response(null, {status: 204}); return [r.status, await r.text(), r.body]",
        [204, "", None],
        {},
    ),
    (
        "response_json",
        'const r = Response.json({a: 1}, {status: 202}); return [r.status, r.headers.get("content-type"), await r.json()]',
        [202, "application/json", {"a": 1}],
        {},
    ),
    (
        "response_redirect",
        """const r = Response.redirect("https://example.com/next", 301);
        let bad; try { Response.redirect("https://example.com/", 200); } catch (e) { bad = e.name; }
        return [r.status, r.headers.get("location"), bad]""",
        [301, "https://example.com/next", "RangeError"],
        {},
    ),
    (
        "response_status_range",
        """const errors = [];
        for (const status of [199, 600, 1000]) {
          try { new Response("x", {status}); } catch (e) { errors.push(e.name); }
        }
        return [errors, new Response("x", {status: 404}).ok]""",
        [["RangeError", "RangeError", "RangeError"], False],
        {},
    ),
    (
        "response_clone",
        'const r = new Response("body"); const c = r.clone(); return [await r.text(), await c.text()]',
        ["body", "body"],
        {},
    ),
    # ---- Headers
    (
        "headers_case_insensitive",
        """const h = new Headers(); h.append("Accept", "a"); h.append("accept", "b");
        return [h.get("ACCEPT"), h.has("accept"), h.has("x"), h.get("x")]""",
        ["a, b", True, False, None],
        {},
    ),
    (
        "headers_set_cookie_and_sorted_iteration",
        """const h = new Headers([["Set-Cookie", "a=1"], ["X-B", "2"], ["set-cookie", "b=2"], ["A", " 1 "]]);
        return [h.getSetCookie(), [...h], [...h.keys()]]""",
        [
            ["a=1", "b=2"],
            [["a", "1"], ["set-cookie", "a=1"], ["set-cookie", "b=2"], ["x-b", "2"]],
            ["a", "set-cookie", "set-cookie", "x-b"],
        ],
        {},
    ),
    (
        "headers_set_delete_foreach",
        """const h = new Headers({"X-A": "1", "X-B": "2"}); h.set("x-a", "3"); h.delete("X-B");
        const seen = []; h.forEach((value, name) => seen.push(name + "=" + value));
        return seen""",
        ["x-a=3"],
        {},
    ),
    (
        "headers_invalid_name_and_value",
        """const errors = [];
        for (const [name, value] of [["bad name", "v"], ["x", "a\\nb"]]) {
          try { new Headers().set(name, value); } catch (e) { errors.push(e.name); }
        }
        return errors""",
        ["TypeError", "TypeError"],
        {},
    ),
    (
        "headers_of_a_fetched_response_are_immutable",
        """const r = Response.redirect("https://example.com/");
        try { r.headers.set("x", "1"); return "changed"; } catch (e) { return e.name; }""",
        "TypeError",
        {},
    ),
    # ---- URL and URLSearchParams
    (
        "url_components",
        """const u = new URL("https://user:pw@Example.COM:8443/a/./b/../c?x=1&y=%20#frag");
        return [u.href, u.origin, u.protocol, u.username, u.password, u.host, u.hostname, u.port, u.pathname,
                u.search, u.hash, u.searchParams.get("y"), String(u), JSON.stringify({u})]""",
        [
            "https://user:pw@example.com:8443/a/c?x=1&y=%20#frag",
            "https://example.com:8443",
            "https:",
            "user",
            "pw",
            "example.com:8443",
            "example.com",
            "8443",
            "/a/c",
            "?x=1&y=%20",
            "#frag",
            " ",
            "https://user:pw@example.com:8443/a/c?x=1&y=%20#frag",
            '{"u":"https://user:pw@example.com:8443/a/c?x=1&y=%20#frag"}',
        ],
        {},
    ),
    (
        "url_relative_resolution",
        """const base = "http://h/a/b/c?q#f";
        return ["../d?z", "/e", "?y", "#g", "", "//other/x", "g;x", "../../../../up"].map((s) => new URL(s, base).href)""",
        [
            "http://h/a/d?z",
            "http://h/e",
            "http://h/a/b/c?y",
            "http://h/a/b/c?q#g",
            "http://h/a/b/c?q",
            "http://other/x",
            "http://h/a/b/g;x",
            "http://h/up",
        ],
        {},
    ),
    (
        "url_normalisation",
        """return [new URL("http://h:80/").href, new URL("HTTP://H/%7e").href, new URL("http://h/a b/ü").pathname,
                new URL("http://bücher.de/").host, new URL("http://0x7f.1/").host, new URL("http://[::1]:8080/").host,
                new URL("http://[2001:db8:0:0:0:0:0:1]/").hostname, new URL("http://h\\\\a\\\\b").pathname,
                new URL("mailto:someone@example.com").pathname, new URL("http://h?q=a'b").search]""",
        [
            "http://h/",
            "http://h/%7e",
            "/a%20b/%C3%BC",
            "xn--bcher-kva.de",
            "127.0.0.1",
            "[::1]:8080",
            "[2001:db8::1]",
            "/a/b",
            "someone@example.com",
            "?q=a%27b",
        ],
        {},
    ),
    (
        "url_invalid",
        """const errors = [];
        for (const s of ["not a url", "http://", "http://h:99999/", "http://[::1/"]) {
          try { new URL(s); errors.push("parsed " + s); } catch (e) { errors.push(e.name); }
        }
        return [errors, URL.canParse("https://ok.example/"), URL.canParse("/relative")]""",
        [["TypeError", "TypeError", "TypeError", "TypeError"], True, False],
        {},
    ),
    (
        "url_setters_and_search_params",
        """const u = new URL("http://h/p?a=1");
        u.searchParams.append("b", "x y"); u.searchParams.set("a", "2");
        const first = u.href;
        u.pathname = "/q r"; u.hash = "top"; u.port = "8080"; u.search = "?c=3";
        return [first, u.href, u.searchParams.get("c")]""",
        ["http://h/p?a=2&b=x+y", "http://h:8080/q%20r?c=3#top", "3"],
        {},
    ),
    (
        "url_search_params",
        """const p = new URLSearchParams("?a=1&b=2&a=3&c=%C3%A9+x");
        const c = p.get("c"); p.sort(); p.delete("b");
        return [p.getAll("a"), c, p.toString(), p.size, p.has("a", "3"),
                [...new URLSearchParams({x: "1", y: "é&"})], new URLSearchParams([["k", "v"]]).toString()]""",
        [["1", "3"], "é x", "a=1&a=3&c=%C3%A9+x", 3, True, [["x", "1"], ["y", "é&"]], "k=v"],
        {},
    ),
    # ---- Encoding
    (
        "text_encoder",
        """const e = new TextEncoder();
        const into = new Uint8Array(4);
        return [Array.from(e.encode("é€😀")), Array.from(e.encode("a\\ud800b")), e.encoding, e.encodeInto("é€", into)]""",
        [[195, 169, 226, 130, 172, 240, 159, 152, 128], [97, 239, 191, 189, 98], "utf-8", {"read": 1, "written": 2}],
        {},
    ),
    (
        "text_decoder",
        """const d = new TextDecoder();
        let fatal; try { new TextDecoder("utf-8", {fatal: true}).decode(new Uint8Array([0xff])); } catch (e) { fatal = e.name; }
        let label; try { new TextDecoder("latin2"); } catch (e) { label = e.name; }
        return [d.decode(new Uint8Array([0x61, 0xff, 0x62, 0xe2, 0x82])), d.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x68])),
                d.decode(new Uint8Array([0xe2, 0x82, 0xac]).buffer), fatal, label, d.decode()]""",
        ["a\ufffdb\ufffd", "h", "€", "TypeError", "RangeError", ""],
        {},
    ),
    (
        "atob_btoa",
        """let wide; try { btoa("€"); } catch (e) { wide = e.name; }
        return [btoa("hello"), atob("aGVsbG8="), atob(btoa("\\u00ff\\u0000")).length, wide]""",
        ["aGVsbG8=", "hello", 2, "InvalidCharacterError"],
        {},
    ),
    # ---- Streams
    (
        "stream_from_iterable_and_async_iteration",
        """const seen = [];
        for await (const chunk of ReadableStream.from(["a", "b", "c"])) seen.push(chunk);
        const stream = ReadableStream.from((async function* () { yield 1; yield 2; })());
        const reader = stream.getReader();
        const first = await reader.read();
        reader.releaseLock();
        const rest = [];
        for await (const chunk of stream) rest.push(chunk);
        return [seen, first, rest, stream.locked]""",
        [["a", "b", "c"], {"value": 1, "done": False}, [2], False],
        {},
    ),
    (
        "stream_break_in_for_await_cancels_the_source",
        """let cancelled = null;
        const stream = new ReadableStream({
          pull(controller) { controller.enqueue("x"); },
          cancel(reason) { cancelled = String(reason); },
        });
        for await (const chunk of stream) break;
        return [cancelled, stream.locked]""",
        ["undefined", False],
        {},
    ),
    (
        "stream_text_decoder_keeps_a_split_character_for_the_next_chunk",
        """const bytes = new TextEncoder().encode("é€😀");
        const decoder = new TextDecoder();
        const parts = [decoder.decode(bytes.subarray(0, 1), {stream: true}), decoder.decode(bytes.subarray(1, 4), {stream: true}),
                       decoder.decode(bytes.subarray(4, 8), {stream: true}), decoder.decode(bytes.subarray(8))];
        const through = new Response(ReadableStream.from([bytes.subarray(0, 3), bytes.subarray(3)]).pipeThrough(new TextDecoderStream()));
        return [parts, await through.text()]""",
        [["", "é", "€", "😀"], "é€😀"],
        {},
    ),
    (
        "stream_byob_reader_is_refused_by_name",
        """try { new ReadableStream().getReader({mode: "byob"}); return "no error"; }
        catch (error) { return error.message; }""",
        'ReadableStream: BYOB readers (getReader({ mode: "byob" })) are not supported by wws',
        {},
    ),
    (
        "stream_locked_body_cannot_become_a_response",
        """const stream = ReadableStream.from(["x"]);
        stream.getReader();
        try { new Response(stream); return "no error"; } catch (error) { return error.constructor.name; }""",
        "TypeError",
        {},
    ),
    (
        "stream_response_body_is_read_by_text_and_clone",
        """const response = new Response(ReadableStream.from([new Uint8Array([104, 105])]));
        const copy = response.clone();
        return [await response.text(), await copy.text(), response.bodyUsed, copy.bodyUsed]""",
        ["hi", "hi", True, True],
        {},
    ),
    (
        "request_body_of_a_get_is_null",
        "return [request.body, request.bodyUsed]",
        [None, False],
        {},
    ),
    # ---- crypto, structuredClone
    (
        "crypto_random",
        """const a = new Uint8Array(32);
        const same = crypto.getRandomValues(a) === a;
        const u1 = crypto.randomUUID(), u2 = crypto.randomUUID();
        let big; try { crypto.getRandomValues(new Uint8Array(65537)); } catch (e) { big = e.name; }
        let floats; try { crypto.getRandomValues(new Float64Array(2)); } catch (e) { floats = e.name; }
        return [same, a.some((b) => b !== 0), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(u1),
                u1 !== u2, big, floats]""",
        [True, True, True, True, "RangeError", "TypeError"],
        {},
    ),
    (
        "structured_clone",
        """const o = {d: new Date(0), m: new Map([[1, {x: 1}]]), s: new Set([1]), a: [1, {b: 2}], u: new Uint8Array([1, 2]),
                   e: new RangeError("r"), big: 10n};
        o.self = o;
        const c = structuredClone(o);
        return [c !== o, c.self === c, c.d.getTime(), c.m.get(1).x, c.m.get(1) !== o.m.get(1), c.s.has(1), c.a[1].b,
                Array.from(c.u), c.e instanceof RangeError, c.e.message, c.big === 10n]""",
        [True, True, 0, 1, True, True, 2, [1, 2], True, "r", True],
        {},
    ),
    (
        "structured_clone_refuses_functions",
        "try { structuredClone({f() {}}); return 'cloned'; } catch (e) { return [e.name, e instanceof DOMException]; }",
        ["DataCloneError", True],
        {},
    ),
    # ---- Timers, microtasks, performance
    (
        "timers_run_in_order",
        """const start = performance.now(); const order = [];
        await new Promise((resolve) => {
          setTimeout(() => { order.push("late"); resolve(); }, 30);
          setTimeout(() => order.push("early"), 5);
          const cancelled = setTimeout(() => order.push("cancelled"), 1);
          clearTimeout(cancelled);
          setTimeout((a, b) => order.push(a + b), 0, "ar", "gs");
        });
        return [order, performance.now() - start >= 29]""",
        [["args", "early", "late"], True],
        {},
    ),
    (
        "set_interval",
        """let ticks = 0;
        await new Promise((resolve) => { const id = setInterval(() => { if (++ticks === 3) { clearInterval(id); resolve(); } }, 2); });
        return ticks""",
        3,
        {},
    ),
    (
        "queue_microtask",
        """const order = []; queueMicrotask(() => order.push("micro")); setTimeout(() => order.push("timer"), 0);
        order.push("sync");
        await new Promise((resolve) => setTimeout(resolve, 1));
        return order""",
        ["sync", "micro", "timer"],
        {},
    ),
    (
        "performance_now_is_relative_to_the_request_and_monotonic",
        """const a = performance.now(); let b = a;
        for (let i = 0; i < 1000; i++) { const t = performance.now(); if (t < b) return "backwards"; b = t; }
        return [a >= 0, a < 1000, b >= a]""",
        [True, True, True],
        {},
    ),
    # ---- Globals and the original wws API
    (
        "globals",
        """return [self === globalThis, typeof addEventListener, typeof fetch, typeof Cache.get, typeof navigator.userAgent,
                typeof globalThis.__wws, typeof FormData, typeof structuredClone]""",
        [True, "function", "function", "function", "string", "undefined", "function", "function"],
        {},
    ),
    (
        "cache_of_the_original_wws",
        'Cache.set("k", "v"); return [Cache.get("k"), Cache.get("missing")]',
        ["v", None],
        {},
    ),
]


def _worker_source() -> str:
    cases = ",\n".join(f"  {json.dumps(name)}: async (request, env) => {{\n{body}\n}}" for name, body, _, _ in CASES)
    return f"""const cases = {{
{cases}
}};
export default {{
  async fetch(request, env) {{
    const name = new URL(request.url).pathname.slice(1);
    try {{
      return Response.json({{ value: await cases[name](request, env) }});
    }} catch (error) {{
      return Response.json({{ error: String(error), stack: error.stack }});
    }}
  }},
}};
"""


@pytest.fixture(scope="module")
def api_worker(tmp_path_factory: pytest.TempPathFactory, sandbox: Sandbox) -> Iterator[Worker]:
    project: Path = tmp_path_factory.mktemp("js-api")
    (project / "api.js").write_text(_worker_source())
    worker = Worker(project / "api.js", root=project, sandbox=sandbox)
    yield worker
    worker.close()


@pytest.mark.parametrize(("name", "body", "expected", "fields"), CASES, ids=[case[0] for case in CASES])
def test_web_api(api_worker: Worker, name: str, body: str, expected: Any, fields: dict[str, Any]) -> None:
    response = api_worker.handle(
        WorkerRequest(
            f"http://localhost/{name}?q=1" if name == "request_basics" else f"http://localhost/{name}", **fields
        )
    )
    assert response.status == 200, response.body
    answer = json.loads(response.body)
    assert "error" not in answer, f"{answer['error']}\n{answer['stack']}"
    assert answer["value"] == expected
