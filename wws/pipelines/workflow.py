"""The DBOS workflow that walks a plan, and its steps: what is recorded, in which order, so that a run replays.

A run is one workflow (its id is the run's id) and, for each time it is run again from a step, one more: a
*rerun* (`<run_id>~<n>`), which starts where the run's events leave it. Each walks the plan the same way: each
scheduled step (all its attempts and their backoff) is one DBOS step, started as soon as its upstreams have settled;
a wait step is a durable `recv` of its data. Which step the run settles next is itself recorded when several run
(a completion log, as a tiny DBOS step): replayed after a crash, the run settles its steps in the order it did the
first time, whatever finishes first now, so it makes the same decisions and calls its DBOS operations in the same
order, which DBOS needs to replay a workflow. The events decided after each settlement are one write to the
workflow's `events` stream.

A cancelled workflow (DBOS's cancel) stops at its next DBOS operation: DBOS refuses them all from then on.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from typing import TYPE_CHECKING, Any, Protocol

from dbos import DBOS
from dbos._error import DBOSWorkflowCancelledError

from wws.errors import ProcessStopping, WwsError
from wws.pipelines.executor import attempts
from wws.pipelines.outputs import OutputStore
from wws.pipelines.plan import Plan, Step, StepType
from wws.pipelines.reports import report_ending, report_host_failure
from wws.pipelines.scheduler import Scheduler, Severity, StepError

if TYPE_CHECKING:
    from wws.pipelines.runner import WorkerSteps

EVENTS_STREAM = "events"
"""The DBOS stream of a workflow's events (a batch after each step settles, in order; see `Scheduler`). It is not
closed (one write fewer per run): its last event, `run-complete` or `run-error`, says it is over, and DBOS ends a
stream whose workflow has ended (a cancelled one stops short of it). A run's record as it stands is rebuilt from
them: one write per step, however large the run."""
WORKFLOW_NAME = "wws-pipeline-run"
RERUN_NAME = "wws-pipeline-rerun"
RERUN_SEPARATOR = "~"
"""Between a run's id and the number of one of its reruns: `age-gate.3f9c…~2`."""
RUNS_QUEUE = "wws-pipeline-runs"
"""The DBOS queue of the runs when several hosts share them (Postgres): any process takes each, exactly one."""
QUEUE_POLL_SECONDS = 0.05
"""How often each process looks for runs to take from the queue."""
CANCEL_CHECK_SECONDS = 1.0
"""How often a run looks whether another process cancelled it, to interrupt its steps here."""
RESOLVE_TOPIC = "wws-resolve:"
"""+ a wait step's id: the DBOS message topic on which that step receives its data."""


class RunsHost(Protocol):
    """What the workflows need of the launched `PipelineRuns` of this process."""

    steps: WorkerSteps
    outputs: OutputStore
    stopping: threading.Event
    """Set when the process stops: a step waiting for the host is left unfinished."""

    def plan(self, plan_file: str, plan_text: str) -> Plan: ...

    def aborted(self, run_id: str) -> threading.Event: ...

    def forget(self, run_id: str) -> None: ...

    def events(self, run_id: str) -> list[dict[str, Any]]: ...

    def published(self, workflow_id: str) -> None: ...

    def note_host_failure(self, run_id: str, step_id: str, failures: int, cause: str) -> None: ...


_current: list[RunsHost] = []
"""The launched `PipelineRuns` of this process: DBOS's workflows are module functions, and find it here."""


def install(host: RunsHost) -> None:
    if _current:
        raise WwsError("pipelines are already running in this process (DBOS is one per process)")
    _current.append(host)


def uninstall() -> None:
    _current.clear()


def _host() -> RunsHost:
    if not _current:
        raise WwsError("no PipelineRuns is launched in this process")
    return _current[0]


@DBOS.workflow(name=WORKFLOW_NAME)
async def pipeline_run(plan_file: str, plan_text: str, run_input: Any) -> dict[str, Any]:
    """A run, from its first step."""
    run_id = DBOS.workflow_id or ""
    plan = _host().plan(plan_file, plan_text)
    return await _walk(plan_file, plan_text, run_id, Scheduler(plan, run_input))


@DBOS.workflow(name=RERUN_NAME)
async def pipeline_rerun(plan_file: str, plan_text: str, run_input: Any, run_id: str, step_id: str) -> dict[str, Any]:
    """A finished run again from `step_id`: the events it has so far (every earlier workflow of the run: finished,
    so the same in a replay) say where it stands."""
    host = _host()
    plan = host.plan(plan_file, plan_text)
    # Read outside the workflow's context: DBOS would record each read, and the history never changes.
    history = await asyncio.to_thread(contextvars.Context().run, host.events, run_id)
    await DBOS.update_workflow_attributes_async(run_id, {"status": "running"}, merge=True)
    scheduler = Scheduler(plan, run_input, history, rerun=step_id, load=host.outputs.get)
    return await _walk(plan_file, plan_text, run_id, scheduler)


async def _walk(plan_file: str, plan_text: str, run_id: str, scheduler: Scheduler) -> dict[str, Any]:
    """Run the scheduler's steps to the end of the run; its record."""
    host = _host()
    plan = scheduler.plan
    running: dict[str, asyncio.Task[dict[str, Any]]] = {}
    watch = asyncio.create_task(_watch_for_cancel(DBOS.workflow_id or "", run_id))
    try:
        while True:
            for step_id, state in scheduler.start():
                previous = scheduler.steps[step_id].attempt
                step = plan.step(step_id)
                if step.type is StepType.WAIT:
                    assert step.timeout_ms is not None
                    running[step_id] = asyncio.create_task(_wait_step(step_id, state, step.timeout_ms, previous))
                else:
                    every_attempt = _pipeline_step(plan_file, plan_text, run_id, step_id, state, previous=previous)
                    running[step_id] = asyncio.create_task(every_attempt)
            if not running:
                break
            await _publish(scheduler)  # the last settlement's events and the starts it allowed, in one write
            await asyncio.sleep(0)  # the new steps take their places in the workflow's record before anything else
            done, _ = await asyncio.wait(running.values(), return_when=asyncio.FIRST_COMPLETED)
            first = min(step_id for step_id, task in running.items() if task in done)
            # What this run settled next the first time it got here; with one step running there is no choice.
            step_id = await _settled_next(first) if len(running) > 1 else first
            outcome = await running.pop(step_id)
            if outcome["error"] is not None:
                error = StepError(
                    Severity(outcome["error"]["severity"]), outcome["error"]["type"], outcome["error"]["message"]
                )
                scheduler.fail(step_id, error, outcome["attempts"])
            else:
                output, reference = outcome["output"], outcome.get("reference")
                if reference is not None:  # the steps it flows into get the data itself
                    output = {**output, "data": await asyncio.to_thread(host.outputs.get, reference)}
                scheduler.complete(step_id, output, outcome["attempts"], reference)
    finally:
        watch.cancel()
        for task in running.values():  # a cancelled run: its steps' late results are not wanted
            task.cancel()
        host.forget(run_id)
    record = scheduler.finish(run_id)
    # Listed with its final status before its last event says it is over: whoever reacts to it finds it so.
    await DBOS.update_workflow_attributes_async(run_id, {"status": record["status"]}, merge=True)
    await _publish(scheduler)  # its last batch ends with `run-complete` or `run-error`: the stream ends there
    report_ending(record)
    return record


async def _watch_for_cancel(workflow_id: str, run_id: str) -> None:
    """Interrupt the run's steps in this process when it is cancelled from another one (a cancel in this process
    does it at once)."""
    host = _host()
    while True:
        await asyncio.sleep(CANCEL_CHECK_SECONDS)
        # Outside the workflow's context: a status read by the workflow itself would be recorded.
        status = await asyncio.to_thread(contextvars.Context().run, DBOS.get_workflow_status, workflow_id)
        if status is not None and status.status == "CANCELLED":
            host.aborted(run_id).set()
            return


async def _publish(scheduler: Scheduler) -> None:
    """Append the events decided since the last call to the workflow's stream (one entry per batch, in order)."""
    events = scheduler.drain()
    if events:
        await DBOS.write_stream_async(EVENTS_STREAM, events)
        _host().published(DBOS.workflow_id or "")


async def _wait_step(step_id: str, state: Any, timeout_ms: int, previous: int) -> dict[str, Any]:
    """A wait step: its output is the data it is resolved with (`PipelineRuns.resolve`); past `timeout_ms`, it
    fails. The wait is DBOS's durable `recv`: its deadline and the message survive a restart."""
    message = await DBOS.recv_async(f"{RESOLVE_TOPIC}{step_id}", timeout_seconds=timeout_ms / 1000)
    if message is None:
        error = StepError(Severity.FAIL, "WaitTimeout", f"not resolved within its timeout ({timeout_ms} ms)")
        return {"attempts": previous + 1, "output": None, "error": error.to_json()}
    output = {"data": message["data"], "errors": state.get("errors") or {}}
    return {"attempts": previous + 1, "output": output, "error": None}


@DBOS.step(name="wws-pipeline-settled")
async def _settled_next(step_id: str) -> str:
    """The completion log: which step the run settles next. The first time, the one that finished first; when a
    run is replayed after a crash, the one recorded then, whatever finishes first now (DBOS returns the recorded
    output), so the run makes the same decisions and calls its DBOS steps in the same order."""
    return step_id


@DBOS.step(name="wws-pipeline-step")
async def _pipeline_step(
    plan_file: str, plan_text: str, run_id: str, step_id: str, state: Any, *, previous: int = 0
) -> dict[str, Any]:
    """Every attempt of one step (numbered after `previous`), on a thread (guests never run on the event loop); a
    large output is stored aside, and its reference recorded instead."""
    host = _host()
    plan = host.plan(plan_file, plan_text)
    aborted = host.aborted(run_id)
    runner = host.steps.runner(plan, run_id, aborted)
    step = plan.step(step_id)

    def host_failed(step: Step, failures: int, exc: Exception, delay: float) -> None:
        report_host_failure(run_id, plan.id, step.id, failures=failures, cause=str(exc), delay=delay)
        host.note_host_failure(run_id, step.id, failures, str(exc))

    def run() -> dict[str, Any]:  # the attempts, then a large output put aside, in one trip to a thread
        try:
            outcome = attempts(
                plan,
                step,
                state,
                runner,
                aborted=aborted,
                stopping=host.stopping,
                previous=previous,
                host_failed=host_failed,
            )
        except ProcessStopping:  # DBOS records no outcome for a step cut off so: it runs again where the run resumes
            raise DBOSWorkflowCancelledError(f"{run_id}: the process stopped while {step_id} waited") from None
        output = outcome.output
        reference = host.outputs.put(output["data"]) if output is not None else None
        if output is not None and reference is not None:
            output = {**output, "data": None}  # recorded as its reference, not copied into the database
        return {
            "attempts": outcome.attempts,
            "output": output,
            "reference": reference,
            "error": outcome.error.to_json() if outcome.error else None,
        }

    return await asyncio.to_thread(run)
