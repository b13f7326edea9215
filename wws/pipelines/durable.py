"""Durable runs with DBOS Transact: a run survives the death of its process and resumes where it stopped.

One generic DBOS workflow walks a plan (run id = workflow id); it records the plan's text with its inputs, so a run
resumes with the plan it started with. Each scheduled step (all its attempts and their backoff) is one DBOS step:
a finished step is never run again, a step cut off by a crash runs again from its first attempt (at-least-once).
A step starts as soon as its upstreams have settled, while others run. Which step the run settles next is itself
recorded (a completion log, as a tiny DBOS step): replayed after a crash, the run settles its steps in the order it
did the first time, whatever finishes first now, so it makes the same decisions and calls its DBOS steps in the
same order, which DBOS needs to replay a workflow.

DBOS is a process singleton: one `PipelineRuns` at a time per process (`launch()` … `close()`). Its system
database is `<project>/.wws/pipelines.sqlite` unless a URL is given; everything is stored as JSON (DBOS's portable
serializer), never pickled. `application_version` is pinned, so that runs survive a new process.

Every process is its own DBOS executor (`<host>-<pid>-<random>`), alive as long as it holds the lock of its file in
`.wws/pipeline-executors/` (the operating system releases it when the process dies, even by SIGKILL). At launch, a
process recovers the runs of every executor whose lock it can take: those are dead. Two processes working in one
project never take each other's live runs; DBOS's queue hands a recovered run to exactly one of them.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from dbos import DBOS, DBOSConfig, SetWorkflowAttributes, SetWorkflowID, WorkflowHandle, WorkflowStatus
from dbos._error import DBOSAwaitedWorkflowCancelledError, DBOSStreamTimeoutError, DBOSWorkflowCancelledError
from dbos._serialization import DBOSPortableJSONSerializer

from wws.errors import WwsError
from wws.pipelines.executor import attempts
from wws.pipelines.plan import Plan, StepType, parse_plan
from wws.pipelines.runner import WorkerSteps
from wws.pipelines.scheduler import Scheduler, Severity, StepError, cancelled_ending, record_from_events
from wws.runtimes.registry import default_registry

APP_NAME = "wws-pipelines"
APP_VERSION = "wws-pipelines-1"
"""Pinned: DBOS recovers only the workflows of its own application version. Bump it only with a change to the
workflow's code that old runs cannot replay."""
DATABASE_FILE = Path(".wws") / "pipelines.sqlite"
EXECUTORS_FOLDER = Path(".wws") / "pipeline-executors"
EVENTS_STREAM = "events"
"""The DBOS stream of a run's events (a batch after each step settles, in order; see `Scheduler`), closed when the
run ends. A run's record as it stands is rebuilt from them: one write per step, however large the run."""
WORKFLOW_NAME = "wws-pipeline-run"
RESOLVE_TOPIC = "wws-resolve:"
"""+ a wait step's id: the DBOS message topic on which that step of a run receives its data."""
NOTIFICATION_POLL_SECONDS = 0.1
"""How often a waiting run looks for a message (a cancel, a resolved wait) in SQLite, which cannot notify it."""
POLL_SECONDS = 0.05
"""How often a follower of a run's events looks for new ones, when nothing tells it (SQLite cannot)."""

log = logging.getLogger(__name__)

_current: list[PipelineRuns] = []
"""The launched `PipelineRuns` of this process: DBOS's workflows are module functions, and find it here."""


class PipelineRuns:
    """The durable runs of one project, in this process."""

    def __init__(self, project: Path, steps: WorkerSteps, *, database_url: str | None = None):
        self.project = project.resolve()
        self.steps = steps
        self.database_url = database_url or f"sqlite:///{self.project / DATABASE_FILE}"
        self.lease = ExecutorLease(self.project / EXECUTORS_FOLDER)
        self.executor_id = self.lease.executor_id
        self._plans: dict[tuple[str, str], Plan] = {}
        self._aborted: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def launch(self) -> None:
        """Start DBOS for this project (and resume the runs a dead process of this executor left unfinished)."""
        if _current:
            raise WwsError("pipelines are already running in this process (DBOS is one per process)")
        (self.project / DATABASE_FILE).parent.mkdir(parents=True, exist_ok=True)
        config: DBOSConfig = {
            "name": APP_NAME,
            "system_database_url": self.database_url,
            "application_version": APP_VERSION,
            "executor_id": self.executor_id,
            "serializer": DBOSPortableJSONSerializer(),
            "notification_listener_polling_interval_sec": NOTIFICATION_POLL_SECONDS,
            "log_level": "ERROR",  # its warnings (a recovered run re-queued) are not the operator's business
        }
        _current.append(self)
        try:
            self.lease.acquire()
            logging.getLogger("dbos").addFilter(_quiet_cancels)
            DBOS(config=config)
            DBOS.launch()
            dead = self.lease.dead_executors()
            if dead:
                DBOS._recover_pending_workflows(dead)  # re-enqueued: one live process runs each
            self.lease.forget(dead)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        DBOS.destroy()
        logging.getLogger("dbos").removeFilter(_quiet_cancels)
        self.lease.release()
        _current.clear()

    def plan(self, plan_file: str, plan_text: str) -> Plan:
        """The plan a run started with (parsed once per process)."""
        key = (plan_file, hashlib.blake2b(plan_text.encode(), digest_size=16).hexdigest())
        with self._lock:
            plan = self._plans.get(key)
            if plan is None:
                plan = self._plans[key] = parse_plan(Path(plan_file), plan_text, default_registry())
            return plan

    def aborted(self, run_id: str) -> threading.Event:
        """Set when the run is cancelled in this process: its steps start no new attempt."""
        with self._lock:
            return self._aborted.setdefault(run_id, threading.Event())

    def abort(self, run_id: str) -> None:
        self.aborted(run_id).set()

    def forget(self, run_id: str) -> None:
        with self._lock:
            self._aborted.pop(run_id, None)

    def cancel(self, run_id: str) -> None:
        """Stop the run, wherever it runs: DBOS marks it cancelled at once and refuses its every operation from then
        on (no step starts, no late result is recorded); here, its steps start no new attempt. Its last events
        (the running steps and the run cancelled) are told by `show` and `follow`, from the events it has."""
        DBOS.cancel_workflow(run_id)
        self.abort(run_id)
        log.info("pipeline run %s: cancelled", run_id)

    def resolve(self, run_id: str, step_id: str, data: Any) -> None:
        """Give the wait step `step_id` of the run its data (a durable message: the step gets it however late)."""
        DBOS.send(run_id, {"data": data}, topic=f"{RESOLVE_TOPIC}{step_id}")

    def plan_of(self, run_id: str) -> Plan | None:
        """The plan the run started with (None for an unknown run)."""
        found = DBOS.list_workflows(workflow_ids=[run_id], load_input=True, load_output=False)
        if not found or found[0].input is None:
            return None
        plan_file, plan_text = found[0].input["args"][:2]
        return self.plan(plan_file, plan_text)

    def start(
        self, plan: Plan, plan_text: str, run_input: Any, run_id: str | None = None, idempotency_key: str | None = None
    ) -> StartedRun:
        """Start a run of `plan` in the background (it goes on in this process) and say which.

        With an `idempotency_key`, the run's id is derived from the pipeline and the key: the same key starts the
        run once and then names it, and with another input raises `IdempotencyConflict`. With the id of an
        unfinished run, resume it; of a finished one, nothing happens."""
        digest = input_digest(run_input)
        if idempotency_key is not None:
            run_id = idempotent_run_id(plan.id, idempotency_key)
            existing = DBOS.get_workflow_status(run_id)
            if existing is not None:
                _check_digest(existing, digest)
                return StartedRun(run_id, _summary(existing)["status"], created=False)
        run_id = run_id or new_run_id(plan.id)
        attributes = {"pipeline": plan.id, "status": "running", "input_digest": digest}
        with SetWorkflowID(run_id), SetWorkflowAttributes(attributes):
            handle = DBOS.start_workflow(_pipeline_run, str(plan.file), plan_text, run_input)
        if idempotency_key is not None:  # two requests with one key at once: one of them started the run
            status = DBOS.get_workflow_status(run_id)
            assert status is not None
            _check_digest(status, digest)
        return StartedRun(run_id, "running", created=True, handle=handle)

    def run(self, plan: Plan, plan_text: str, run_input: Any, run_id: str | None = None) -> dict[str, Any]:
        """Run `plan` to its end and return its record. With the id of an unfinished run, resume it; of a finished
        one, return its record."""
        started = self.start(plan, plan_text, run_input, run_id)
        handle = started.handle or DBOS.retrieve_workflow(started.run_id)
        record: dict[str, Any] = handle.get_result()
        return record

    def exists(self, run_id: str) -> bool:
        return DBOS.get_workflow_status(run_id) is not None

    def show(self, run_id: str) -> dict[str, Any] | None:
        """A run's record as it stands, or None for an unknown run."""
        status = DBOS.get_workflow_status(run_id)
        if status is None:
            return None
        if status.status == "SUCCESS":
            return dict(status.output or {})
        events = self.events(run_id)
        if status.status == "CANCELLED":
            events += cancelled_ending(events)
        record = record_from_events(run_id, events)
        if status.status not in ("PENDING", "ENQUEUED", "CANCELLED"):
            record["status"] = "failed"  # the workflow itself ended in an error (a bug of wws)
        return record

    def events(self, run_id: str, after: int = 0, wait_seconds: float = 0.0) -> list[dict[str, Any]]:
        """The run's events numbered above `after`, as far as they go now (waiting up to `wait_seconds` for each
        batch still to come)."""
        events: list[dict[str, Any]] = []
        try:
            for batch in DBOS.read_stream(run_id, EVENTS_STREAM, timeout_seconds=wait_seconds or 0.001):
                events.extend(event for event in batch if event["id"] > after)
        except DBOSStreamTimeoutError:
            pass  # the run goes on: these are its events so far
        return events

    async def follow(
        self, run_id: str, after: int = 0, idle_seconds: float = 15.0
    ) -> AsyncIterator[dict[str, Any] | None]:
        """The run's events numbered above `after`, as they come, until its last one; None after every
        `idle_seconds` without any (a chance to keep a connection alive)."""
        offset = 0  # batches read so far
        while True:
            try:
                batches = DBOS.read_stream_async(
                    run_id,
                    EVENTS_STREAM,
                    offset=offset,
                    polling_interval_sec=POLL_SECONDS,
                    timeout_seconds=idle_seconds,
                )
                async for batch in batches:
                    offset += 1
                    for event in batch:
                        if event["id"] > after:
                            yield event
                break
            except DBOSStreamTimeoutError:
                yield None
        status = await asyncio.to_thread(DBOS.get_workflow_status, run_id)
        if status is not None and status.status == "CANCELLED":  # its stream ended without its last events
            for event in await asyncio.to_thread(self._cancelled_ending, run_id):
                if event["id"] > after:
                    yield event

    def _cancelled_ending(self, run_id: str) -> list[dict[str, Any]]:
        return cancelled_ending(self.events(run_id))

    def list(self, pipeline: str | None = None, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The project's runs (of one pipeline, with one status, if given), newest first: their id, pipeline,
        status, and when they were created and last changed (ISO 8601, UTC)."""
        query: dict[str, Any] = {
            "name": WORKFLOW_NAME,
            "workflow_id_prefix": f"{pipeline}{RUN_ID_SEPARATOR}" if pipeline else None,
            "sort_desc": True,
            "load_input": False,
            "load_output": False,
        }
        if status == "running":
            query["status"] = ["PENDING", "ENQUEUED"]
        elif status == "cancelled":
            query["status"] = ["CANCELLED"]
        elif status is not None:  # completed or failed: one of the run's attributes, sifted here
            query["status"] = (
                ["SUCCESS"] if status == "completed" else ["SUCCESS", "ERROR", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"]
            )
        found: list[dict[str, Any]] = []
        page = limit if status in (None, "running", "cancelled") else max(limit, 100)
        offset = 0
        while len(found) < limit:
            batch = DBOS.list_workflows(**query, limit=page, offset=offset)
            found.extend(summary for summary in map(_summary, batch) if status is None or summary["status"] == status)
            if len(batch) < page:
                break
            offset += page
        return found[:limit]


RUN_ID_SEPARATOR = "."
"""Between a run id's pipeline and its unique part (`age-gate.3f9c…`): not allowed in pipeline ids, so the runs of
one pipeline are the ids with its prefix."""


def new_run_id(pipeline: str) -> str:
    return f"{pipeline}{RUN_ID_SEPARATOR}{uuid.uuid4().hex}"


@dataclass(frozen=True, slots=True)
class StartedRun:
    run_id: str
    status: str
    created: bool
    """False when an idempotency key named a run started before."""
    handle: WorkflowHandle[Any] | None = None
    """The run's handle, when it started in this call (its result is then awaited in this process)."""


class IdempotencyConflict(WwsError):
    """An idempotency key that started a run with another input."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        super().__init__(f"this Idempotency-Key started the run {run_id} with another input")


def idempotent_run_id(pipeline: str, key: str) -> str:
    """The run id an idempotency key stands for, in one pipeline."""
    return f"{pipeline}{RUN_ID_SEPARATOR}{hashlib.blake2b(key.encode(), digest_size=16).hexdigest()}"


def input_digest(run_input: Any) -> str:
    """A run input's fingerprint: equal for equal JSON values, whatever their key order or spacing."""
    canonical = json.dumps(run_input, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


def _check_digest(status: WorkflowStatus, digest: str) -> None:
    if (status.attributes or {}).get("input_digest") != digest:
        raise IdempotencyConflict(status.workflow_id)


def _summary(status: WorkflowStatus) -> dict[str, Any]:
    attributes = status.attributes or {}
    run_status = attributes.get("status")
    if status.status == "CANCELLED":
        run_status = "cancelled"
    elif status.status not in ("PENDING", "ENQUEUED", "SUCCESS"):
        run_status = "failed"  # the workflow itself ended in an error (a bug of wws)
    return {
        "run_id": status.workflow_id,
        "pipeline": attributes.get("pipeline"),
        "status": run_status,
        "created_at": _iso(status.created_at),
        "updated_at": _iso(status.updated_at),
    }


def _iso(epoch_ms: int | None) -> str | None:
    if epoch_ms is None:
        return None
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _quiet_cancels(record: logging.LogRecord) -> bool:
    """Leave out DBOS's traceback for a run that stopped because it was cancelled: that is no error
    (`PipelineRuns.cancel` says it in one line)."""
    error = record.exc_info[1] if record.exc_info else None
    return not isinstance(error, DBOSAwaitedWorkflowCancelledError | DBOSWorkflowCancelledError)


class ExecutorLease:
    """This process's executor id, alive while it holds the lock of `<folder>/<id>.lock`; and the dead ones."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.executor_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._own: IO[str] | None = None
        self._dead: dict[str, IO[str]] = {}

    def acquire(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._own = (self.folder / f"{self.executor_id}.lock").open("w")
        fcntl.flock(self._own, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def dead_executors(self) -> list[str]:
        """The executors whose lock this process could take (and now holds): their processes are gone."""
        for path in sorted(self.folder.glob("*.lock")):
            if path.stem == self.executor_id or path.stem in self._dead:
                continue
            handle = path.open("a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()  # alive
                continue
            self._dead[path.stem] = handle
        return list(self._dead)

    def forget(self, executors: list[str]) -> None:
        """Their runs are recovered: drop their lock files."""
        for executor in executors:
            handle = self._dead.pop(executor, None)
            (self.folder / f"{executor}.lock").unlink(missing_ok=True)
            if handle is not None:
                handle.close()

    def release(self) -> None:
        """Give up this process's lease (and, unrecovered, the dead executors' locks: another process will)."""
        for handle in self._dead.values():
            handle.close()
        self._dead.clear()
        if self._own is not None:
            (self.folder / f"{self.executor_id}.lock").unlink(missing_ok=True)
            self._own.close()
            self._own = None


def _runs() -> PipelineRuns:
    if not _current:
        raise WwsError("no PipelineRuns is launched in this process")
    return _current[0]


@DBOS.workflow(name=WORKFLOW_NAME)
async def _pipeline_run(plan_file: str, plan_text: str, run_input: Any) -> dict[str, Any]:
    """One run: each step (with its retries) a DBOS step, started as soon as its upstreams have settled; the
    completions settled one at a time, in the order the completion log records; the events after each.

    A cancelled run (`PipelineRuns.cancel`) stops at its next DBOS operation: DBOS refuses them all from then on."""
    runs = _runs()
    plan = runs.plan(plan_file, plan_text)
    run_id = DBOS.workflow_id or ""
    scheduler = Scheduler(plan, run_input)
    running: dict[str, asyncio.Task[dict[str, Any]]] = {}
    try:
        while True:
            for step_id, state in scheduler.start():
                step = plan.step(step_id)
                if step.type is StepType.WAIT:
                    assert step.timeout_ms is not None
                    running[step_id] = asyncio.create_task(_wait_step(step_id, state, step.timeout_ms))
                else:
                    running[step_id] = asyncio.create_task(_pipeline_step(plan_file, plan_text, run_id, step_id, state))
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
                scheduler.complete(step_id, outcome["output"], outcome["attempts"])
    finally:
        for task in running.values():  # a cancelled run: its steps' late results are not wanted
            task.cancel()
        runs.forget(run_id)
    record = scheduler.finish(run_id)
    # Listed with its final status before its last event says it is over: whoever reacts to it finds it so.
    await DBOS.update_workflow_attributes_async(run_id, {"status": record["status"]}, merge=True)
    await _publish(scheduler)
    await DBOS.close_stream_async(EVENTS_STREAM)
    return record


async def _publish(scheduler: Scheduler) -> None:
    """Append the events decided since the last call to the run's stream (one entry per batch, in order)."""
    events = scheduler.drain()
    if events:
        await DBOS.write_stream_async(EVENTS_STREAM, events)


async def _wait_step(step_id: str, state: Any, timeout_ms: int) -> dict[str, Any]:
    """A wait step: its output is the data it is resolved with (`PipelineRuns.resolve`); past `timeout_ms`, it
    fails. The wait is DBOS's durable `recv`: its deadline and the message survive a restart."""
    message = await DBOS.recv_async(f"{RESOLVE_TOPIC}{step_id}", timeout_seconds=timeout_ms / 1000)
    if message is None:
        error = StepError(Severity.FAIL, "WaitTimeout", f"not resolved within its timeout ({timeout_ms} ms)")
        return {"attempts": 1, "output": None, "error": error.to_json()}
    return {"attempts": 1, "output": {"data": message["data"], "errors": state.get("errors") or {}}, "error": None}


@DBOS.step(name="wws-pipeline-settled")
async def _settled_next(step_id: str) -> str:
    """The completion log: which step the run settles next. The first time, the one that finished first; when a
    run is replayed after a crash, the one recorded then, whatever finishes first now (DBOS returns the recorded
    output), so the run makes the same decisions and calls its DBOS steps in the same order."""
    return step_id


@DBOS.step(name="wws-pipeline-step")
async def _pipeline_step(plan_file: str, plan_text: str, run_id: str, step_id: str, state: Any) -> dict[str, Any]:
    """Every attempt of one step, on a thread (guests never run on the event loop)."""
    runs = _runs()
    plan = runs.plan(plan_file, plan_text)
    runner = runs.steps.runner(plan, run_id)
    aborted = runs.aborted(run_id)
    outcome = await asyncio.to_thread(attempts, plan, plan.step(step_id), state, runner, aborted=aborted)
    return {
        "attempts": outcome.attempts,
        "output": outcome.output,
        "error": outcome.error.to_json() if outcome.error else None,
    }
