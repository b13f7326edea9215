"""Pipelines: a 3-step plan run durably end to end, the handler's own call, and DBOS's own cost, in one run.

The goal (issue "Pipelines, part 1"): what wws adds per step beyond the handler's own call stays within 1.5x of what
DBOS itself costs per step. `(pipeline - 3 x handler) / 3` is compared with `dbos_writes / 3`: a DBOS workflow that
makes the durable writes wws makes for a chain of three steps (its first events, then per step a DBOS step and the
events it settles, written to the run's stream, then the run's final status), with steps that do nothing. So the
ratio is the cost of wws's own code (scheduling, the guest's thread, state and errors) next to DBOS's. The ratio to a
plainer DBOS workflow (a step and an event per step, what wws wrote before its events were a numbered stream) is
printed too: that one also counts the writes wws chose to make.

Run: `pytest benchmarks/test_pipelines.py --benchmark-columns=median,mean,rounds -s`
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS, SetWorkflowID
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.projects import CHAIN, chain_project
from benchmarks.test_hot_path import record
from wws.kv.memory import MemoryKV
from wws.messages import StepCall
from wws.pipelines.durable import PipelineRuns
from wws.pipelines.plan import load_plan
from wws.pipelines.runner import WorkerSteps
from wws.pipelines.state import step_input
from wws.runtimes.registry import default_registry
from wws.sandbox.engine import Sandbox

OVERHEAD_TARGET = 1.5
DURABLE_ROUNDS = {"rounds": 40, "warmup_rounds": 5}
"""The same for the pipeline and DBOS's own workflow: both warmed up (SQLAlchemy compiles its statements on first
use), then enough rounds for a median on a noisy machine (pytest-benchmark's own calibration gave the pipeline 5)."""
_ids = itertools.count()


@DBOS.step(name="bench-noop-step")
async def _noop_step(value: int) -> int:
    return value + 1


@DBOS.workflow(name="bench-noop-workflow")
async def _noop_workflow(value: int) -> int:
    for _ in range(3):  # a step, then an event
        value = await _noop_step(value)
        await DBOS.set_event_async("record", {"value": value})
    return value


@DBOS.workflow(name="bench-wws-writes-workflow")
async def _wws_writes_workflow(value: int) -> int:
    await DBOS.write_stream_async("events", [{"id": 1, "event": "run-start"}, {"id": 2, "event": "step-start"}])
    for index in range(3):  # a step, then the events it settles
        value = await _noop_step(value)
        events = [{"id": 3 + index, "event": "step-complete", "data": {"output": value}}]
        if index == 2:
            await DBOS.update_workflow_attributes_async(DBOS.workflow_id or "", {"status": "completed"}, merge=True)
        await DBOS.write_stream_async("events", events)
    return value


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return chain_project(tmp_path_factory.mktemp("pipeline-bench"))


@pytest.fixture(scope="module")
def steps(project: Path, bench_sandbox: Sandbox) -> Iterator[WorkerSteps]:
    runner = WorkerSteps(project, kv=MemoryKV(), sandbox=bench_sandbox)
    yield runner
    runner.close()


@pytest.fixture(scope="module")
def runs(project: Path, steps: WorkerSteps) -> Iterator[PipelineRuns]:
    durable = PipelineRuns(project, steps)
    durable.launch()
    yield durable
    durable.close()


def test_pipeline_of_three_steps_end_to_end(
    benchmark: BenchmarkFixture, runs: PipelineRuns, project: Path, medians: dict[str, float]
) -> None:
    path = project / "pipelines" / f"{CHAIN}.json"
    plan, text = load_plan(path, default_registry()), path.read_text()

    def run() -> Any:
        return runs.run(plan, text, 1, f"bench-{next(_ids)}")["output"]

    assert benchmark.pedantic(run, **DURABLE_ROUNDS) == 4
    record(benchmark, medians, "pipeline_3_steps")


def test_step_handler_alone(
    benchmark: BenchmarkFixture, steps: WorkerSteps, project: Path, medians: dict[str, float]
) -> None:
    worker = steps.worker(project / "pipelines" / "steps" / "add.js")
    call = StepCall(step_input({"data": 1, "errors": {}}, {}))
    assert benchmark(lambda: worker.run_step(call).state) == b"2"
    record(benchmark, medians, "step_handler")


@pytest.mark.parametrize(
    ("workflow", "name"),
    [(_noop_workflow, "dbos_3_steps"), (_wws_writes_workflow, "dbos_writes")],
    ids=["plain", "wws-writes"],
)
def test_dbos_workflow_of_three_empty_steps(
    benchmark: BenchmarkFixture,
    runs: PipelineRuns,
    medians: dict[str, float],
    workflow: Callable[[int], Awaitable[int]],
    name: str,
) -> None:
    def run() -> Any:
        with SetWorkflowID(f"{name}-{next(_ids)}"):
            return DBOS.start_workflow(workflow, 1).get_result()

    assert benchmark.pedantic(run, **DURABLE_ROUNDS) == 4
    record(benchmark, medians, name)


def test_per_step_overhead_is_within_the_goal_of_dbos_own_cost(medians: dict[str, float]) -> None:
    if not {"pipeline_3_steps", "step_handler", "dbos_3_steps", "dbos_writes"} <= set(medians):
        pytest.skip("no timings to compare (run without --benchmark-disable, and the whole file)")
    overhead = (medians["pipeline_3_steps"] - 3 * medians["step_handler"]) / 3
    dbos_per_step = medians["dbos_writes"] / 3
    ratio = overhead / dbos_per_step
    plain_per_step = medians["dbos_3_steps"] / 3
    print(
        f"\npipeline of 3 steps {medians['pipeline_3_steps'] * 1e3:.2f} ms; handler alone "
        f"{medians['step_handler'] * 1e3:.2f} ms; wws per step beyond the handler {overhead * 1e3:.2f} ms; "
        f"DBOS per step, making wws's writes {dbos_per_step * 1e3:.2f} ms: ratio {ratio:.2f} (goal <= "
        f"{OVERHEAD_TARGET}); a plain DBOS step and event {plain_per_step * 1e3:.2f} ms: ratio "
        f"{overhead / plain_per_step:.2f}"
    )
    assert ratio <= OVERHEAD_TARGET
