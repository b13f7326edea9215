"""A request carries a copy of the worker's KV namespace only for native modules (the wws JSON protocol needs it);
JavaScript and Python reach the namespace through host calls, and their `Cache` (the original wws API) applies its
writes when the request succeeds, and only then."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from wws.config.loader import load_worker_config
from wws.errors import GuestException
from wws.kv.memory import MemoryKV
from wws.messages import WorkerRequest
from wws.sandbox.engine import Sandbox
from wws.worker.worker import Worker

CONFIG = '[data.kv]\nnamespace = "counts"\n'

COUNTERS = {
    "index.js": """
        export default { async fetch(request, env) {
          await env.KV.put("seen", "by the binding");
          const count = Number(Cache.get("count") ?? 0) + 1;
          Cache.set("count", String(count));
          Cache.delete("stale");
          if (new URL(request.url).searchParams.has("fail")) throw new Error("after the writes");
          return Response.json({ count, seen: Cache.get("seen"), stale: Cache.get("stale") });
        } };
    """,
    "index.py": """
        def worker(request):
            kv.put("seen", "by the binding")
            count = int(Cache.get("count") or 0) + 1
            Cache.set("count", count)
            Cache.delete("stale")
            if "fail" in request.url:
                raise RuntimeError("after the writes")
            return Response(json.dumps({"count": count, "seen": Cache.get("seen"), "stale": Cache.get("stale")}))
    """,
}


class CountingKV(MemoryKV):
    """A real in-memory KV that counts the copies of a whole namespace it hands out."""

    def __init__(self) -> None:
        super().__init__()
        self.copies = 0

    def items(self, namespace: str) -> dict[str, str]:
        self.copies += 1
        return super().items(namespace)


def worker_of(project: Path, handler: Path, kv: CountingKV, sandbox: Sandbox) -> Worker:
    handler.with_suffix(".toml").write_text(CONFIG)
    return Worker(handler, load_worker_config(handler, project_root=project), root=project, sandbox=sandbox, kv=kv)


@pytest.mark.parametrize("name", sorted(COUNTERS))
def test_cache_reads_through_host_calls_and_writes_only_when_the_request_succeeds(
    tmp_path: Path, sandbox: Sandbox, name: str
) -> None:
    handler = tmp_path / name
    source = textwrap.dedent(COUNTERS[name])
    handler.write_text(("import json\n" if name.endswith(".py") else "") + source)
    kv = CountingKV()
    kv.apply("counts", {"count": "41", "stale": "x"})
    worker = worker_of(tmp_path, handler, kv, sandbox)
    try:
        first = worker.handle(WorkerRequest("http://localhost/"))
        assert json.loads(first.body) == {"count": 42, "seen": "by the binding", "stale": None}
        assert kv.items("counts") == {"count": "42", "seen": "by the binding"}
        kv.put("counts", "stale", "back")
        with pytest.raises(GuestException, match="after the writes"):
            worker.handle(WorkerRequest("http://localhost/?fail=1"))
        assert kv.get("counts", "count") == "42", "a failed request's Cache writes are dropped"
        assert kv.get("counts", "stale") == "back"
        assert json.loads(worker.handle(WorkerRequest("http://localhost/")).body)["count"] == 43
    finally:
        worker.close()
    assert kv.copies == 1, "only the test's own look at the namespace: no request copied it"


def test_a_native_module_still_gets_the_namespace_with_its_request(
    tmp_path: Path, sandbox: Sandbox, native_modules: dict[str, Path]
) -> None:
    handler = tmp_path / "echo.wasm"
    shutil.copyfile(native_modules["echo"], handler)
    kv = CountingKV()
    kv.put("counts", "visits", "3")
    worker = worker_of(tmp_path, handler, kv, sandbox)
    try:
        received = json.loads(worker.handle(WorkerRequest("http://localhost/")).body)
    finally:
        worker.close()
    assert received["kv"] == {"visits": "3"}
    assert kv.copies == 1
