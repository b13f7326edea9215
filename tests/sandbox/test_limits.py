"""Hostile guests: each is stopped by its limit with a clear error, and the worker keeps serving afterwards."""

from __future__ import annotations

import pytest

from tests.conftest import MakeWorker
from wws.errors import BadGuestOutput, GuestTimeout, MemoryLimitExceeded
from wws.messages import WorkerRequest

REQUEST = WorkerRequest(url="http://x/")


def test_infinite_loop_is_stopped_by_the_deadline(make_worker: MakeWorker) -> None:
    worker = make_worker("loop", "[limits]\ntimeout_ms = 200\n")
    with pytest.raises(GuestTimeout) as failure:
        worker.handle(REQUEST)
    assert failure.value.status == 504
    assert "deadline of 200 ms" in str(failure.value)
    assert "loop.wasm" in str(failure.value)


def test_memory_bomb_is_stopped_by_the_cap(make_worker: MakeWorker) -> None:
    worker = make_worker("membomb", "[limits]\nmemory_mb = 16\n")
    with pytest.raises(MemoryLimitExceeded) as failure:
        worker.handle(REQUEST)
    assert failure.value.status == 500
    assert "memory limit of 16 MiB" in str(failure.value)


def test_module_needing_more_memory_than_the_cap_at_start_is_a_memory_error(make_worker: MakeWorker) -> None:
    worker = make_worker("big_memory", "[limits]\nmemory_mb = 16\n")
    with pytest.raises(MemoryLimitExceeded, match="memory limit of 16 MiB"):
        worker.handle(REQUEST)


def test_printing_100_mb_to_stdout_is_cut_off_at_the_response_cap(make_worker: MakeWorker) -> None:
    worker = make_worker("printer")
    with pytest.raises(BadGuestOutput) as failure:
        worker.handle(REQUEST)
    assert "exceeded 16777216 bytes" in str(failure.value)


def test_printing_100_mb_to_stderr_keeps_the_cap_and_the_response(make_worker: MakeWorker) -> None:
    worker = make_worker("printer", "[limits]\nmax_log_bytes = 4096\n")
    response = worker.handle(WorkerRequest(url="http://x/", method="POST", body=b"stderr"))
    assert response.body == b"survived"
    kept, _, note = response.log.partition(b"\n[wws: ")
    assert kept == b"x" * 4096
    assert note == b"log output over max_log_bytes (4096 bytes); the rest of this request's log is dropped]\n"


def test_a_worker_serves_again_after_its_guest_was_stopped(make_worker: MakeWorker) -> None:
    worker = make_worker("counter_reactor", "[limits]\ntimeout_ms = 100\n")
    with pytest.raises(GuestTimeout):
        worker.handle(WorkerRequest(url="http://x/", method="POST", body=b"loop"))
    assert worker.handle(REQUEST).body == b"1"
