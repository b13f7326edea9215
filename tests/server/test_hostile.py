"""Hostile workers served over HTTP (tests/fixtures/hostile): every request is answered by its deadline, whatever
the guest does, and what one worker holds never starves another."""

from __future__ import annotations

import logging
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import running_redis
from tests.server.conftest import add_worker, running
from wws.sandbox.engine import Sandbox
from wws.server import create_app

HOSTILE = Path(__file__).parent.parent / "fixtures" / "hostile"

SLOW_MACHINE_SECONDS = 2.0
"""Slack on a loaded machine, on top of a deadline plus the one second the server allows itself; the guests below
ask for an hour."""


@pytest.fixture
def hostile(tmp_path: Path, native_modules: dict[str, Path]) -> Path:
    root = tmp_path / "hostile"
    shutil.copytree(HOSTILE, root)
    add_worker(root, native_modules["sleeper"], "native/sleep.wasm")
    add_worker(root, native_modules["log_flood"], "native/flood.wasm")
    return root


@pytest.fixture
def base(hostile: Path, sandbox: Sandbox) -> Iterator[str]:
    app = create_app(hostile, sandbox=sandbox, kv="memory")
    for worker in app.state.project.workers.values():
        worker.load()  # loading (a first Python engine build) is not the guest's time: the timings below are
    try:
        with running(app) as url:
            yield url
    finally:
        app.state.project.close()


def timed_get(url: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.get(url, timeout=60)
    return response, time.monotonic() - started


@pytest.mark.parametrize("path", ["py/sleep", "py/poll", "py/poll?forever", "js/sleep", "native/sleep"])
def test_a_sleeping_guest_gets_its_504_by_its_deadline(base: str, path: str) -> None:
    response, seconds = timed_get(f"{base}/{path}")
    assert response.status_code == 504
    assert "deadline" in response.text
    assert 1.0 <= seconds < 1.0 + 1.0 + SLOW_MACHINE_SECONDS


@pytest.mark.slow
def test_many_stuck_requests_never_starve_another_worker(base: str) -> None:
    sleepers: list[httpx.Response] = []
    lock = threading.Lock()

    def sleep() -> None:
        response = httpx.get(f"{base}/native/sleep", timeout=60)
        with lock:
            sleepers.append(response)

    threads = [threading.Thread(target=sleep) for _ in range(30)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)  # the sleepers hold their worker's 4 slots and 8 places in line now
    hello_seconds = []
    for _ in range(5):
        response, seconds = timed_get(f"{base}/hello")
        assert response.text == "hello"
        hello_seconds.append(seconds)
    for thread in threads:
        thread.join(60)
    assert max(hello_seconds) < 0.5 + SLOW_MACHINE_SECONDS / 2  # far below the sleepers' 1 s deadline
    statuses = sorted(response.status_code for response in sleepers)
    assert set(statuses) == {503, 504}
    assert statuses.count(504) >= 4  # the first four ran until their deadline
    assert statuses.count(503) >= 30 - 4 - 8  # past the line: turned away at once
    busy = next(response for response in sleepers if response.status_code == 503)
    assert busy.headers["retry-after"] == "1"


@pytest.mark.slow
def test_a_guest_stuck_in_a_host_call_is_answered_and_its_instance_never_reused(
    hostile: Path, sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="wws.server.app")
    with running_redis(tmp_path) as (redis_url, redis):
        app = create_app(hostile, sandbox=sandbox, kv=redis_url)
        try:
            with running(app) as url:
                assert httpx.get(f"{url}/py/stuck_kv", timeout=60).text == "1"  # loaded, served
                redis.send_signal(signal.SIGSTOP)  # KV calls now wait on Redis (its client gives up after 5 s)
                try:
                    response, seconds = timed_get(f"{url}/py/stuck_kv?block")
                    assert response.status_code == 504
                    assert seconds < 0.5 + 1.0 + SLOW_MACHINE_SECONDS / 2
                    # Its thread still holds the worker's only slot: the next request waits its turn, in vain.
                    assert httpx.get(f"{url}/py/stuck_kv", timeout=60).status_code == 503
                finally:
                    redis.send_signal(signal.SIGCONT)
                time.sleep(1)  # the stuck call is back
                assert httpx.get(f"{url}/py/stuck_kv", timeout=60).text == "1"  # a new instance, not the one stuck
        finally:
            app.state.project.close()
    assert any("py/stuck_kv.py" in line and "could not stop it" in line for line in caplog.messages)


FLOOD_CAP = 10_000
"""`max_log_bytes` of the flood workers, which log 20 MB each."""


@pytest.mark.slow
@pytest.mark.parametrize("language", ["py", "js", "native"])
def test_a_log_flood_is_cut_at_the_cap_and_the_cut_noted_once(
    base: str, language: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wws.guest")
    response = httpx.get(f"{base}/{language}/flood", timeout=120)
    assert response.text == "flooded"
    worker = f"{language}/flood.{ {'py': 'py', 'js': 'js', 'native': 'wasm'}[language] }"
    records = [record for record in caplog.records if record.name == "wws.guest"]
    assert {getattr(record, "worker", None) for record in records} == {worker}
    assert len({getattr(record, "request_id", None) for record in records}) == 1
    notes = [record for record in records if "over max_log_bytes" in record.getMessage()]
    assert len(notes) == 1
    assert f"{worker} [" in notes[0].getMessage()  # the note names the worker file and the request id
    logged = sum(len(record.getMessage()) for record in records if record not in notes)
    assert FLOOD_CAP / 2 < logged < FLOOD_CAP * 2  # the lines' prefixes (worker, request id) are counted here too
