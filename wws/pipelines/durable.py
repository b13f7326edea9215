"""Durable runs with DBOS Transact: a run survives the death of its process and resumes where it stopped.

`PipelineRuns` starts, reads, cancels, resolves and reruns the runs of one project; `workflow.py` is what a run
does, as DBOS records it. A run is one DBOS workflow (run id = workflow id) that records the plan's text with its
inputs, so it resumes with the plan it started with; each rerun from a step is one more workflow
(`<run_id>~<n>`), and the run is all of them, in order: its events are theirs, its state the last one's.

DBOS is a process singleton: one `PipelineRuns` at a time per process (`launch()` … `close()`). Its system
database is `<project>/.wws/pipelines.sqlite` unless a URL is given; everything is stored as JSON (DBOS's portable
serializer), never pickled. `application_version` is pinned, so that runs survive a new process. At launch, a
process recovers the runs of the dead processes of the project (see `lease.py`); two processes working in one
project never take each other's live runs; DBOS's queue hands a recovered run to exactly one of them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import hashlib
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from dbos import DBOS, DBOSConfig, Queue, SetWorkflowAttributes, SetWorkflowID, WorkflowHandle, WorkflowStatus
from dbos._error import DBOSAwaitedWorkflowCancelledError, DBOSStreamTimeoutError, DBOSWorkflowCancelledError
from dbos._serialization import DBOSPortableJSONSerializer

from wws.config.model import DEFAULT_LARGE_OUTPUT_BYTES, DEFAULT_RUNS_PER_PROCESS
from wws.errors import IdempotencyConflict
from wws.pipelines import workflow
from wws.pipelines.health import DatabaseWatch, database_error
from wws.pipelines.heartbeats import BEAT_SECONDS, Heartbeats
from wws.pipelines.lease import ExecutorLease
from wws.pipelines.outputs import OutputStore
from wws.pipelines.plan import Plan, parse_plan
from wws.pipelines.runner import WorkerSteps
from wws.pipelines.scheduler import LAST_EVENTS, RUN_STATUSES, cancelled_ending, record_from_events
from wws.pipelines.workflow import EVENTS_STREAM, RERUN_NAME, RERUN_SEPARATOR, RESOLVE_TOPIC, WORKFLOW_NAME
from wws.runtimes.registry import default_registry

APP_NAME = "wws-pipelines"
APP_VERSION = "wws-pipelines-1"
"""Pinned: DBOS recovers only the workflows of its own application version. Bump it only with a change to the
workflow's code that old runs cannot replay."""
DATABASE_FILE = Path(".wws") / "pipelines.sqlite"
EXECUTORS_FOLDER = Path(".wws") / "pipeline-executors"
NOTIFICATION_POLL_SECONDS = 0.1
"""How often a waiting run looks for a message (a cancel, a resolved wait) in SQLite, which cannot notify it."""
RESULT_POLL_SECONDS = 0.02
"""How often `run` looks whether the run it waits for has ended, when it runs in another process."""
RECOVERY_SECONDS = BEAT_SECONDS
"""How often a process looks for the runs of processes of its project that died, to take them over (and, on
Postgres, says it is alive)."""
HOST_FAILURE_ATTRIBUTE = "host-failure:"
"""+ a step's id: the attribute of a run's workflow that says the host failed to run that step (how many times in a
row, the last error, when), shown as the step's `host_failures` in the run's record."""
REREAD_SECONDS = 0.25
"""How often a follower of a run's events reads them again when nothing says there are new ones: a run going on in
another process (`--workers`, a command) cannot say so."""

log = logging.getLogger(__name__)


class PipelineRuns:
    """The durable runs of one project, in this process."""

    def __init__(
        self,
        project: Path,
        steps: WorkerSteps,
        *,
        database_url: str | None = None,
        large_output_bytes: int = DEFAULT_LARGE_OUTPUT_BYTES,
        runs_per_process: int = DEFAULT_RUNS_PER_PROCESS,
    ):
        self.project = project.resolve()
        self.steps = steps
        self.outputs = OutputStore(self.project, large_output_bytes)
        self.database_url = database_url or f"sqlite:///{self.project / DATABASE_FILE}"
        self.database = sa.engine.make_url(self.database_url).render_as_string(hide_password=True)
        """The database, to be named in messages (its password hidden)."""
        self.runs_per_process = runs_per_process
        """Postgres: the runs this process takes from the queue at once (see `PipelinesSettings`)."""
        self.lease = ExecutorLease(self.project / EXECUTORS_FOLDER)
        self.executor_id = self.lease.executor_id
        self._plans: dict[tuple[str, str], Plan] = {}
        self._aborted: dict[str, threading.Event] = {}
        self.stopping = threading.Event()
        self._heartbeats: Heartbeats | None = None
        self._watch: DatabaseWatch | None = None
        """Postgres: whether the database answers (see `health.py`)."""
        self._dbos: DBOS | None = None
        self._queue: Queue | None = None
        """Postgres: the queue runs go through, for any process to take; SQLite: none, a run starts where it is
        submitted (one host: the processes share its work through the requests they get)."""
        self._sweeper = threading.Thread(target=self._sweep, name="wws-pipeline-recovery", daemon=True)
        self._followers: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._lock = threading.Lock()

    def launch(self) -> None:
        """Start DBOS for this project (and resume the runs a dead process of this executor left unfinished)."""
        workflow.install(self)
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
        if self.database_url.startswith("sqlite"):
            # A file does not go away: no ping before each use of a connection (one more query per operation).
            config["db_engine_kwargs"] = {"pool_pre_ping": False}
        try:
            self.lease.acquire()
            logging.getLogger("dbos").addFilter(_quiet_cancels)
            if self.database_url.startswith("sqlite:///"):
                _write_ahead_log(Path(self.database_url.removeprefix("sqlite:///")))
            dbos = DBOS(config=config)
            DBOS.launch()
            self._dbos = dbos  # launched: its workflows are to be left unfinished at close
            if self.database_url.startswith("sqlite:///"):
                _sync_at_checkpoints(dbos._sys_db.engine)
            if self.database_url.startswith(("postgresql://", "postgres://")):
                self._watch = DatabaseWatch(dbos._sys_db.engine, self.database)
                self._watch.probe()
                self._watch.start()
                self._heartbeats = Heartbeats(dbos._sys_db.engine, self.executor_id)
                self._heartbeats.start()
                self.outputs.use_database(dbos._sys_db.engine)
                self._queue = DBOS.register_queue(
                    workflow.RUNS_QUEUE,
                    worker_concurrency=self.runs_per_process,
                    polling_interval_sec=workflow.QUEUE_POLL_SECONDS,
                    on_conflict="always_update",
                )
            self.recover_dead()
            self._sweeper.start()
        except BaseException:
            self.close()
            raise

    def recover_dead(self) -> list[str]:
        """Take over the unfinished runs of the processes of this project that died: on this host, those whose lock
        this process could take; on any host sharing a Postgres database, those that stopped beating. DBOS queues
        each run again, for one live process to run. The executors recovered."""
        dead = self.lease.dead_executors()
        if self._heartbeats is not None:
            self._heartbeats.beat()
            dead += [executor for executor in self._heartbeats.dead() if executor not in dead]
        if dead:
            DBOS._recover_pending_workflows(dead)
            log.info("took over the unfinished runs of %s (gone)", ", ".join(dead))
        self.lease.forget(dead)
        return dead

    def database_outage(self) -> str | None:
        """Why the runs' database does not answer now (Postgres), or None while it does (always, for SQLite: a
        locked file is waited for)."""
        return self._watch.outage if self._watch is not None else None

    def _sweep(self) -> None:
        """Every `RECOVERY_SECONDS`, while launched: a process that dies has its runs taken over that soon."""
        while not self.stopping.wait(RECOVERY_SECONDS):
            if self.database_outage() is not None:
                continue  # nothing to learn from a database that does not answer (its outage is logged)
            try:
                self.recover_dead()
            except sa.exc.SQLAlchemyError as exc:  # gone since the last probe: the next sweep tries again
                log.warning(
                    "looking for the runs of dead processes: no answer from the database: %s", database_error(exc)
                )
            except Exception:  # the next sweep tries again; the server goes on
                log.exception("looking for the runs of dead processes failed")

    def close(self) -> None:
        """Stop: the runs going on in this process are left unfinished, as a crash would leave them, and the next
        process (or another one sharing the runs) resumes them; the steps they were running run again."""
        self.stopping.set()
        if self._sweeper.is_alive():
            self._sweeper.join()
        cut_off = self._leave_unfinished()
        DBOS.destroy()
        if cut_off:
            self._wait_for_workflow_threads()
            log.warning(
                "stopped with %d unfinished run%s, for the next process to resume (their running steps run again): %s",
                len(cut_off),
                "" if len(cut_off) == 1 else "s",
                ", ".join(cut_off),
            )
        self._dbos = None
        if self._heartbeats is not None:  # only now: nothing runs here any more when the others take over
            with contextlib.suppress(Exception):  # the database is gone: the others see this process stop beating
                self._heartbeats.stop()
            self._heartbeats = None
        logging.getLogger("dbos").removeFilter(_quiet_cancels)
        self.lease.release(keep=bool(cut_off))
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        workflow.uninstall()

    def _leave_unfinished(self) -> list[str]:
        """From now on, no workflow's failure is recorded, and the runs going on here stay PENDING for a process to
        resume (those cut off: returned). DBOS (3.4) would record each as failed: `DBOS.destroy()` stops its event
        loop, which cancels the workflows' coroutines, and that cancellation is the error DBOS records (its
        TypeScript SDK leaves them PENDING, as this does)."""
        if self._dbos is None:
            return []
        system_database = self._dbos._sys_db
        record = system_database.update_workflow_outcome

        def record_unless_failed(workflow_id: str, status: str, **outcome: Any) -> bool:
            if status == "ERROR":
                return True  # not recorded: DBOS goes on as if it were, and the run stays PENDING
            return record(workflow_id, status, **outcome)  # type: ignore[arg-type]

        system_database.update_workflow_outcome = record_unless_failed  # type: ignore[method-assign]
        return self._dbos._active_workflows_set.activeList()

    def _wait_for_workflow_threads(self, seconds: float = 5.0) -> None:
        """Wait (a little) until the workflows cut off have left their threads, past their last attempt to record
        anything, so that the next process finds them as they were left."""
        assert self._dbos is not None
        deadline = time.monotonic() + seconds
        while self._dbos._active_workflows_set.activeList() and time.monotonic() < deadline:
            time.sleep(0.01)

    def note_host_failure(self, run_id: str, step_id: str, failures: int, cause: str) -> None:
        """Keep, with the run, that the host failed to run one of its steps (`show` tells it with the step): a
        failure of the database itself is only logged."""
        if self.database_outage() is not None:
            return  # DBOS would wait for the database to come back: the step's retries are logged meanwhile
        note = {"failures": failures, "error": cause, "at": _iso(int(time.time() * 1000))}
        try:  # outside the step's context: DBOS would take it for an operation of the workflow
            contextvars.Context().run(
                DBOS.update_workflow_attributes, run_id, {f"{HOST_FAILURE_ATTRIBUTE}{step_id}": note}, merge=True
            )
        except Exception as exc:
            log.warning("pipeline run %s: could not note the host failure of step %s: %s", run_id, step_id, exc)

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

    def workflows(self, run_id: str) -> list[str]:
        """The ids of the run's workflows, in order: its own, then its reruns' (none for an unknown run)."""
        if DBOS.get_workflow_status(run_id) is None:
            return []
        reruns = DBOS.list_workflows(
            name=RERUN_NAME, workflow_id_prefix=f"{run_id}{RERUN_SEPARATOR}", load_input=False, load_output=False
        )
        numbered = sorted(
            (int(status.workflow_id.rsplit(RERUN_SEPARATOR, 1)[1]), status.workflow_id) for status in reruns
        )
        return [run_id, *(workflow_id for _, workflow_id in numbered)]

    def cancel(self, run_id: str) -> None:
        """Stop the run, wherever it runs: DBOS marks its workflow cancelled at once and refuses its every operation
        from then on (no step starts, no late result is recorded); here, its steps start no new attempt. Its last
        events (the running steps and the run cancelled) are told by `events`, from the ones it has."""
        DBOS.cancel_workflow(self.workflows(run_id)[-1])
        DBOS.update_workflow_attributes(run_id, {"status": "cancelled"}, merge=True)
        self.abort(run_id)
        log.info("pipeline run %s: cancelled", run_id)

    def resolve(self, run_id: str, step_id: str, data: Any) -> None:
        """Give the wait step `step_id` of the run its data (a durable message: the step gets it however late)."""
        DBOS.send(self.workflows(run_id)[-1], {"data": data}, topic=f"{RESOLVE_TOPIC}{step_id}")

    def rerun(self, run_id: str, step_id: str) -> None:
        """Run a finished run again from `step_id` (see `Scheduler`), as one more workflow of the run."""
        plan_file, plan_text, run_input = self._inputs(run_id)
        number = len(self.workflows(run_id))
        DBOS.update_workflow_attributes(run_id, {"status": "running"}, merge=True)  # listed so from now on
        with SetWorkflowID(f"{run_id}{RERUN_SEPARATOR}{number}"):
            self._start(workflow.pipeline_rerun, plan_file, plan_text, run_input, run_id, step_id)

    def _start(self, function: Callable[..., Any], *arguments: Any) -> WorkflowHandle[Any]:
        """Start a workflow (its id and attributes set by the caller): through the queue, if any, else here."""
        if self._queue is not None:
            return self._queue.enqueue(function, *arguments)
        return DBOS.start_workflow(function, *arguments)

    def plan_of(self, run_id: str) -> Plan | None:
        """The plan the run started with (None for an unknown run)."""
        try:
            plan_file, plan_text, _ = self._inputs(run_id)
        except LookupError:
            return None
        return self.plan(plan_file, plan_text)

    def _inputs(self, run_id: str) -> tuple[str, str, Any]:
        """The plan's file and text and the input a run started with."""
        found = DBOS.list_workflows(workflow_ids=[run_id], load_input=True, load_output=False)
        if not found or found[0].input is None:
            raise LookupError(run_id)
        plan_file, plan_text, run_input = found[0].input["args"][:3]
        return plan_file, plan_text, run_input

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
            handle = self._start(workflow.pipeline_run, str(plan.file), plan_text, run_input)
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
        record: dict[str, Any] = handle.get_result(polling_interval_sec=RESULT_POLL_SECONDS)
        return record

    def exists(self, run_id: str) -> bool:
        return DBOS.get_workflow_status(run_id) is not None

    def show(self, run_id: str) -> dict[str, Any] | None:
        """A run's record as it stands, or None for an unknown run."""
        workflows = self.workflows(run_id)
        if not workflows:
            return None
        last = DBOS.get_workflow_status(workflows[-1])
        assert last is not None
        if last.status == "SUCCESS":
            record = dict(last.output or {})
        else:
            record = record_from_events(run_id, self._events_of(workflows))
            if last.status not in ("PENDING", "ENQUEUED", "CANCELLED"):
                record["status"] = "failed"  # the workflow itself ended in an error (a bug of wws)
        first = last if len(workflows) == 1 else DBOS.get_workflow_status(run_id)
        for name, note in ((first.attributes if first else None) or {}).items():
            step = record["steps"].get(name.removeprefix(HOST_FAILURE_ATTRIBUTE))
            if name.startswith(HOST_FAILURE_ATTRIBUTE) and step is not None:
                step["host_failures"] = note
        return record

    def events(self, run_id: str, after: int = 0) -> list[dict[str, Any]]:
        """The run's events numbered above `after`, as far as they go now."""
        return [event for event in self._events_of(self.workflows(run_id)) if event["id"] > after]

    def _events_of(self, workflows: list[str]) -> list[dict[str, Any]]:
        """The events of a run's workflows (see `workflows`) as far as they go now, in order."""
        events: list[dict[str, Any]] = []
        for workflow_id in workflows:
            batches, _ = _read_stream(workflow_id, 0)
            events.extend(event for batch in batches for event in batch)
            events.extend(self._ending(workflow_id, events))
        return events

    def _ending(self, workflow_id: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The last events of a workflow of the run that was cancelled (its stream ended without them), told the
        same way by every reader; none for the others."""
        status = DBOS.get_workflow_status(workflow_id)
        return cancelled_ending(events) if status is not None and status.status == "CANCELLED" else []

    async def follow(
        self, run_id: str, after: int = 0, idle_seconds: float = 15.0
    ) -> AsyncIterator[dict[str, Any] | None]:
        """The run's events numbered above `after`, as they come, until its last one (a rerun started meanwhile
        goes on with its own); None after every `idle_seconds` without any (a chance to keep a connection alive)."""
        seen: list[dict[str, Any]] = []
        index = 0
        while True:
            workflows = await asyncio.to_thread(self.workflows, run_id)
            if index >= len(workflows):
                return
            async for event in self._follow(workflows[index], idle_seconds):
                if event is not None:
                    seen.append(event)
                if event is None or event["id"] > after:
                    yield event
            for event in await asyncio.to_thread(self._ending, workflows[index], seen):
                seen.append(event)
                if event["id"] > after:
                    yield event
            index += 1

    async def _follow(self, workflow_id: str, idle_seconds: float) -> AsyncIterator[dict[str, Any] | None]:
        """One workflow's events, as they come, until its stream ends: read when it says it published (in this
        process), or every `REREAD_SECONDS` (a workflow in another process cannot say so)."""
        published = asyncio.Event()
        waiter = (asyncio.get_running_loop(), published)
        with self._lock:
            self._followers.setdefault(workflow_id, []).append(waiter)
        try:
            offset = 0  # batches read so far
            quiet_since = time.monotonic()
            while True:
                published.clear()  # before reading: a batch written meanwhile sets it again
                batches, ended = await asyncio.to_thread(_read_stream, workflow_id, offset)
                offset += len(batches)
                for batch in batches:
                    for event in batch:
                        yield event
                        ended = ended or event["event"] in LAST_EVENTS
                if ended:
                    return
                if batches:
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since >= idle_seconds:
                    quiet_since = time.monotonic()
                    yield None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(published.wait(), REREAD_SECONDS)
        finally:
            with self._lock:
                self._followers[workflow_id].remove(waiter)
                if not self._followers[workflow_id]:
                    del self._followers[workflow_id]

    def published(self, workflow_id: str) -> None:
        """A workflow of this process wrote to its events: wake whoever follows it."""
        with self._lock:
            waiters = list(self._followers.get(workflow_id, ()))
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

    def list(self, pipeline: str | None = None, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The project's runs (of one pipeline, with one status, if given), newest first: their id, pipeline,
        status, and when they were created and last changed (ISO 8601, UTC)."""
        if status is not None and status not in RUN_STATUSES:
            raise ValueError(f"no run status {status!r}")
        found: list[dict[str, Any]] = []
        for summary in map(_summary, self._newest_first(pipeline)):
            if status is None or summary["status"] == status:
                found.append(summary)
                if len(found) == limit:
                    break
        return found

    def _newest_first(self, pipeline: str | None, page: int = 100) -> Iterator[WorkflowStatus]:
        """The project's runs (of one pipeline, if given), newest first, read a page at a time."""
        offset = 0
        while True:
            batch = DBOS.list_workflows(
                name=WORKFLOW_NAME,
                workflow_id_prefix=f"{pipeline}{RUN_ID_SEPARATOR}" if pipeline else None,
                sort_desc=True,
                load_input=False,
                load_output=False,
                limit=page,
                offset=offset,
            )
            yield from batch
            if len(batch) < page:
                return
            offset += page


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
    """A run as listed. Its status is the one its workflows set in its attributes (reruns included: the run's own
    workflow may be long finished while a rerun runs)."""
    attributes = status.attributes or {}
    run_status = attributes.get("status", "running")
    if run_status == "running" and status.status in ("ERROR", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"):
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


def _read_stream(workflow_id: str, offset: int) -> tuple[list[Any], bool]:
    """The batches of a workflow's events from `offset` that are written now, and whether its stream has ended (its
    workflow has: a workflow's last event may say it sooner, see `LAST_EVENTS`)."""
    batches: list[Any] = []
    try:
        for batch in DBOS.read_stream(workflow_id, EVENTS_STREAM, offset=offset, timeout_seconds=0.001):
            batches.append(batch)
    except DBOSStreamTimeoutError:
        return batches, False
    return batches, True


def _write_ahead_log(database: Path) -> None:
    """Keep the SQLite database in write-ahead-log mode (it stays so): a commit appends to the log instead of
    rewriting pages through a rollback journal, and readers (a run's events, its record) never block the writer."""
    connection = sqlite3.connect(database)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()


def _sync_at_checkpoints(engine: sa.Engine) -> None:
    """`synchronous=NORMAL` on every connection of DBOS's engine: in WAL mode, a commit survives the death of the
    process (what runs must survive) and waits for the disk only at checkpoints."""

    def tune(connection: Any, _record: Any) -> None:
        connection.execute("PRAGMA synchronous=NORMAL")

    sa.event.listen(engine, "connect", tune)
    engine.dispose()  # the connections opened before would not have it


def _quiet_cancels(record: logging.LogRecord) -> bool:
    """Leave out DBOS's traceback for a run that stopped because it was cancelled (`PipelineRuns.cancel` says it in
    one line) or cut off by the process stopping (`PipelineRuns.close` says it): neither is an error."""
    error = record.exc_info[1] if record.exc_info else None
    return not isinstance(
        error, DBOSAwaitedWorkflowCancelledError | DBOSWorkflowCancelledError | concurrent.futures.CancelledError
    )
