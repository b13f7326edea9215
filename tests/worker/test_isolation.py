"""Isolation modes: nothing survives a request in `request` mode; warm instances count up in `instance` mode and are
retired after max_requests, an error or a timeout."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import MakeWorker
from wws.errors import GuestTimeout, GuestTrap
from wws.messages import WorkerRequest
from wws.worker.isolation import WarmPool

GET = WorkerRequest(url="http://x/")


def counts(worker: object, times: int = 3) -> list[int]:
    return [int(worker.handle(GET).body) for _ in range(times)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("module", ["counter", "counter_reactor"])
def test_request_isolation_starts_every_request_from_scratch(make_worker: MakeWorker, module: str) -> None:
    assert counts(make_worker(module)) == [1, 1, 1]


def test_instance_isolation_keeps_guest_memory_between_requests(make_worker: MakeWorker) -> None:
    assert counts(make_worker("counter_reactor", 'isolation = "instance"\n')) == [1, 2, 3]


def test_instance_isolation_retires_an_instance_after_max_requests(make_worker: MakeWorker) -> None:
    worker = make_worker("counter_reactor", 'isolation = "instance"\nmax_requests = 2\n')
    assert counts(worker, 5) == [1, 2, 1, 2, 1]


def test_instance_that_timed_out_is_never_reused(make_worker: MakeWorker) -> None:
    worker = make_worker("counter_reactor", 'isolation = "instance"\n[limits]\ntimeout_ms = 100\n')
    assert counts(worker, 2) == [1, 2]
    with pytest.raises(GuestTimeout):
        worker.handle(WorkerRequest(url="http://x/", method="POST", body=b"loop"))
    assert counts(worker, 2) == [1, 2]
    pool = worker.load()
    assert isinstance(pool, WarmPool)
    assert pool.created == 2


def test_instance_that_trapped_is_never_reused(make_worker: MakeWorker) -> None:
    worker = make_worker("counter_reactor", 'isolation = "instance"\n')
    assert counts(worker, 2) == [1, 2]
    with pytest.raises(GuestTrap):
        worker.handle(WorkerRequest(url="http://x/", method="POST", body=b"trap"))
    assert counts(worker, 1) == [1]


def test_instance_isolation_of_a_command_module_warns_and_runs_fresh(
    make_worker: MakeWorker, caplog: pytest.LogCaptureFixture
) -> None:
    worker = make_worker("counter", 'isolation = "instance"\n')
    with caplog.at_level(logging.WARNING, logger="wws.worker.worker"):
        assert counts(worker) == [1, 1, 1]
    assert "cannot serve two requests on one instance" in caplog.text
    assert "counter.wasm" in caplog.text


def test_instance_isolation_never_shares_an_instance_between_concurrent_requests(
    make_worker: MakeWorker,
) -> None:
    worker = make_worker("counter_reactor", 'isolation = "instance"\n')
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: int(worker.handle(GET).body), range(200)))
    warm = worker.load()
    assert isinstance(warm, WarmPool)
    # each instance counts its own requests 1..n without gaps or repeats: no two requests ran on one at once
    assert sorted(results).count(1) == warm.created
    assert sum(results.count(n) for n in range(1, 201)) == 200
    per_value = [results.count(n) for n in range(1, max(results) + 1)]
    assert per_value == sorted(per_value, reverse=True)
    assert warm.created <= 4 + 1
