"""What the host does wrong is never the step's fault, and what goes wrong is in the log: a step whose sandbox
cannot be opened waits for the host (its run is not failed) and completes once it works again, the record saying
what happened; a run that ends failed is one WARNING line (ERROR for a crash or a kill)."""

from __future__ import annotations

import contextlib
import json
import logging
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import running_redis
from wws.kv.memory import MemoryKV
from wws.kv.redis import RedisKV
from wws.pipelines.catalog import PIPELINES_FOLDER
from wws.pipelines.durable import PipelineRuns
from wws.pipelines.plan import load_plan
from wws.pipelines.runner import WorkerSteps
from wws.runtimes.registry import default_registry

READS = """
def step(state, env):
    with open("/data/greeting.txt") as file:
        return {"data": file.read()}
"""


def make_project(project: Path) -> Path:
    handlers = project / PIPELINES_FOLDER / "h"
    (handlers / "_data").mkdir(parents=True)
    (handlers / "_data" / "greeting.txt").write_text("hello")
    (handlers / "reads.py").write_text(READS)
    (handlers / "reads.toml").write_text('[[folders]]\nfrom = "./_data"\nto = "/data"\n')
    (handlers / "throws.js").write_text('export default { step() { throw new Error("no such card"); } };\n')
    (handlers / "broken.js").write_text("export default { step( };\n")
    plans = {
        "read": [{"id": "read", "handler": "h/reads.py"}],
        "declined": [{"id": "charge", "handler": "h/throws.js"}],
        "broken": [{"id": "first", "handler": "h/broken.js"}],
    }
    for name, steps in plans.items():
        (project / PIPELINES_FOLDER / f"{name}.json").write_text(json.dumps({"steps": steps}))
    return project


@contextlib.contextmanager
def launched(project: Path) -> Iterator[PipelineRuns]:
    """The runs of `project` in this process, as a server's (launched, closed at the end)."""
    steps = WorkerSteps(project, kv=MemoryKV())
    runs = PipelineRuns(project, steps)
    runs.launch()
    try:
        yield runs
    finally:
        runs.close()
        steps.close()


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[PipelineRuns]:
    with launched(make_project(tmp_path)) as launched_runs:
        yield launched_runs


def run(runs: PipelineRuns, name: str) -> dict[str, Any]:
    path = runs.project / PIPELINES_FOLDER / f"{name}.json"
    return runs.run(load_plan(path, default_registry()), path.read_text(), None)


def start(runs: PipelineRuns, name: str) -> str:
    path = runs.project / PIPELINES_FOLDER / f"{name}.json"
    return runs.start(load_plan(path, default_registry()), path.read_text(), None).run_id


def wait_until(runs: PipelineRuns, run_id: str, holds: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while not holds(record := runs.show(run_id)):
        assert time.monotonic() < deadline, record
        time.sleep(0.05)
    assert record is not None
    return record


@pytest.mark.slow
def test_a_step_whose_folder_cannot_be_opened_waits_for_the_host_and_completes_once_it_can(
    runs: PipelineRuns, caplog: pytest.LogCaptureFixture
) -> None:
    assert run(runs, "read")["output"] == "hello"  # the step's worker is loaded, its folder mounted
    data = runs.project / PIPELINES_FOLDER / "h" / "_data"
    data.rename(data.with_name("_away"))  # the host loses the folder: not the step's doing
    caplog.set_level(logging.WARNING, "wws.pipelines")
    run_id = start(runs, "read")
    waiting = wait_until(runs, run_id, lambda record: "host_failures" in record["steps"].get("read", {}))
    assert waiting["status"] == "running"
    assert waiting["steps"]["read"]["status"] == "running"
    note = waiting["steps"]["read"]["host_failures"]
    assert note["failures"] >= 1
    assert "the folder /data of its sandbox is unavailable" in note["error"]
    assert str(runs.project) not in note["error"], "a run record shows no host paths"
    data.with_name("_away").rename(data)
    record = wait_until(runs, run_id, lambda record: record["status"] != "running")
    assert record["status"] == "completed"
    assert record["output"] == "hello"
    assert record["steps"]["read"]["attempt"] == 1, "no attempt of the step was spent on the host's failure"
    assert record["steps"]["read"]["host_failures"]["failures"] >= 1
    waits = [entry for entry in caplog.records if entry.getMessage().startswith("pipeline step waits for the host")]
    assert waits, "each failure of the host is logged"
    assert all(entry.levelno == logging.WARNING for entry in waits)
    assert f"run={run_id} pipeline=read step=read" in waits[0].getMessage()
    assert not [entry for entry in caplog.records if entry.getMessage().startswith("pipeline run failed")]


@pytest.mark.slow
def test_a_failed_run_is_one_warning_line_and_an_aborted_one_an_error_line(
    runs: PipelineRuns, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "wws.pipelines")
    declined = run(runs, "declined")
    broken = run(runs, "broken")
    assert (declined["status"], broken["status"]) == ("failed", "failed")
    lines = [entry for entry in caplog.records if entry.getMessage().startswith("pipeline run failed")]
    assert len(lines) == 2, [entry.getMessage() for entry in lines]
    failed, crashed = lines
    assert failed.levelno == logging.WARNING
    assert failed.getMessage().startswith(
        f"pipeline run failed: run={declined['run_id']} pipeline=declined step=charge severity=fail "
        "error='GuestException: "
    )
    assert "no such card" in failed.getMessage()
    assert crashed.levelno == logging.ERROR
    expected = f"run={broken['run_id']} pipeline=broken step=first severity=crash error='LoadError: "
    assert expected in crashed.getMessage()
    assert "\n" not in crashed.getMessage()
    assert crashed.__dict__["run_id"] == broken["run_id"], "the fields travel with the line (JSON logs)"


@pytest.mark.slow
def test_a_step_waiting_for_the_host_when_the_process_stops_runs_in_the_next_one(tmp_path: Path) -> None:
    """Stopping ends the wait without recording anything for the step: the run stays unfinished, and the next
    process (its folder back) runs the step and completes the run."""
    data = make_project(tmp_path) / PIPELINES_FOLDER / "h" / "_data"
    with launched(tmp_path) as first:
        assert run(first, "read")["output"] == "hello"
        data.rename(data.with_name("_away"))
        run_id = start(first, "read")
        wait_until(first, run_id, lambda record: "host_failures" in record["steps"].get("read", {}))
        started = time.monotonic()
    assert time.monotonic() - started < 10, "the stop waited for the host"
    data.with_name("_away").rename(data)
    with launched(tmp_path) as second:  # takes over the runs the stopped process left
        record = wait_until(second, run_id, lambda record: record["status"] != "running")
    assert record["status"] == "completed"
    assert record["output"] == "hello"


@pytest.mark.slow
def test_a_step_whose_kv_store_does_not_answer_waits_for_it_and_completes_once_it_does(tmp_path: Path) -> None:
    """Redis stopped while a step needs it: the step is not failed (its guest saw the KV call refused, which is not
    its fault), and it completes once Redis answers again, with no restart."""
    handlers = tmp_path / PIPELINES_FOLDER / "h"
    handlers.mkdir(parents=True)
    (handlers / "count.js").write_text(
        "export default { async step(state, env) {\n"
        "  const seen = Number((await env.KV.get('seen')) ?? 0) + 1;\n"
        "  await env.KV.put('seen', String(seen));\n"
        "  return { seen };\n"
        "} };\n"
    )
    (handlers / "count.toml").write_text('[data.kv]\nnamespace = "steps"\n')
    plan = tmp_path / PIPELINES_FOLDER / "count.json"
    plan.write_text(json.dumps({"steps": [{"id": "count", "handler": "h/count.js"}]}))
    with running_redis(tmp_path) as (url, server):
        port = urllib.parse.urlsplit(url).port
        kv = RedisKV(url)
        steps = WorkerSteps(tmp_path, kv=kv)
        runs = PipelineRuns(tmp_path, steps)
        runs.launch()
        try:
            assert runs.run(load_plan(plan, default_registry()), plan.read_text(), None)["output"] == {"seen": 1}
            server.terminate()
            server.wait(10)
            run_id = runs.start(load_plan(plan, default_registry()), plan.read_text(), None).run_id
            waiting = wait_until(runs, run_id, lambda record: "host_failures" in record["steps"].get("count", {}))
            assert "its KV store is unavailable" in waiting["steps"]["count"]["host_failures"]["error"]
            with running_redis(tmp_path, port):  # back, empty (nothing saved): the step runs against it
                record = wait_until(runs, run_id, lambda record: record["status"] != "running")
        finally:
            runs.close()
            steps.close()
            kv.close()
    assert record["status"] == "completed"
    assert record["output"] == {"seen": 1}
    assert record["steps"]["count"]["attempt"] == 1
