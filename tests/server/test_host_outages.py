"""The host's outages are answered as such: a KV store that does not answer, a folder of a sandbox that cannot be
opened → 503 with `Retry-After` and a message that says what is missing, never a 500 charged to the worker; the
workers that do not need it go on; and once it is back, so is everyone, without a restart."""

from __future__ import annotations

import shutil
import time
import urllib.parse
from pathlib import Path

import httpx
import pytest

from tests.conftest import running_redis
from tests.server.conftest import Client, add_worker, serving
from wws.sandbox.engine import Sandbox
from wws.server import create_app

KV_READER = """
export default {
  async fetch(request, env) {
    return new Response(`visits: ${await env.KV.get("visits")}`);
  },
};
"""
KV_CONFIG = '[data.kv]\nnamespace = "site"\n'


@pytest.mark.slow
def test_a_redis_outage_is_a_503_for_the_workers_that_use_kv_and_nothing_for_the_others(
    tmp_path: Path, native_modules: dict[str, Path]
) -> None:
    project = tmp_path / "project"
    add_worker(project, native_modules["whoami"], "plain.wasm", '[vars]\nROUTE = "plain"\n')
    add_worker(project, native_modules["kv_writer"], "protocol.wasm", KV_CONFIG)
    (project / "hosted.js").write_text(KV_READER)
    (project / "hosted.toml").write_text(KV_CONFIG)
    with running_redis(tmp_path) as (redis, server):
        port = urllib.parse.urlsplit(redis).port
        assert port is not None
        with serving(project, "--kv", redis, "--workers", "1") as (base, process):
            for path in ("/plain", "/protocol", "/hosted"):
                assert httpx.get(base + path).status_code == 200, path
            server.terminate()
            server.wait(10)
            for path in ("/protocol", "/hosted"):
                started = time.monotonic()
                answer = httpx.get(base + path, timeout=30)
                assert time.monotonic() - started < 5, "answered at once, not at the end of a backoff"
                assert answer.status_code == 503, (path, answer.text)
                assert answer.headers["retry-after"] == "1"
                assert "its KV store is unavailable" in answer.text
                assert "Traceback" not in answer.text
            assert httpx.get(base + "/plain").status_code == 200
            with running_redis(tmp_path, port):  # Redis is back, on its address: no restart of wws
                assert httpx.get(base + "/hosted").text == "visits: null"
                assert httpx.get(base + "/protocol").status_code == 200
            process.terminate()
            _, log = process.communicate(timeout=20)
    outage = [line for line in log.splitlines() if "its KV store is unavailable" in line]
    assert outage, log
    assert any("hosted.js" in line for line in outage), "the operator's line names the worker"
    assert "Traceback" not in log


def test_a_folder_of_the_sandbox_that_cannot_be_opened_is_a_503_until_it_can(
    tmp_path: Path, native_modules: dict[str, Path], sandbox: Sandbox
) -> None:
    (tmp_path / "_assets").mkdir()
    add_worker(tmp_path, native_modules["echo"], "echo.wasm", '[[folders]]\nfrom = "./_assets"\nto = "/assets"\n')
    app = create_app(tmp_path, sandbox=sandbox, kv="memory")
    try:
        client = Client(app)
        assert client.get("/echo").status_code == 201
        shutil.rmtree(tmp_path / "_assets")
        answer = client.get("/echo")
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "1"
        assert "the folder /assets of its sandbox is unavailable" in answer.text
        assert str(tmp_path) not in answer.text, "the client never sees host paths"
        (tmp_path / "_assets").mkdir()
        assert client.get("/echo").status_code == 201
    finally:
        app.state.project.close()
