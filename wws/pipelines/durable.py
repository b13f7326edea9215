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
import os
import socket
import threading
import uuid
from pathlib import Path
from typing import IO, Any, cast

from dbos import DBOS, DBOSConfig, SetWorkflowID
from dbos._error import DBOSStreamTimeoutError
from dbos._serialization import DBOSPortableJSONSerializer

from wws.errors import WwsError
from wws.pipelines.executor import attempts
from wws.pipelines.plan import Plan, parse_plan
from wws.pipelines.runner import WorkerSteps
from wws.pipelines.scheduler import Scheduler, Severity, StepError, record_from_events
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
            "log_level": "ERROR",  # its warnings (a recovered run re-queued) are not the operator's business
        }
        _current.append(self)
        try:
            self.lease.acquire()
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

    def run(self, plan: Plan, plan_text: str, run_input: Any, run_id: str | None = None) -> dict[str, Any]:
        """Run `plan` to its end and return its record. With the id of an unfinished run, resume it; of a finished
        one, return its record."""
        with SetWorkflowID(run_id or uuid.uuid4().hex):
            handle = DBOS.start_workflow(_pipeline_run, str(plan.file), plan_text, run_input)
        return cast(dict[str, Any], handle.get_result())  # an async workflow's result, awaited by DBOS

    def show(self, run_id: str) -> dict[str, Any] | None:
        """A run's record as it stands, or None for an unknown run."""
        status = DBOS.get_workflow_status(run_id)
        if status is None:
            return None
        if status.status == "SUCCESS":
            return dict(status.output or {})
        record = record_from_events(run_id, self.events(run_id))
        if status.status not in ("PENDING", "ENQUEUED"):
            record["status"] = "failed"  # the workflow itself ended in an error (a bug of wws, or cancelled)
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

    def list(self, limit: int = 100) -> list[dict[str, Any]]:
        """The project's runs, newest first: id, pipeline, status, when it started."""
        runs = []
        for status in DBOS.list_workflows(name=WORKFLOW_NAME, sort_desc=True, limit=limit):
            record = self.show(status.workflow_id) or {}
            runs.append(
                {
                    "run_id": status.workflow_id,
                    "pipeline": record.get("pipeline"),
                    "status": record.get("status"),
                    "created_at": status.created_at,
                }
            )
        return runs


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
    completions settled one at a time, in the order the completion log records; the record after each."""
    runs = _runs()
    plan = runs.plan(plan_file, plan_text)
    run_id = DBOS.workflow_id or ""
    scheduler = Scheduler(plan, run_input)
    running: dict[str, asyncio.Task[dict[str, Any]]] = {}
    while True:
        for step_id, state in scheduler.start():
            running[step_id] = asyncio.create_task(_pipeline_step(plan_file, plan_text, run_id, step_id, state))
        if not running:
            break
        await _publish(scheduler)  # the last settlement's events and the starts it allowed, in one write
        await asyncio.sleep(0)  # the new steps take their places in the workflow's record before anything else
        done, _ = await asyncio.wait(running.values(), return_when=asyncio.FIRST_COMPLETED)
        first = min(step_id for step_id, task in running.items() if task in done)
        # What this run settled next the first time it got here; with one step running there is no choice to log.
        step_id = await _settled_next(first) if len(running) > 1 else first
        outcome = await running.pop(step_id)
        if outcome["error"] is not None:
            error = StepError(
                Severity(outcome["error"]["severity"]), outcome["error"]["type"], outcome["error"]["message"]
            )
            scheduler.fail(step_id, error, outcome["attempts"])
        else:
            scheduler.complete(step_id, outcome["output"], outcome["attempts"])
    record = scheduler.finish(run_id)
    await _publish(scheduler)
    await DBOS.close_stream_async(EVENTS_STREAM)
    return record


async def _publish(scheduler: Scheduler) -> None:
    """Append the events decided since the last call to the run's stream (one entry per batch, in order)."""
    events = scheduler.drain()
    if events:
        await DBOS.write_stream_async(EVENTS_STREAM, events)


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
    outcome = await asyncio.to_thread(attempts, plan, plan.step(step_id), state, runs.steps.runner(plan, run_id))
    return {
        "attempts": outcome.attempts,
        "output": outcome.output,
        "error": outcome.error.to_json() if outcome.error else None,
    }
