"""The decisions of a run, without running anything: which steps may start, with what state, and what follows from
how each ended. Pure and deterministic, so that a durable workflow can replay it (see `executor.py`).

The rules (Dafthunk's, with failures outranking conditions; error classes as in OpenFn):
- A step is decided once, after every upstream step has settled (AND-join). Roots get the run's input as `data`.
- When a step settles, its edges fire or not: on success `on_success`, `always` and the conditions that hold on its
  output state fire; on failure `on_failure` and `always` fire; a skipped or cancelled step fires nothing.
  A failed step is *handled* when one of its `on_failure`/`always` edges fired.
- An edge that did not fire is blocked: `upstream_failure` when its source failed unhandled or was skipped for
  `upstream_failure`, else `conditional_branch`.
- A step runs when at least one inbound edge fired and none is an `upstream_failure`; else it is skipped, with the
  reason (`upstream_failure` if any inbound edge is one, else `conditional_branch`) and the sources behind it.
- A condition that raises, a handler that cannot load (`crash`), a deadline, memory cap or oversized state (`kill`)
  abort the run: nothing new starts; steps not started become `cancelled`.
- The run's status is derived: `failed` when a step failed unhandled, a step was skipped for `upstream_failure`,
  or the run aborted; else `completed`.

Every decision is also an event (`run-start`, `step-start`, `step-complete`, `step-error`, `edge` with the
condition's result, `step-skipped`, `run-complete`, `run-error`), numbered from 1 in the order it was made:
`drain()` hands over the new ones, for the run's durable event stream.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from wws.errors import ConditionError
from wws.pipelines.outputs import is_reference
from wws.pipelines.plan import Edge, EdgeKind, Plan, StepType

State = dict[str, Any]
"""`{"data": …, "errors": {step_id: error}}`: what passes from step to step (JSON values)."""


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    """A wait step, running: until it is resolved or its timeout comes (told by the events; see `StepType.WAIT`)."""
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class Severity(StrEnum):
    """How bad a failure is (OpenFn's classes): a `fail` is the step's; `crash` and `kill` abort the run."""

    FAIL = "fail"
    CRASH = "crash"
    KILL = "kill"


class SkipReason(StrEnum):
    UPSTREAM_FAILURE = "upstream_failure"
    CONDITIONAL_BRANCH = "conditional_branch"


@dataclass(frozen=True, slots=True)
class StepError:
    severity: Severity
    type: str
    """What kind of failure, e.g. `GuestException`, `GuestTimeout`, `BadState`, `ConditionError`."""
    message: str

    def to_json(self) -> dict[str, str]:
        return {"severity": self.severity.value, "type": self.type, "message": self.message}


@dataclass(slots=True)
class StepRecord:
    status: StepStatus = StepStatus.PENDING
    attempt: int = 0
    skip_reason: SkipReason | None = None
    blocked_by: list[str] = field(default_factory=list)
    error: StepError | None = None
    input: State | None = None
    """The state the step was given (its `errors` and `data`, never its `config`)."""
    output: State | None = None
    """The state it returned, when it completed."""
    reference: dict[str, Any] | None = None
    """What stands for its output's data where it is stored, when that is large (see `outputs.py`)."""

    def shown(self) -> Any:
        """Its output's data as the record and the events show it: the data, or the reference to it."""
        if self.reference is not None:
            return self.reference
        return self.output["data"] if self.output is not None else None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "attempt": self.attempt,
            "skip_reason": self.skip_reason.value if self.skip_reason else None,
            "blocked_by": self.blocked_by,
            "error": self.error.to_json() if self.error else None,
            "output": self.shown(),
        }


RUN_STATUSES = ("running", "completed", "failed", "cancelled")
"""What a run's `status` may be."""
LAST_EVENTS = ("run-complete", "run-error")
"""The event that ends a run (or one of its reruns), once; a cancelled one ends without it (see `cancelled_ending`)."""

_SETTLED = {StepStatus.COMPLETED, StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.CANCELLED}


class Scheduler:
    """One run's decisions. `start()` gives the steps that may run now with their input states; `complete()` and
    `fail()` record how a step ended and decide what it unblocks; `record()` is the run as JSON."""

    def __init__(
        self,
        plan: Plan,
        run_input: Any,
        history: list[dict[str, Any]] | None = None,
        rerun: str = "",
        load: Callable[[dict[str, Any]], Any] | None = None,
    ):
        """A new run of `plan` on `run_input`; or, with the `history` of a finished run (its events) and a step to
        `rerun`, that run going on: the step, the steps below it and the steps cancelled run again (each attempt
        numbered after its last one), the others keep how they ended, and the events go on with the next number.
        `load` gives the data a reference in the history stands for."""
        self.plan = plan
        self._load = load
        self.input = run_input
        self.steps = {step.id: StepRecord() for step in plan.steps}
        self.error: StepError | None = None
        """Why the run aborted (a crash or a kill), if it did."""
        self._fired: dict[tuple[str, str], bool] = {}
        """(source, target) → whether that edge fired, once its source has settled."""
        self._inbound = {step.id: plan.inbound(step.id) for step in plan.steps}
        self._outbound = {step.id: [edge for edge in plan.edges() if edge.source == step.id] for step in plan.steps}
        self._events: list[dict[str, Any]] = []
        self._sequence = 0
        self._finished = False
        steps = [step.id for step in plan.steps]
        if history is None:
            self._emit("run-start", {"pipeline": plan.id, "steps": steps})
            return
        self._replay(history)
        again = self._reset(rerun)
        self._emit("run-start", {"pipeline": plan.id, "steps": steps, "rerun": {"from": rerun, "steps": again}})

    def _replay(self, history: list[dict[str, Any]]) -> None:
        """Be where the run's events leave it (their numbers included), without telling them again."""
        for event in history:
            kind, data = event["event"], event["data"]
            self._sequence = event["id"]
            if kind == "step-start":
                record = self.steps[data["step"]]
                record.status, record.input = StepStatus.RUNNING, self._input_of(data["step"])
            elif kind == "step-complete":
                record = self.steps[data["step"]]
                value = data["output"]
                if is_reference(value):
                    assert self._load is not None, "a history with large outputs needs a way to load them"
                    record.reference, value = value, self._load(value)
                output = {"data": value, "errors": data.get("errors") or {}}
                record.status, record.output, record.attempt = StepStatus.COMPLETED, output, data["attempt"]
            elif kind == "step-error":
                record = self.steps[data["step"]]
                record.status = StepStatus(data.get("status", StepStatus.FAILED.value))
                error = data["error"]
                record.error = StepError(Severity(error["severity"]), error["type"], error["message"])
                record.attempt = data["attempt"] or record.attempt
            elif kind == "edge":
                self._fired[(data["source"], data["target"])] = data["fired"]
            elif kind == "step-skipped":
                record = self.steps[data["step"]]
                record.status, record.skip_reason = StepStatus.SKIPPED, SkipReason(data["skip_reason"])
                record.blocked_by = list(data["blocked_by"])
            elif kind in LAST_EVENTS:
                for record in self.steps.values():
                    if record.status in (StepStatus.PENDING, StepStatus.RUNNING):
                        record.status = StepStatus.CANCELLED

    def _reset(self, step_id: str) -> list[str]:
        """Make `step_id`, the steps below it and the cancelled ones pending again; the steps reset, in plan order."""
        below = {step_id}
        position = {step: index for index, step in enumerate(self.plan.order())}
        for edge in sorted(self.plan.edges(), key=lambda edge: position[edge.source]):  # ancestors' edges first
            if edge.source in below:
                below.add(edge.target)
        again = [
            step.id
            for step in self.plan.steps
            if step.id in below or self.steps[step.id].status is StepStatus.CANCELLED
        ]
        for reset in again:
            attempt = self.steps[reset].attempt
            self.steps[reset] = StepRecord(attempt=attempt)
        self._fired = {edge: fired for edge, fired in self._fired.items() if edge[0] not in again}
        self.error = None
        return again

    def _input_of(self, step_id: str) -> State:
        """The state a step starts with: the run's input for a root; else what its fired inbound edges pass on."""
        inbound = self._inbound[step_id]
        if not inbound:
            return {"data": self.input, "errors": {}}
        return self._merge([edge for edge in inbound if self._fired.get((edge.source, edge.target), False)])

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        self._sequence += 1
        self._events.append({"id": self._sequence, "event": kind, "data": data})

    def drain(self) -> list[dict[str, Any]]:
        """The events decided since the last call, in order."""
        events, self._events = self._events, []
        return events

    def finish(self, run_id: str) -> dict[str, Any]:
        """The run is over: its last event (`run-complete` or `run-error`, once) and its record."""
        record = self.record(run_id)
        if not self._finished:
            self._finished = True
            if record["status"] == "completed":
                self._emit("run-complete", {"status": "completed", "output": record["output"]})
            else:
                self._emit("run-error", {"status": record["status"], "error": record["error"]})
        return record

    @property
    def aborted(self) -> bool:
        return self.error is not None

    def start(self) -> list[tuple[str, State]]:
        """Decide every pending step whose upstreams have all settled: the ones that run now (marked running, with
        their input states), in plan order. The others are skipped, which may settle more steps: decided here too."""
        if self.aborted:
            return []
        starting: list[tuple[str, State]] = []
        decided = True
        while decided:
            decided = False
            for step in self.plan.steps:
                record = self.steps[step.id]
                inbound = self._inbound[step.id]
                if record.status is not StepStatus.PENDING:
                    continue
                if any(self.steps[edge.source].status not in _SETTLED for edge in inbound):
                    continue
                decided = True
                if inbound and self._skip(step.id, inbound):
                    continue
                state = self._input_of(step.id)
                record.status, record.input = StepStatus.RUNNING, state
                starting.append((step.id, state))
                self._emit(
                    "step-start", {"step": step.id, "wait": True} if step.type is StepType.WAIT else {"step": step.id}
                )
        return starting

    def complete(self, step_id: str, output: State, attempts: int = 1, reference: dict[str, Any] | None = None) -> None:
        """The step returned `output` (a checked state) after `attempts`: its edges fire, or the run aborts if a
        condition raises. A `reference` stands for its data in the events and the record."""
        record = self.steps[step_id]
        record.status, record.output, record.attempt = StepStatus.COMPLETED, output, attempts
        record.reference = reference
        completed = {"step": step_id, "attempt": attempts, "output": record.shown()}
        if output.get("errors"):
            completed["errors"] = output["errors"]  # a rerun picks the state up from the events
        self._emit("step-complete", completed)
        for edge in self._outbound[step_id]:
            try:
                fired = self._fires_on_success(edge, output)
            except ConditionError as exc:
                message = f"condition of the edge {edge.source} -> {edge.target} ({edge.condition}): {exc}"
                self._edge_event(edge, False, message)
                self.abort(StepError(Severity.CRASH, "ConditionError", message))
                fired = False
            else:
                self._edge_event(edge, fired)
            self._fired[(edge.source, edge.target)] = fired

    def fail(self, step_id: str, error: StepError, attempts: int = 1) -> None:
        """The step failed for good after `attempts`: a `fail` fires its on_failure/always edges; a crash or a kill
        aborts the run."""
        record = self.steps[step_id]
        record.status, record.error, record.attempt = StepStatus.FAILED, error, attempts
        self._emit("step-error", {"step": step_id, "attempt": attempts, "error": error.to_json()})
        for edge in self._outbound[step_id]:
            fired = edge.kind in (EdgeKind.ON_FAILURE, EdgeKind.ALWAYS)
            self._fired[(edge.source, edge.target)] = fired
            self._edge_event(edge, fired)
        if error.severity is not Severity.FAIL:
            self.abort(error)

    def _edge_event(self, edge: Edge, fired: bool, error: str | None = None) -> None:
        data: dict[str, Any] = {"source": edge.source, "target": edge.target, "kind": edge.kind.value, "fired": fired}
        if edge.condition is not None:
            data["condition"] = edge.condition.text
            data["result"] = None if error else fired
        if error:
            data["error"] = error
        self._emit("edge", data)

    def abort(self, error: StepError) -> None:
        """Stop the run: nothing new starts; the steps not started are cancelled."""
        if self.error is None:
            self.error = error
        for record in self.steps.values():
            if record.status is StepStatus.PENDING:
                record.status = StepStatus.CANCELLED

    @property
    def finished(self) -> bool:
        return all(record.status in _SETTLED for record in self.steps.values())

    def status(self) -> str:
        """`running` until every step settled; then `failed` or `completed`, derived from the steps."""
        if not self.finished:
            return "running"
        if self.aborted:
            return "failed"
        for step_id, record in self.steps.items():
            if record.status is StepStatus.FAILED and not self._handled(step_id):
                return "failed"
            if record.skip_reason is SkipReason.UPSTREAM_FAILURE:
                return "failed"
        return "completed"

    def output(self) -> Any:
        """The run's result: the `data` of its one completed leaf, `{leaf: data}` for several, None for none."""
        leaves = [
            step.id
            for step in self.plan.steps
            if not self._outbound[step.id] and self.steps[step.id].status is StepStatus.COMPLETED
        ]
        outputs = {leaf: self.steps[leaf].shown() for leaf in leaves}
        if len(outputs) == 1:
            return next(iter(outputs.values()))
        return outputs or None

    def record(self, run_id: str) -> dict[str, Any]:
        """The run record: what `wws pipeline run` prints and the HTTP API serves."""
        return {
            "run_id": run_id,
            "pipeline": self.plan.id,
            "status": self.status(),
            "error": self.error.to_json() if self.error else None,
            "output": self.output() if self.finished else None,
            "steps": {step_id: record.to_json() for step_id, record in self.steps.items()},
        }

    def _fires_on_success(self, edge: Edge, output: State) -> bool:
        if edge.kind is EdgeKind.CONDITION:
            assert edge.condition is not None
            return edge.condition.holds(output)
        return edge.kind in (EdgeKind.ON_SUCCESS, EdgeKind.ALWAYS)

    def _handled(self, step_id: str) -> bool:
        """A failed step whose on_failure or always edge fired: its failure is dealt with."""
        return any(self._fired.get((edge.source, edge.target), False) for edge in self._outbound[step_id])

    def _blocked_reason(self, edge: Edge) -> SkipReason:
        source = self.steps[edge.source]
        failed_unhandled = source.status is StepStatus.FAILED and not self._handled(edge.source)
        if failed_unhandled or source.skip_reason is SkipReason.UPSTREAM_FAILURE:
            return SkipReason.UPSTREAM_FAILURE
        return SkipReason.CONDITIONAL_BRANCH

    def _skip(self, step_id: str, inbound: list[Edge]) -> bool:
        """Skip the step if no inbound edge fired or one is blocked by an upstream failure; True if skipped."""
        blocked = [edge for edge in inbound if not self._fired.get((edge.source, edge.target), False)]
        reasons = {edge.source: self._blocked_reason(edge) for edge in blocked}
        failures = [source for source, reason in reasons.items() if reason is SkipReason.UPSTREAM_FAILURE]
        if not failures and len(blocked) < len(inbound):
            return False
        record = self.steps[step_id]
        record.status = StepStatus.SKIPPED
        record.skip_reason = SkipReason.UPSTREAM_FAILURE if failures else SkipReason.CONDITIONAL_BRANCH
        record.blocked_by = failures or list(reasons)
        reason = record.skip_reason.value
        self._emit("step-skipped", {"step": step_id, "skip_reason": reason, "blocked_by": record.blocked_by})
        return True

    def _merge(self, fired: list[Edge]) -> State:
        """The input state of a step from its fired inbound edges: one source's state as it is; several as
        `{source: data}` with their errors joined. A failed source passes on the state it was given, with its error
        under `errors[source]`."""
        states = {edge.source: self._passed_on(edge.source) for edge in fired}
        if len(states) == 1:
            return next(iter(states.values()))
        errors: dict[str, Any] = {}
        for state in states.values():
            errors.update(state.get("errors") or {})
        return {"data": {source: state.get("data") for source, state in states.items()}, "errors": errors}

    def _passed_on(self, source: str) -> State:
        record = self.steps[source]
        if record.status is StepStatus.COMPLETED and record.output is not None:
            return record.output
        given = record.input or {"data": None, "errors": {}}
        errors = dict(given.get("errors") or {})
        if record.error is not None:
            errors[source] = record.error.to_json()
        return {"data": given.get("data"), "errors": errors}


def record_from_events(run_id: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    """The record of a run as its events tell it so far (for a run still going: the record itself comes at its end).
    Steps without events yet are pending; the run's status is `running` until its last event."""
    record: dict[str, Any] = {"run_id": run_id, "pipeline": None, "status": "running", "error": None, "output": None}
    steps: dict[str, dict[str, Any]] = {}
    for event in events:
        kind, data = event["event"], event["data"]
        if kind == "run-start" and "rerun" in data:  # the run goes on: some steps run again
            record.update(status="running", output=None, error=None)
            for step in data["rerun"]["steps"]:
                steps[step] = StepRecord(attempt=steps[step]["attempt"]).to_json()
        elif kind == "run-start":
            record["pipeline"] = data["pipeline"]
            steps = {step: StepRecord().to_json() for step in data["steps"]}
        elif kind == "step-start":
            steps[data["step"]]["status"] = (StepStatus.WAITING if data.get("wait") else StepStatus.RUNNING).value
        elif kind == "step-complete":
            steps[data["step"]].update(status="completed", attempt=data["attempt"], output=data["output"])
        elif kind == "step-error":
            status = data.get("status", StepStatus.FAILED.value)  # `cancelled`: the run was cancelled meanwhile
            steps[data["step"]].update(status=status, attempt=data["attempt"], error=data["error"])
        elif kind == "step-skipped":
            steps[data["step"]].update(status="skipped", skip_reason=data["skip_reason"], blocked_by=data["blocked_by"])
        elif kind in LAST_EVENTS:
            record.update(status=data["status"], output=data.get("output"), error=data.get("error"))
            for step in steps.values():
                if step["status"] == StepStatus.PENDING.value:
                    step["status"] = StepStatus.CANCELLED.value
    record["steps"] = steps
    return record


CANCELLED = StepError(Severity.KILL, "Cancelled", "the run was cancelled")


def cancelled_ending(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The last events of a run cancelled after `events` (all it had written): each step still running is
    cancelled, then the run (`run-error` with the status `cancelled`). Numbered after the others, so that every
    reader tells the same."""
    started: dict[str, int] = {}  # steps running or waiting
    for event in events:
        if event["event"] == "step-start":
            started[event["data"]["step"]] = 0
        elif event["event"] in ("step-complete", "step-error"):
            started.pop(event["data"]["step"], None)
    sequence = events[-1]["id"] if events else 0
    ending = []
    for step_id in started:
        sequence += 1
        data = {"step": step_id, "attempt": 0, "error": CANCELLED.to_json(), "status": "cancelled"}
        ending.append({"id": sequence, "event": "step-error", "data": data})
    ending.append(
        {"id": sequence + 1, "event": "run-error", "data": {"status": "cancelled", "error": CANCELLED.to_json()}}
    )
    return ending
