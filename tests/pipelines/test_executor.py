"""The executor's rules, on plans whose steps are Python functions (the sandboxed handlers come with the runtimes):
state passing, AND-joins, branches, skip reasons, derived status, retries, error classes, concurrency."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wws.errors import ProcessStopping, StepFailure
from wws.pipelines.executor import attempts, execute, host_retry_delay
from wws.pipelines.plan import Plan, Step, load_plan
from wws.pipelines.scheduler import Scheduler, Severity, State
from wws.pipelines.state import as_state, output_state, step_input
from wws.runtimes.registry import default_registry

Function = Callable[[Any], Any]


def make_plan(folder: Path, steps: list[dict[str, Any]], **fields: Any) -> Plan:
    """A plan whose handlers are empty files: the steps are run by `run_with`'s functions instead."""
    (folder / "h").mkdir(exist_ok=True)
    for step in steps:
        step.setdefault("handler", f"h/{step['id']}.py")
        (folder / step["handler"]).write_text("")
    path = folder / "plan.json"
    path.write_text(json.dumps({"id": "test", "steps": steps, **fields}))
    return load_plan(path, default_registry())


def run_with(plan: Plan, run_input: Any, functions: dict[str, Function], **options: Any) -> dict[str, Any]:
    """Run `plan`; each step calls its function on its input state (with `config`), and returns what it returns."""

    def runner(step: Step, state: State, attempt: int) -> State:
        given = {**state, "config": dict(step.config), "attempt": attempt}
        return as_state(functions.get(step.id, lambda s: s["data"])(given), state)

    return execute(plan, run_input, runner, run_id="run-1", **options)


def fail(message: str, severity: Severity = Severity.FAIL) -> Function:
    def failing(_: Any) -> Any:
        raise StepFailure(severity, "GuestException", message)

    return failing


def statuses(record: dict[str, Any]) -> dict[str, str]:
    return {step: fields["status"] for step, fields in record["steps"].items()}


def test_a_linear_plan_passes_the_state_along(tmp_path: Path) -> None:
    plan = make_plan(
        tmp_path,
        [
            {"id": "a", "next": {"b": True}},
            {"id": "b", "next": {"c": True}, "config": {"add": 10}},
            {"id": "c"},
        ],
    )
    record = run_with(
        plan,
        1,
        {"a": lambda s: s["data"] + 1, "b": lambda s: s["data"] + s["config"]["add"], "c": lambda s: [s["data"]]},
    )
    assert record["run_id"] == "run-1"
    assert record["pipeline"] == "test"
    assert record["status"] == "completed"
    assert record["error"] is None
    assert record["output"] == [12]
    assert {step: fields["output"] for step, fields in record["steps"].items()} == {"a": 2, "b": 12, "c": [12]}
    assert {fields["attempt"] for fields in record["steps"].values()} == {1}
    assert "config" not in json.dumps(record)  # config reaches the step, never the record


def test_a_condition_picks_the_branch_and_the_other_is_skipped(tmp_path: Path) -> None:
    plan = make_plan(
        tmp_path,
        [
            {
                "id": "validate",
                "next": {
                    "adult": {"condition": "state.data.age > 18"},
                    "minor": {"condition": "state.data.age <= 18"},
                },
            },
            {"id": "adult"},
            {"id": "minor"},
        ],
    )
    record = run_with(plan, {"age": 20}, {"adult": lambda s: "adult", "minor": lambda s: "minor"})
    assert statuses(record) == {"validate": "completed", "adult": "completed", "minor": "skipped"}
    assert record["steps"]["minor"]["skip_reason"] == "conditional_branch"
    assert record["steps"]["minor"]["blocked_by"] == ["validate"]
    assert record["status"] == "completed"
    assert record["output"] == "adult"  # the one completed leaf


def test_a_join_after_a_branch_runs_on_the_branch_taken(tmp_path: Path) -> None:
    plan = make_plan(
        tmp_path,
        [
            {"id": "a", "next": {"b": {"condition": "state.data > 0"}, "c": {"condition": "state.data < 0"}}},
            {"id": "b", "next": {"d": True}},
            {"id": "c", "next": {"d": True}},
            {"id": "d"},
        ],
    )
    record = run_with(plan, 5, {"b": lambda s: "positive", "d": lambda s: f"joined {s['data']}"})
    assert statuses(record) == {"a": "completed", "b": "completed", "c": "skipped", "d": "completed"}
    assert record["output"] == "joined positive"
    assert record["status"] == "completed"


def test_several_fired_inbound_edges_give_data_by_source_and_the_union_of_errors(tmp_path: Path) -> None:
    plan = make_plan(
        tmp_path,
        [
            {"id": "a", "next": {"c": True}},
            {"id": "b", "next": {"c": "always"}},
            {"id": "c"},
        ],
    )
    seen: list[Any] = []
    record = run_with(plan, 0, {"a": lambda s: "A", "b": fail("b broke"), "c": lambda s: seen.append(s) or "done"})
    assert seen[0]["data"] == {"a": "A", "b": 0}  # a failed step passes on the data it was given
    assert seen[0]["errors"] == {"b": {"severity": "fail", "type": "GuestException", "message": "b broke"}}
    assert record["status"] == "completed"  # b's failure was handled (its always edge fired)


def test_an_unhandled_failure_skips_what_depends_on_it_and_fails_the_run(tmp_path: Path) -> None:
    plan = make_plan(
        tmp_path,
        [
            {"id": "a", "next": {"b": True}},
            {"id": "b", "next": {"c": True}},
            {"id": "c"},
            {"id": "other", "next": {"join": True}},
            {"id": "join"},
        ],
    )
    plan_with_join = make_plan(
        tmp_path,
        [{"id": "a", "next": {"c": True}}, {"id": "b", "next": {"c": True}}, {"id": "c"}],
    )
    record = run_with(plan, 1, {"a": fail("no")})
    assert statuses(record) == {
        "a": "failed",
        "b": "skipped",
        "c": "skipped",
        "other": "completed",
        "join": "completed",
    }
    assert (record["steps"]["b"]["skip_reason"], record["steps"]["b"]["blocked_by"]) == ("upstream_failure", ["a"])
    assert (record["steps"]["c"]["skip_reason"], record["steps"]["c"]["blocked_by"]) == ("upstream_failure", ["b"])
    assert record["steps"]["a"]["error"] == {"severity": "fail", "type": "GuestException", "message": "no"}
    assert record["status"] == "failed"
    # A join below a failed step does not run, although its other upstream completed.
    joined = run_with(plan_with_join, 1, {"b": fail("no")})
    assert statuses(joined) == {"a": "completed", "b": "failed", "c": "skipped"}
    assert joined["steps"]["c"]["blocked_by"] == ["b"]


def test_a_handled_failure_runs_its_on_failure_branch_and_the_run_completes(tmp_path: Path) -> None:
    plan = make_plan(
        tmp_path,
        [
            {"id": "charge", "next": {"receipt": True, "refund": "on_failure"}},
            {"id": "receipt"},
            {"id": "refund"},
        ],
    )
    record = run_with(plan, {"amount": 5}, {"charge": fail("card declined"), "refund": lambda s: s["errors"]})
    assert statuses(record) == {"charge": "failed", "receipt": "skipped", "refund": "completed"}
    assert record["steps"]["receipt"]["skip_reason"] == "conditional_branch"  # handled: not an upstream failure
    assert record["output"] == {"charge": {"severity": "fail", "type": "GuestException", "message": "card declined"}}
    assert record["status"] == "completed"


def test_a_failing_step_is_retried_with_backoff_then_succeeds(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, [{"id": "flaky", "retry": {"max_attempts": 4, "backoff_ms": 100, "multiplier": 2}}])
    waits: list[float] = []

    def flaky(state: Any) -> Any:
        if state["attempt"] < 3:
            raise StepFailure(Severity.FAIL, "GuestException", f"attempt {state['attempt']}")
        return "finally"

    record = run_with(plan, None, {"flaky": flaky}, sleep=waits.append)
    assert record["steps"]["flaky"]["attempt"] == 3
    assert record["output"] == "finally"
    assert waits == [0.1, 0.2]


def test_retries_stop_at_max_attempts(tmp_path: Path) -> None:
    plan = make_plan(
        tmp_path, [{"id": "a", "retry": {"max_attempts": 3, "backoff_ms": 10}, "next": {"b": True}}, {"id": "b"}]
    )
    waits: list[float] = []
    record = run_with(plan, None, {"a": fail("always")}, sleep=waits.append)
    assert record["steps"]["a"]["attempt"] == 3
    assert waits == [0.01, 0.01]
    assert record["steps"]["a"]["error"]["message"] == "always"
    assert record["status"] == "failed"


def test_a_kill_is_never_retried_and_aborts_the_run(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, [{"id": "slow", "retry": {"max_attempts": 5}, "next": {"after": True}}, {"id": "after"}])
    waits: list[float] = []
    record = run_with(plan, None, {"slow": fail("deadline", Severity.KILL)}, sleep=waits.append)
    assert record["steps"]["slow"]["attempt"] == 1
    assert waits == []
    assert record["steps"]["after"]["status"] == "cancelled"  # nothing new starts after a kill
    assert record["error"] == {"severity": "kill", "type": "GuestException", "message": "deadline"}
    assert record["status"] == "failed"


def test_a_condition_that_raises_crashes_the_run(tmp_path: Path) -> None:
    plan = make_plan(
        tmp_path,
        [
            {"id": "a", "next": {"b": {"condition": "state.data.missing > 1"}}},
            {"id": "b", "next": {"c": True}},
            {"id": "c"},
        ],
    )
    record = run_with(plan, {"present": 1}, {})
    assert statuses(record) == {"a": "completed", "b": "cancelled", "c": "cancelled"}
    assert record["error"]["severity"] == "crash"
    assert record["error"]["type"] == "ConditionError"
    assert "a -> b" in record["error"]["message"]
    assert "state.data.missing does not exist" in record["error"]["message"]
    assert record["status"] == "failed"
    assert record["output"] is None


def test_a_state_over_max_state_bytes_kills_the_run(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, [{"id": "big", "next": {"after": True}}, {"id": "after"}], max_state_bytes=1000)
    record = run_with(plan, None, {"big": lambda s: "x" * 2000})
    assert record["steps"]["big"]["error"]["type"] == "StateTooLarge"
    assert record["steps"]["big"]["error"]["severity"] == "kill"
    assert record["steps"]["after"]["status"] == "cancelled"


def test_a_host_failure_runs_the_same_attempt_again_until_the_host_works(tmp_path: Path) -> None:
    """Not the step's fault: no attempt of its `retry` is spent, the run is not failed, and each failure is told."""
    plan = make_plan(tmp_path, [{"id": "a", "retry": {"max_attempts": 1}}])
    failures = iter([RuntimeError("KV backend down"), OSError("folder gone")])
    told: list[tuple[str, int, str, float]] = []
    waited: list[float] = []

    def flaky(state: Any) -> Any:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return {"attempt": state["attempt"]}

    runner = _runner(plan, {"a": flaky})
    outcome = attempts(
        plan,
        plan.step("a"),
        {"data": None, "errors": {}},
        runner,
        sleep=waited.append,
        host_failed=lambda step, count, exc, delay: told.append((step.id, count, str(exc), delay)),
    )
    assert outcome.error is None
    assert outcome.output == {"data": {"attempt": 1}, "errors": {}}
    assert outcome.attempts == 1
    assert told == [("a", 1, "KV backend down", 0.1), ("a", 2, "folder gone", 0.2)]
    assert waited == [0.1, 0.2]


def test_host_retries_back_off_to_thirty_seconds() -> None:
    assert [host_retry_delay(count) for count in (1, 2, 3, 9, 10, 500)] == [0.1, 0.2, 0.4, 25.6, 30.0, 30.0]


def test_a_step_waiting_for_the_host_stops_with_its_run_or_its_process(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, [{"id": "a"}])

    def broken(_: Any) -> Any:
        raise RuntimeError("database unreachable")

    aborted, stopping = threading.Event(), threading.Event()
    threading.Timer(0.3, aborted.set).start()
    started = time.monotonic()
    outcome = attempts(plan, plan.step("a"), {"data": None, "errors": {}}, _runner(plan, {"a": broken}),
                       aborted=aborted, host_failed=lambda *_: None)  # fmt: skip
    assert time.monotonic() - started < 5, "the wait for the host was not cut short"
    assert outcome.error is not None
    assert (outcome.error.severity, outcome.error.type) == (Severity.KILL, "Cancelled")
    assert "database unreachable" in outcome.error.message
    threading.Timer(0.3, stopping.set).start()
    with pytest.raises(ProcessStopping):
        attempts(plan, plan.step("a"), {"data": None, "errors": {}}, _runner(plan, {"a": broken}),
                 stopping=stopping, host_failed=lambda *_: None)  # fmt: skip


def _runner(plan: Plan, functions: dict[str, Function]) -> Callable[[Step, State, int], State]:
    def runner(step: Step, state: State, attempt: int) -> State:
        given = {**state, "config": dict(step.config), "attempt": attempt}
        return as_state(functions[step.id](given), state)

    return runner


def test_steps_whose_upstreams_settled_run_at_the_same_time(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, [{"id": "a", "next": {"c": True}}, {"id": "b", "next": {"c": True}}, {"id": "c"}])
    running = threading.Barrier(2, timeout=5)  # a and b must be running together to pass it

    def meet(state: Any) -> Any:
        running.wait()
        return "met"

    started = time.monotonic()
    record = run_with(plan, None, {"a": meet, "b": meet})
    assert record["steps"]["c"]["output"] == {"a": "met", "b": "met"}
    assert time.monotonic() - started < 5
    assert record["output"] == {"a": "met", "b": "met"}


def test_several_completed_leaves_make_the_output_an_object_by_leaf(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, [{"id": "root", "next": {"x": True, "y": True}}, {"id": "x"}, {"id": "y"}])
    record = run_with(plan, 1, {"x": lambda s: "X", "y": lambda s: "Y"})
    assert record["output"] == {"x": "X", "y": "Y"}
    none = run_with(plan, 1, {"root": fail("stop")})
    assert none["output"] is None


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"data": 1}, {"data": 1, "errors": {"earlier": "e"}}),
        ({"data": 1, "errors": {}}, {"data": 1, "errors": {}}),
        ([1, 2], {"data": [1, 2], "errors": {"earlier": "e"}}),
        ({"other": 1}, {"data": {"other": 1}, "errors": {"earlier": "e"}}),
    ],
)
def test_what_a_step_returns_becomes_a_state(answer: Any, expected: State) -> None:
    assert as_state(answer, {"data": 0, "errors": {"earlier": "e"}}) == expected


@pytest.mark.parametrize(
    ("answer", "kind", "severity"),
    [
        (b"\xff\xfe", "BadState", "fail"),
        ("NaN", "BadState", "fail"),
        ("{not json", "BadState", "fail"),
        ('{"data": 1, "errors": []}', "BadState", "fail"),
        ('"' + "x" * 100 + '"', "StateTooLarge", "kill"),
    ],
)
def test_answers_that_are_not_states_fail_or_kill_the_step(answer: str | bytes, kind: str, severity: str) -> None:
    with pytest.raises(StepFailure) as failure:
        output_state(answer, {"data": None, "errors": {}}, max_bytes=50)
    assert (failure.value.kind, failure.value.severity) == (kind, severity)


def test_a_step_input_carries_config_and_an_answer_parses_back() -> None:
    given = {"data": {"n": 1}, "errors": {"x": "y"}}
    sent = json.loads(step_input(given, {"k": "v"}))
    assert sent == {"data": {"n": 1}, "errors": {"x": "y"}, "config": {"k": "v"}}
    assert output_state('{"data": 2}', given, max_bytes=100) == {"data": 2, "errors": {"x": "y"}}


def test_every_decision_is_an_event_numbered_in_order(tmp_path: Path) -> None:
    plan = make_plan(
        tmp_path,
        [
            {"id": "a", "next": {"b": {"condition": "state.data > 1"}, "c": "on_failure"}},
            {"id": "b"},
            {"id": "c"},
        ],
    )
    scheduler = Scheduler(plan, 5)
    assert scheduler.start() == [("a", {"data": 5, "errors": {}})]
    scheduler.complete("a", {"data": 5, "errors": {}}, attempts=2)
    assert [step for step, _ in scheduler.start()] == ["b"]
    scheduler.complete("b", {"data": "done", "errors": {}})
    record = scheduler.finish("run-1")
    assert record["status"] == "completed"
    assert scheduler.drain() == [
        {"id": 1, "event": "run-start", "data": {"pipeline": "test", "steps": ["a", "b", "c"]}},
        {"id": 2, "event": "step-start", "data": {"step": "a"}},
        {"id": 3, "event": "step-complete", "data": {"step": "a", "attempt": 2, "output": 5}},
        {
            "id": 4,
            "event": "edge",
            "data": {"source": "a", "target": "b", "kind": "condition", "fired": True, "condition": "state.data > 1",
                     "result": True},
        },
        {"id": 5, "event": "edge", "data": {"source": "a", "target": "c", "kind": "on_failure", "fired": False}},
        {"id": 6, "event": "step-start", "data": {"step": "b"}},  # decided in plan order
        {"id": 7, "event": "step-skipped", "data": {"step": "c", "skip_reason": "conditional_branch",
                                                    "blocked_by": ["a"]}},
        {"id": 8, "event": "step-complete", "data": {"step": "b", "attempt": 1, "output": "done"}},
        {"id": 9, "event": "run-complete", "data": {"status": "completed", "output": "done"}},
    ]  # fmt: skip
    scheduler.finish("run-1")
    assert scheduler.drain() == []  # the run ends once
