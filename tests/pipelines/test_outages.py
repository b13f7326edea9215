"""The runs' database going away is not the end of anything: with Postgres stopped for a few seconds while runs have
steps in flight, `wws serve` keeps running, its pipelines API answers 503 at once (JSON, `Retry-After`) and starts
nothing, and every run accepted before the outage completes once the database is back. SQLite locked by another
process for a few seconds fails no run either."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import postgres_instance
from tests.pipelines.test_processes import marked_plan
from tests.server.conftest import serving
from wws.kv.open import open_kv

API = "/_wws/pipelines"


def executions_in(project: Path, runs: Iterable[int]) -> dict[str, int]:
    """`<run>/<step>` → how many times that step of that run executed, as the steps counted it in the project's KV."""
    store = open_kv("sqlite", project)
    try:
        return {f"{run}/{step}": int(store.get("counts", f"{run}/{step}") or 0) for run in runs for step in "abc"}
    finally:
        store.close()


def finished(api: str, run_ids: list[str], timeout: float) -> list[dict[str, Any]]:
    """The records of the runs once none is running (a 503 while the database comes back is waited out)."""
    deadline = time.monotonic() + timeout
    records = []
    for run_id in run_ids:
        while True:
            answer = httpx.get(f"{api}/runs/{run_id}", timeout=30)
            if answer.status_code == 200 and answer.json()["status"] != "running":
                records.append(answer.json())
                break
            assert time.monotonic() < deadline, (run_id, answer.status_code, answer.text)
            time.sleep(0.1)
    return records


@pytest.mark.slow
@pytest.mark.parametrize("processes", [("--workers", "1"), ()], ids=["one process", "default processes"])
def test_the_runs_survive_their_postgres_database_stopping_for_a_few_seconds(
    project: Path, processes: tuple[str, ...]
) -> None:
    marked_plan(project, wait_ms=1500)
    with postgres_instance() as database, serving(project, *processes, "--pipelines-db", database.url) as served:
        base, process = served
        api = base + API
        accepted = [httpx.post(f"{api}/marked/runs", json={"id": index}).json()["run_id"] for index in range(8)]
        deadline = time.monotonic() + 60
        while not any(count for key, count in executions_in(project, range(8)).items() if key.endswith("/b")):
            assert time.monotonic() < deadline, "no run reached its step b"
            time.sleep(0.05)
        database.stop()  # pg_ctl stop -m fast, steps in flight
        while (probe := httpx.get(f"{api}/runs/{accepted[0]}", timeout=30)).status_code != 503:
            assert time.monotonic() < deadline, "the API never said the database is gone"
            time.sleep(0.05)
        started = time.monotonic()
        shown = httpx.get(f"{api}/runs/{accepted[0]}", timeout=30)
        refused = httpx.post(f"{api}/marked/runs", json={"id": 99}, timeout=30)
        listed = httpx.get(f"{api}/marked/runs", timeout=30)
        answered_in = time.monotonic() - started
        time.sleep(3)  # a few seconds without a database
        database.start()
        records = finished(api, accepted, timeout=60)
        runs = httpx.get(f"{api}/marked/runs?limit=100").json()["runs"]
        process.terminate()
        _, log = process.communicate(timeout=30)
    for answer in (probe, shown, refused, listed):
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "2"
        assert "the pipelines database does not answer" in answer.json()["error"]
    assert answered_in < 3, "three answers at once, not after waiting for the database (it hung 5 to 16 s)"
    assert {record["status"] for record in records} == {"completed"}
    assert {run["run_id"] for run in runs} == set(accepted), "the refused POST created no run"
    assert executions_in(project, [99])["99/a"] == 0
    assert "does not answer" in log
    assert "answers again" in log
    assert "Traceback" not in log, log


@pytest.mark.slow
def test_a_sqlite_database_locked_by_another_process_for_a_few_seconds_fails_no_run(project: Path) -> None:
    marked_plan(project, wait_ms=300)
    with serving(project, "--workers", "1") as (base, _):
        api = base + API
        accepted = [httpx.post(f"{api}/marked/runs", json={"id": index}).json()["run_id"] for index in range(6)]
        locker = sqlite3.connect(project / ".wws" / "pipelines.sqlite", timeout=30)
        try:
            locker.execute("BEGIN EXCLUSIVE")  # no one else reads or writes the runs meanwhile
            time.sleep(3)
            locker.rollback()
        finally:
            locker.close()
        records = finished(api, accepted, timeout=60)
    assert {record["status"] for record in records} == {"completed"}
