"""Speculative calls (run on the server's event loop): they stop before their first host call or wait, and soon
when they compute, having done nothing anyone can see; the same call then runs in full outside speculation."""

from __future__ import annotations

import shutil
import textwrap
import time
from pathlib import Path

import pytest

from wws.config.loader import load_worker_config
from wws.errors import SpeculationAborted
from wws.messages import WorkerRequest
from wws.sandbox.context import speculating
from wws.sandbox.engine import Sandbox
from wws.worker.worker import Worker

KV_CONFIG = '[data.kv]\nnamespace = "n"\n'

HOSTILE = {
    "kv.js": ("export default { async fetch(r, env) { await env.KV.put('k', 'v'); return new Response('put'); } };"),
    "kv.py": "def worker(request):\n    kv.put('k', 'v')\n    return Response('put')\n",
    "sleep.js": """
        export default {
          async fetch() { await new Promise((r) => setTimeout(r, 3000)); return new Response("slept"); },
        };""",
    "sleep.py": """
        import time

        def worker(request):
            time.sleep(3)
            return Response("slept")
        """,
    "spin.js": """
        export default {
          fetch() { const end = Date.now() + 300; while (Date.now() < end); return new Response("spun"); },
        };""",
    "spin.py": """
        import time

        def worker(request):
            end = time.time() + 0.3
            while time.time() < end:
                pass
            return Response("spun")
        """,
}
NATIVE = {"sleeper.wasm": "sleeper", "hostcall.wasm": "hostcall"}


def worker_of(project: Path, name: str, sandbox: Sandbox, native_modules: dict[str, Path]) -> Worker:
    handler = project / name
    if name in NATIVE:
        shutil.copyfile(native_modules[NATIVE[name]], handler)
    else:
        handler.write_text(textwrap.dedent(HOSTILE[name]))
    handler.with_suffix(".toml").write_text(KV_CONFIG if name.startswith("kv") else "")
    worker = Worker(handler, load_worker_config(handler, project_root=project), root=project, sandbox=sandbox)
    worker.load()
    return worker


@pytest.mark.parametrize("name", ["kv.js", "kv.py", "hostcall.wasm"])
def test_a_host_call_stops_a_speculative_call_before_it_is_made(
    tmp_path: Path, sandbox: Sandbox, native_modules: dict[str, Path], name: str
) -> None:
    worker = worker_of(tmp_path, name, sandbox, native_modules)
    try:
        with speculating(), pytest.raises(SpeculationAborted, match="host call"):
            worker.handle(WorkerRequest("http://localhost/"))
        if worker.kv is not None:
            assert worker.kv.get("n", "k") is None, "the put was never made"
        assert worker.handle(WorkerRequest("http://localhost/")).status == 200, "outside speculation it runs"
        if worker.kv is not None:
            assert worker.kv.get("n", "k") == "v"
    finally:
        worker.close()


@pytest.mark.parametrize("name", ["sleep.js", "sleep.py", "sleeper.wasm", "spin.js", "spin.py"])
def test_a_wait_or_a_long_computation_stops_a_speculative_call_at_once(
    tmp_path: Path, sandbox: Sandbox, native_modules: dict[str, Path], name: str
) -> None:
    worker = worker_of(tmp_path, name, sandbox, native_modules)
    try:
        started = time.monotonic()
        with speculating(), pytest.raises(SpeculationAborted):
            worker.handle(WorkerRequest("http://localhost/"))
        assert time.monotonic() - started < 0.1, "stopped before waiting or within 20 ms of computing"
    finally:
        worker.close()


def test_a_speculative_call_that_needs_nothing_runs_to_its_answer(tmp_path: Path, sandbox: Sandbox) -> None:
    handler = tmp_path / "hello.js"
    handler.write_text("export default { fetch: (r) => new Response(`hello ${new URL(r.url).pathname}`) };")
    worker = Worker(handler, root=tmp_path, sandbox=sandbox)
    try:
        worker.load()
        assert worker.speculates
        with speculating():
            assert worker.handle(WorkerRequest("http://localhost/x")).body == b"hello /x"
    finally:
        worker.close()


def test_a_native_worker_that_gets_a_copy_of_its_kv_namespace_never_speculates(
    tmp_path: Path, sandbox: Sandbox, native_modules: dict[str, Path]
) -> None:
    plain = worker_of(tmp_path, "hostcall.wasm", sandbox, native_modules)
    copy = tmp_path / "echo.wasm"
    shutil.copyfile(native_modules["echo"], copy)
    copy.with_suffix(".toml").write_text(KV_CONFIG)
    with_kv = Worker(copy, load_worker_config(copy, project_root=tmp_path), root=tmp_path, sandbox=sandbox)
    try:
        with_kv.load()
        assert plain.speculates
        assert not with_kv.speculates, "its request is built with I/O (the namespace's copy) before the guest runs"
    finally:
        plain.close()
        with_kv.close()


def test_a_worker_that_can_write_files_never_speculates(tmp_path: Path, sandbox: Sandbox) -> None:
    """A speculative call stopped after writing a file and run again would find its own write."""
    (tmp_path / "data").mkdir()
    handler = tmp_path / "writer.js"
    handler.write_text("export default { fetch: () => new Response('ok') };")
    handler.with_suffix(".toml").write_text('[[folders]]\nfrom = "data"\nto = "/data"\nwritable = true\n')
    worker = Worker(handler, load_worker_config(handler, project_root=tmp_path), root=tmp_path, sandbox=sandbox)
    try:
        worker.load()
        assert not worker.speculates
    finally:
        worker.close()
