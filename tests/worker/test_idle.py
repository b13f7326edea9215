"""Idle workers give their memory back: after `idle_ms` without a request, a worker drops its instances and what it
loaded, and its next request loads it again; within `idle_ms`, an instance keeps its state."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import MakeWorker
from tests.runtimes.support import MakeWorker as MakeJsWorker
from tests.runtimes.support import get, source_workers
from tests.server.conftest import serving
from wws.messages import StepCall, WorkerRequest
from wws.pipelines.runner import WorkerSteps
from wws.runtimes.javascript import JavaScriptProgram
from wws.sandbox.engine import Sandbox
from wws.worker import idle

GET = WorkerRequest(url="http://x/")
WARM_COUNTER = 'isolation = "instance"\n[limits]\nidle_ms = 50\n'
JS_COUNTER = "let n = 0;\nexport default { fetch: () => new Response(String(++n)) };\n"


@pytest.fixture
def js_worker(tmp_path: Path, sandbox: Sandbox) -> Iterator[MakeJsWorker]:
    with source_workers(tmp_path, sandbox, "index.js") as make:
        yield make


def counts(worker: object, times: int) -> list[int]:
    return [int(worker.handle(GET).body) for _ in range(times)]  # type: ignore[attr-defined]


def test_a_warm_instance_keeps_its_state_within_idle_ms_and_starts_over_after_it(make_worker: MakeWorker) -> None:
    worker = make_worker("counter_reactor", WARM_COUNTER)
    assert counts(worker, 2) == [1, 2]
    assert not worker.release_if_idle(worker.config.limits.idle_ms), "it was used just now"
    assert counts(worker, 1) == [3]
    time.sleep(0.1)
    assert worker.release_if_idle(worker.config.limits.idle_ms)
    assert not worker.loaded
    assert not worker.release_if_idle(worker.config.limits.idle_ms), "nothing is left to release"
    assert counts(worker, 2) == [1, 2], "loaded again, on a new instance"


def test_idle_ms_0_keeps_a_worker_for_as_long_as_it_is_served(make_worker: MakeWorker) -> None:
    worker = make_worker("counter_reactor", 'isolation = "instance"\n[limits]\nidle_ms = 0\n')
    assert counts(worker, 1) == [1]
    assert not worker.release_if_idle(0, now=time.monotonic() + 86_400)
    assert counts(worker, 1) == [2]


def test_a_javascript_worker_drops_the_instances_it_kept_for_reuse(js_worker: MakeJsWorker) -> None:
    worker = js_worker(JS_COUNTER)
    assert get(worker).body == b"1"
    program = worker._program
    assert isinstance(program, JavaScriptProgram)
    assert program._recycled, "request isolation keeps its reset instance for the next request"
    assert worker.release_if_idle(1, now=time.monotonic() + 1)
    assert program._recycled == []
    assert worker._program is None
    assert get(worker).body == b"1"
    assert worker._program is not program, "its image was made again"


def test_a_worker_is_never_released_while_a_request_runs(js_worker: MakeJsWorker) -> None:
    worker = js_worker(
        "export default { async fetch() { await new Promise((done) => setTimeout(done, 400)); "
        "return new Response('slept'); } };\n",
        'isolation = "instance"\n',
    )
    assert get(worker).body == b"slept"
    answers: list[bytes] = []
    running = threading.Thread(target=lambda: answers.append(get(worker).body))
    running.start()
    time.sleep(0.15)
    assert not worker.release_if_idle(1, now=time.monotonic() + 60), "a request is running"
    running.join()
    assert answers == [b"slept"]
    assert worker.release_if_idle(1, now=time.monotonic() + 60)


@pytest.mark.parametrize("processes", [("--workers", "1"), ()], ids=["one process", "default processes"])
def test_wws_serve_releases_idle_workers_and_serves_them_again(tmp_path: Path, processes: tuple[str, ...]) -> None:
    """`--idle-ms` applies to every worker; one keep-alive connection reaches one process, whose warm counter
    counts up, then starts over once it was idle."""
    (tmp_path / "counter.js").write_text(JS_COUNTER)
    (tmp_path / "counter.toml").write_text('isolation = "instance"\n')
    with serving(tmp_path, "--idle-ms", "300", *processes) as (base, _), httpx.Client(base_url=base) as client:
        assert [client.get("/counter").text for _ in range(3)] == ["1", "2", "3"]
        time.sleep(1.5)
        assert [client.get("/counter").text for _ in range(2)] == ["1", "2"]


def test_pipeline_step_workers_are_released_too(tmp_path: Path, sandbox: Sandbox) -> None:
    (tmp_path / "add.js").write_text("export default { step: (state) => state.data + 1 };\n")
    steps = WorkerSteps(tmp_path, sandbox=sandbox)
    try:
        worker = steps.worker(tmp_path / "add.js")
        call = StepCall('{"data": 1, "errors": [], "config": {}}', "run/add/1", 0.0, {}, None)
        assert worker.run_step(call).state == b"2"
        assert idle.release_idle(steps.workers(), 60_000) == 0, "used just now"
        time.sleep(0.05)
        assert idle.release_idle(steps.workers(), 10) == 1
        assert not worker.loaded
        assert worker.run_step(call).state == b"2"
    finally:
        steps.close()


def test_idle_workers_are_looked_for_every_half_of_the_shortest_idle_ms(make_worker: MakeWorker) -> None:
    workers = [make_worker("counter_reactor", f"[limits]\nidle_ms = {ms}\n", f"w{ms}.wasm") for ms in (0, 60_000, 800)]
    assert idle.check_seconds(workers) == 0.4
    assert idle.check_seconds(workers[:2]) == idle.CHECK_MAX_SECONDS
    assert idle.check_seconds(workers, idle_ms=0) == idle.CHECK_MAX_SECONDS, "0: never released, rarely looked"
    assert idle.check_seconds(workers, idle_ms=20) == idle.CHECK_MIN_SECONDS


def test_a_released_worker_serves_the_same_version_when_its_files_changed_meanwhile(js_worker: MakeJsWorker) -> None:
    """A new version is the reloader's to make (`wws serve --watch`), never a side effect of idling."""
    worker = js_worker("export default { fetch: () => new Response('first') };\n")
    assert get(worker).body == b"first"
    worker.path.write_text("export default { fetch: () => new Response('second') };\n")
    assert worker.release_if_idle(1, now=time.monotonic() + 1)
    assert get(worker).body == b"first"
