"""The README's compatibility table is true: every row is probed in a JavaScript or Python worker, and the probe's
answer ("yes", "partial" or "no") must be the row's status. A row without a probe, or a probe without a row, fails."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.conftest import Client
from wws.sandbox.engine import Sandbox
from wws.server.app import create_app

README = Path(__file__).parents[2] / "README.md"

# Row → the body of `async (request) => …` in a worker with nodejs_compat; it answers the row's status.
JS_PROBES = {
    "JS `Request`, `Response`, `Headers`, `fetch`": """
        const response = new Response("x", { headers: new Headers({ "x-a": "1" }) });
        const made = new Request("https://example.com/", { method: "POST", body: "b" });
        return typeof fetch === "function" && response.headers.get("x-a") === "1" && (await made.text()) === "b"
          ? "yes" : "no";""",
    "JS `request.cf`": """
        const cf = request.cf;
        return cf.httpProtocol === "HTTP/1.1" && cf.country === undefined ? "partial" : "no";""",
    "JS `URL`, `URLSearchParams`": """
        const url = new URL("http://\\uff27\\uff4f.com/a/../b?x=1#h");  // full-width "Go"
        return url.href === "http://go.com/b?x=1#h" && url.searchParams.get("x") === "1" ? "yes" : "no";""",
    "JS `ReadableStream`, `WritableStream`, `TransformStream`": """
        const { readable, writable } = new TransformStream();
        const writer = writable.getWriter();
        writer.write(new TextEncoder().encode("ok"));
        writer.close();
        const text = await new Response(readable).text();
        return text === "ok" && typeof WritableStream === "function" ? "yes" : "no";""",
    "JS `TextEncoderStream`, `TextDecoderStream`": """
        const bytes = ReadableStream.from(["é"]).pipeThrough(new TextEncoderStream());
        const body = bytes.pipeThrough(new TextDecoderStream());
        const reader = body.getReader();
        return (await reader.read()).value === "é" ? "yes" : "no";""",
    "JS `crypto.getRandomValues`, `crypto.randomUUID`": """
        const bytes = crypto.getRandomValues(new Uint8Array(4));
        return bytes.length === 4 && /^[0-9a-f-]{36}$/.test(crypto.randomUUID()) ? "yes" : "no";""",
    "JS `crypto.subtle.digest`": """
        const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode("abc")));
        return digest[0] === 0xba && digest[31] === 0xad ? "yes" : "no";""",
    "JS `crypto.subtle` HMAC": """
        const key = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, true, ["sign", "verify"]);
        const data = new TextEncoder().encode("m");
        const mac = await crypto.subtle.sign("HMAC", key, data);
        return (await crypto.subtle.verify("HMAC", key, mac, data)) ? "yes" : "no";""",
    "JS `crypto.subtle.timingSafeEqual`": """
        return crypto.subtle.timingSafeEqual(new Uint8Array([1]), new Uint8Array([1])) ? "yes" : "no";""",
    "JS `crypto.subtle` other algorithms": """
        try {
          await crypto.subtle.importKey("raw", new Uint8Array(16), "AES-GCM", false, ["encrypt"]);
          return "yes";
        } catch (error) {
          return error.name === "NotSupportedError" && error.message.includes("AES-GCM") ? "no" : String(error);
        }""",
    "JS `node:buffer`": """
        const { Buffer: Imported } = await import("node:buffer");
        return Imported === Buffer && Buffer.from("aGk=", "base64").toString() === "hi" ? "yes" : "no";""",
    "JS other `node:` modules": """
        try {
          await import("node:fs");
          return "yes";
        } catch (error) {
          return error.message.includes("'node:fs' is not available in wws") ? "no" : String(error);
        }""",
    "JS `HTMLRewriter`": 'return refused(() => new HTMLRewriter(), "HTMLRewriter");',
    "JS `WebSocketPair`": 'return refused(() => new WebSocketPair(), "WebSocketPair");',
    "JS `caches` (Cache API)": 'return refused(() => caches.default, "The Cache API");',
    "JS `env.KV` (KV binding)": """
        await env.KV.put("k", "v");
        const listed = await env.KV.list();
        return (await env.KV.get("k")) === "v" && listed.keys[0].name === "k" ? "yes" : "no";""",
    "JS original wws `request.body` as a string": """
        return JSON.parse(request.body).n === 1 && request.body instanceof ReadableStream ? "yes" : "no";""",
    "JS original wws `Cache`, `request.params`": """
        Cache.set("c", "1");
        return Cache.get("c") === "1" && typeof request.params === "object" ? "yes" : "no";""",
}

JS_WORKER = """
function refused(use, name) {
  try {
    use();
    return "yes";
  } catch (error) {
    return error.message.startsWith(name) && error.message.includes("not supported by wws") ? "no" : String(error);
  }
}
const probes = {
%s
};
export default {
  async fetch(request, env) {
    const answers = {};
    for (const [row, probe] of Object.entries(probes)) {
      try {
        answers[row] = await probe(request, env);
      } catch (error) {
        answers[row] = `threw ${error}`;
      }
    }
    return Response.json(answers);
  },
};
"""

PY_PROBES = {
    "Python `from workers import Response, handler, WorkerEntrypoint`": """
        from workers import Response, WorkerEntrypoint, handler
        works = callable(handler) and isinstance(WorkerEntrypoint, type) and Response("x").status == 200
        return "yes" if works else "no"
    """,
    "Python `request.cf`": """
        return "partial" if request.cf.httpProtocol == "HTTP/1.1" and request.cf.country is None else "no"
    """,
    'Python `request.headers["Name"]` of a missing header': """
        return "yes" if request.headers["X-Missing"] is None else "no"
    """,
}

PY_WORKER = """
import json

from workers import Response, handler

%s

PROBES = {%s}


@handler
async def on_fetch(request, env):
    answers = {}
    for row, probe in PROBES.items():
        try:
            answers[row] = probe(request)
        except Exception as error:
            answers[row] = f"threw {error!r}"
    return Response(json.dumps(answers), headers={"content-type": "application/json"})
"""


def readme_rows() -> dict[str, str]:
    """API → status, from the README's compatibility table."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Compatibility", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (.+?) \| (yes|partial|no) \|", section, flags=re.MULTILINE)
    return dict(rows)


def _js_source() -> str:
    entries = [f"  {json.dumps(row)}: async (request, env) => {{{body}\n  }}" for row, body in JS_PROBES.items()]
    return JS_WORKER % ",\n".join(entries)


def _py_source() -> str:
    functions, names = [], []
    for index, (row, body) in enumerate(PY_PROBES.items()):
        functions.append(f"def probe_{index}(request):\n{textwrap.indent(textwrap.dedent(body).strip(), '    ')}\n")
        names.append(f"{json.dumps(row)}: probe_{index}")
    return PY_WORKER % ("\n\n".join(functions), ", ".join(names))


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory, sandbox: Sandbox) -> Iterator[dict[str, str]]:
    project = tmp_path_factory.mktemp("compat-table")
    (project / "probe_js.js").write_text(_js_source())
    (project / "probe_js.toml").write_text('compatibility_flags = ["nodejs_compat"]\n[data.kv]\nnamespace = "table"\n')
    (project / "probe_py.py").write_text(_py_source())
    app = create_app(project, sandbox=sandbox, kv="memory")
    client = Client(app)
    try:
        found = client.post("/probe_js", content=b'{"n": 1}').json()
        found.update(client.get("/probe_py").json())
        yield found
    finally:
        app.state.project.close()


def test_every_row_has_a_probe_and_every_probe_a_row() -> None:
    probes = set(JS_PROBES) | set(PY_PROBES)
    assert set(readme_rows()) == probes


@pytest.mark.parametrize(("row", "status"), sorted(readme_rows().items()))
def test_the_table_says_what_the_probe_finds(answers: dict[str, str], row: str, status: str) -> None:
    assert answers[row] == status
