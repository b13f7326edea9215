"""Guests that wait in the host (WASI poll_oneoff: sleep, nanosleep, timers) are stopped at their deadline too."""

from __future__ import annotations

import time

import pytest

from tests.conftest import MakeWorker
from wws.errors import GuestTimeout
from wws.messages import WorkerRequest

SLOW_MACHINE_SECONDS = 2.5
"""How long past a 300 ms deadline a loaded machine may take to answer; the guests below ask for 5 s or more."""


def sleep_request(body: str) -> WorkerRequest:
    return WorkerRequest(url="http://x/", method="POST", body=body.encode())


@pytest.mark.parametrize("body", ["5000", "abs5000", ""], ids=["relative", "absolute", "an hour"])
def test_a_sleeping_guest_is_stopped_at_its_deadline(make_worker: MakeWorker, body: str) -> None:
    worker = make_worker("sleeper", "[limits]\ntimeout_ms = 300\n")
    started = time.monotonic()
    with pytest.raises(GuestTimeout) as failure:
        worker.handle(sleep_request(body))
    elapsed = time.monotonic() - started
    assert 0.29 < elapsed < SLOW_MACHINE_SECONDS
    assert "deadline of 300 ms" in str(failure.value)
    assert "sleeper.wasm" in str(failure.value)


@pytest.mark.parametrize("body", ["150", "abs150"], ids=["relative", "absolute"])
def test_a_sleep_within_the_deadline_really_waits_and_answers(make_worker: MakeWorker, body: str) -> None:
    worker = make_worker("sleeper", "[limits]\ntimeout_ms = 5000\n")
    started = time.monotonic()
    response = worker.handle(sleep_request(body))
    assert response.body == b"awake"
    assert time.monotonic() - started >= 0.15


def test_the_worker_serves_again_after_a_sleeper_was_stopped(make_worker: MakeWorker) -> None:
    worker = make_worker("sleeper", "[limits]\ntimeout_ms = 300\n")
    with pytest.raises(GuestTimeout):
        worker.handle(sleep_request("5000"))
    assert worker.handle(sleep_request("10")).body == b"awake"


def test_a_request_deadline_set_on_arrival_stops_the_guest_before_its_timeout(make_worker: MakeWorker) -> None:
    worker = make_worker("sleeper", "[limits]\ntimeout_ms = 5000\n")
    started = time.monotonic()
    request = WorkerRequest(url="http://x/", method="POST", body=b"4000", deadline=started + 0.3)
    with pytest.raises(GuestTimeout):
        worker.handle(request)  # the 0.3 s it had left after waiting, not its 5 s timeout
    assert time.monotonic() - started < SLOW_MACHINE_SECONDS
