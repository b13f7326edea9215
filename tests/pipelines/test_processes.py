"""Several `wws serve` processes sharing the runs: on one host, of one project (its SQLite runs and KV), a run
executes in the process it was submitted to; as on several hosts, each with its own copy of the project, through
one Postgres (the runs) and one Redis (the KV), the runs go through a DBOS queue and any process takes them. Each
run executes once; a process killed mid-run has its runs taken over by another: within seconds on one host (its
lock is free), within a minute across hosts (it stops beating)."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import running_redis
from tests.server.conftest import serving
from wws.kv.open import open_kv
from wws.pipelines.heartbeats import DEAD_AFTER_SECONDS

API = "/_wws/pipelines"


@dataclass(frozen=True)
class Deployment:
    """Two places to start `wws serve` from (one project, or two copies of it), and what they share."""

    folders: tuple[Path, Path]
    options: tuple[str, ...]
    """`wws serve` options: one process each (`--workers 1`), so that each server is one process."""
    kv: str
    takeover_seconds: float
    database: str | None = None
    """Postgres: the runs' database (a run executes in whichever process takes it from the queue)."""


def marked_plan(project: Path, wait_ms: int) -> None:
    steps = [
        {"id": "a", "handler": "h/mark.js", "config": {"step": "a"}, "next": {"b": True}},
        {"id": "b", "handler": "h/mark.js", "config": {"step": "b", "wait": wait_ms}, "next": {"c": True}},
        {"id": "c", "handler": "h/mark.js", "config": {"step": "c"}},
    ]
    (project / "pipelines" / "marked.json").write_text(json.dumps({"steps": steps}))


@pytest.fixture(params=["one host, SQLite", "two hosts, Postgres and Redis"])
def deployment(
    request: pytest.FixtureRequest, project: Path, tmp_path_factory: pytest.TempPathFactory, postgres_server: str
) -> Iterator[Deployment]:
    if request.param == "one host, SQLite":
        yield Deployment((project, project), ("--workers", "1"), "sqlite", 10.0)
        return
    elsewhere = tmp_path_factory.mktemp("other-host")
    other = elsewhere / "project"
    shutil.copytree(project, other)
    database = f"{postgres_server}/t_processes_{time.monotonic_ns()}"
    with running_redis(elsewhere) as (redis, _):
        options = ("--workers", "1", "--pipelines-db", database, "--kv", redis)
        yield Deployment((project, other), options, redis, DEAD_AFTER_SECONDS + 15, database)


def post_run(base: str, index: int) -> str:
    run_id: str = httpx.post(f"{base}{API}/marked/runs", json={"id": index}).json()["run_id"]
    return run_id


def executions(deployment: Deployment, runs: range) -> dict[str, int]:
    """`<run>/<step>` → how many times that step of that run executed, as the steps counted it in KV."""
    store = open_kv(deployment.kv, deployment.folders[0])
    try:
        keys = [f"{run}/{step}" for run in runs for step in ("a", "b", "c")]
        return {key: int(store.get("counts", key) or 0) for key in keys}
    finally:
        store.close()


def running_in(deployment: Deployment, folder: Path) -> int:
    """How many runs the process serving `folder` (its executor: its lock file) is running, as Postgres says."""
    executors = [path.stem for path in (folder / ".wws" / "pipeline-executors").glob("*.lock")]
    assert deployment.database is not None
    with psycopg.connect(deployment.database) as connection:
        row = connection.execute(
            "SELECT count(*) FROM dbos.workflow_status WHERE status = 'PENDING' AND executor_id = ANY(%s)",
            (executors,),
        ).fetchone()
    return int(row[0]) if row else 0


def all_finished(api: str, run_ids: list[str], timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    records = []
    for run_id in run_ids:
        while (record := httpx.get(f"{api}/runs/{run_id}").json())["status"] == "running":
            assert time.monotonic() < deadline, record
            time.sleep(0.1)
        records.append(record)
    return records


@contextlib.contextmanager
def two_servers(deployment: Deployment, wait_ms: int) -> Iterator[tuple[str, tuple[str, Any]]]:
    for folder in deployment.folders:
        marked_plan(folder, wait_ms)
    with (
        serving(deployment.folders[0], *deployment.options) as (first, _),
        serving(deployment.folders[1], *deployment.options) as second,
    ):
        yield first, second


@pytest.mark.slow
def test_two_processes_drain_the_runs_submitted_to_both_and_each_executes_once(deployment: Deployment) -> None:
    with two_servers(deployment, wait_ms=100) as (first, (second, _)):
        run_ids = [
            httpx.post(f"{(first, second)[index % 2]}{API}/marked/runs", json={"id": index}).json()["run_id"]
            for index in range(50)
        ]
        records = all_finished(first + API, run_ids, timeout=120)
    assert {record["status"] for record in records} == {"completed"}
    assert set(executions(deployment, range(50)).values()) == {1}
    if deployment.database is not None:  # through the queue: both processes took some
        with psycopg.connect(deployment.database) as connection:
            executors = connection.execute(
                "SELECT count(DISTINCT executor_id) FROM dbos.workflow_status WHERE name = 'wws-pipeline-run'"
            ).fetchone()
        assert executors == (2,)


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "stopped"])
def test_the_runs_of_a_killed_or_stopped_process_are_taken_over_by_another(
    deployment: Deployment, stop: signal.Signals
) -> None:
    with two_servers(deployment, wait_ms=3000) as (survivor, (doomed, process)):
        cut = [httpx.post(f"{doomed}{API}/marked/runs", json={"id": i}).json()["run_id"] for i in range(10)]
        kept = [httpx.post(f"{survivor}{API}/marked/runs", json={"id": i}).json()["run_id"] for i in range(10, 20)]
        deadline = time.monotonic() + 60
        while any(count == 0 for key, count in executions(deployment, range(10)).items() if key.endswith("/b")):
            assert time.monotonic() < deadline, "the runs never reached their step b"
            time.sleep(0.05)
        while deployment.database is not None and not running_in(deployment, deployment.folders[1]):
            assert time.monotonic() < deadline, "the process to kill took no run from the queue"
            time.sleep(0.05)
        killed_at = time.monotonic()
        process.send_signal(stop)  # a stop leaves its runs unfinished as a death does, and fails none of them
        process.communicate(timeout=30)
        records = all_finished(survivor + API, cut + kept, timeout=deployment.takeover_seconds + 60)
        taken_over_in = time.monotonic() - killed_at
    assert {record["status"] for record in records} == {"completed"}
    counted = executions(deployment, range(20))
    if deployment.database is None:  # each run in the process it was submitted to
        assert all(counted[f"{run}/c"] == 1 for run in range(20)), counted
        assert all(counted[f"{run}/b"] == 2 for run in range(10)), "cut off in b: b runs again, once"
        assert all(counted[f"{run}/{step}"] == 1 for run in range(10, 20) for step in "abc")
    else:  # any process took each run from the queue: a step the killed one was running runs again, once
        assert set(counted.values()) <= {1, 2}, counted
        assert 2 in counted.values(), "the killed process was running a step: it runs again"
    assert taken_over_in < deployment.takeover_seconds + 20


@pytest.mark.slow
def test_workers_of_one_server_share_the_runs(project: Path) -> None:
    marked_plan(project, wait_ms=50)
    with serving(project, "--workers", "2") as (base, _):
        api = base + API
        run_ids = [httpx.post(f"{api}/marked/runs", json={"id": index}).json()["run_id"] for index in range(20)]
        records = all_finished(api, run_ids, timeout=120)
        streamed = [httpx.get(f"{api}/runs/{run_id}/events", timeout=30).text for run_id in run_ids[:4]]
        executors = {path.stem for path in (project / ".wws" / "pipeline-executors").glob("*.lock")}
    assert len(executors) == 2, "each worker process is its own executor"
    assert {record["status"] for record in records} == {"completed"}
    counted = executions(Deployment((project, project), (), "sqlite", 10.0), range(20))
    assert set(counted.values()) == {1}
    assert all(text.rstrip().endswith('"status":"completed","output":{"id":' + str(i) + "}}") for i, text in
               enumerate(streamed))  # fmt: skip


@pytest.mark.slow
def test_a_burst_submitted_to_one_process_is_shared_with_the_other(
    project: Path, tmp_path_factory: pytest.TempPathFactory, postgres_server: str
) -> None:
    """Each process takes at most `runs_per_process` (8) runs of the queue at once: 16 runs posted to one server,
    each a second long, are run by both."""
    other = tmp_path_factory.mktemp("other-host") / "project"
    shutil.copytree(project, other)
    database = f"{postgres_server}/t_burst_{time.monotonic_ns()}"
    deployment = Deployment((project, other), ("--workers", "1", "--pipelines-db", database), "sqlite", 0, database)
    with two_servers(deployment, wait_ms=1000) as (first, _):
        with ThreadPoolExecutor(16) as pool:  # all queued within one look of the processes at the queue
            run_ids = list(pool.map(lambda index: post_run(first, index), range(16)))
        records = all_finished(first + API, run_ids, timeout=120)
    assert {record["status"] for record in records} == {"completed"}
    with psycopg.connect(database) as connection:
        shares = connection.execute(
            "SELECT executor_id, count(*) FROM dbos.workflow_status WHERE name = 'wws-pipeline-run' GROUP BY 1"
        ).fetchall()
    assert len(shares) == 2, shares
    assert min(count for _, count in shares) >= 4, shares
