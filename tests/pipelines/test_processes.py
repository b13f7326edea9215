"""Several `wws serve` processes on one project (its SQLite runs and KV shared): each run executes once, in the
process it was submitted to; a process killed mid-run has its runs taken over by another, within seconds."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.conftest import serving
from wws.kv.sqlite import SqliteKV
from wws.pipelines.durable import RECOVERY_SECONDS

API = "/_wws/pipelines"


def marked_plan(project: Path, wait_ms: int) -> None:
    steps = [
        {"id": "a", "handler": "h/mark.js", "config": {"step": "a"}, "next": {"b": True}},
        {"id": "b", "handler": "h/mark.js", "config": {"step": "b", "wait": wait_ms}, "next": {"c": True}},
        {"id": "c", "handler": "h/mark.js", "config": {"step": "c"}},
    ]
    (project / "pipelines" / "marked.json").write_text(json.dumps({"steps": steps}))


def executions(project: Path, runs: range) -> dict[str, int]:
    """`<run>/<step>` → how many times that step of that run executed, as the steps counted it in KV."""
    store = SqliteKV(project / ".wws" / "kv.sqlite3")
    try:
        return {
            f"{run}/{step}": int(store.get("counts", f"{run}/{step}") or 0) for run in runs for step in ("a", "b", "c")
        }
    finally:
        store.close()


def all_finished(api: str, run_ids: list[str], timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    records = []
    for run_id in run_ids:
        while (record := httpx.get(f"{api}/runs/{run_id}").json())["status"] == "running":
            assert time.monotonic() < deadline, record
            time.sleep(0.1)
        records.append(record)
    return records


@pytest.mark.slow
def test_two_processes_drain_the_runs_submitted_to_both_and_each_executes_once(project: Path) -> None:
    marked_plan(project, wait_ms=100)
    with serving(project) as (first, _), serving(project) as (second, _):
        run_ids = [
            httpx.post(f"{(first, second)[index % 2]}{API}/marked/runs", json={"id": index}).json()["run_id"]
            for index in range(50)
        ]
        records = all_finished(first + API, run_ids, timeout=120)
    assert {record["status"] for record in records} == {"completed"}
    assert set(executions(project, range(50)).values()) == {1}


@pytest.mark.slow
def test_the_runs_of_a_killed_process_are_taken_over_by_another(project: Path) -> None:
    marked_plan(project, wait_ms=3000)
    with serving(project) as (survivor, _):
        with serving(project) as (doomed, process):
            cut = [httpx.post(f"{doomed}{API}/marked/runs", json={"id": i}).json()["run_id"] for i in range(10)]
            kept = [httpx.post(f"{survivor}{API}/marked/runs", json={"id": i}).json()["run_id"] for i in range(10, 20)]
            deadline = time.monotonic() + 60
            while any(count == 0 for key, count in executions(project, range(10)).items() if key.endswith("/b")):
                assert time.monotonic() < deadline, "the runs never reached their step b"
                time.sleep(0.05)
            killed_at = time.monotonic()
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=30)
        records = all_finished(survivor + API, cut + kept, timeout=RECOVERY_SECONDS + 60)
        taken_over_in = time.monotonic() - killed_at
    assert {record["status"] for record in records} == {"completed"}
    counted = executions(project, range(20))
    assert all(counted[f"{run}/c"] == 1 for run in range(20)), counted
    assert all(counted[f"{run}/b"] == 2 for run in range(10)), "cut off in b: b runs again, once"
    assert all(counted[f"{run}/{step}"] == 1 for run in range(10, 20) for step in "abc")
    assert taken_over_in < RECOVERY_SECONDS + 30
