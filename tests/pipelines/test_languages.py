"""Steps in every language, run in the sandbox: the state passes through JavaScript, Python and native handlers;
what goes wrong in each becomes the step's error, with its class (fail, crash, kill)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from wws.cli.main import cli
from wws.kv.memory import MemoryKV
from wws.pipelines.executor import execute
from wws.pipelines.plan import load_plan
from wws.pipelines.runner import WorkerSteps
from wws.runtimes.registry import default_registry
from wws.sandbox.engine import Sandbox


@pytest.fixture
def steps(project: Path, sandbox: Sandbox) -> Iterator[WorkerSteps]:
    runner = WorkerSteps(project, kv=MemoryKV(), sandbox=sandbox)
    yield runner
    runner.close()


def run_plan(project: Path, steps: WorkerSteps, plan: dict[str, Any] | str, run_input: Any) -> dict[str, Any]:
    path = project / "pipelines" / "chain.json"
    if isinstance(plan, dict):
        path = project / "pipelines" / f"{plan['id']}.json"
        path.write_text(json.dumps(plan))
    loaded = load_plan(path, default_registry())
    return execute(loaded, run_input, steps.runner(loaded, "run-1"), run_id="run-1")


def test_the_state_passes_through_javascript_python_and_native_steps(
    project: Path, steps: WorkerSteps, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wws.guest")
    record = run_plan(project, steps, "chain", 5)
    assert record["status"] == "completed", record
    assert {step: fields["output"] for step, fields in record["steps"].items()} == {
        "double": 10,
        "add": 11,
        "negate": {"negated": -11, "greeting": "hello from the config"},  # [vars] reach a native step as env
    }
    assert record["output"] == {"negated": -11, "greeting": "hello from the config"}
    logged = [record.getMessage() for record in caplog.records if record.name == "wws.guest"]
    assert any("double.js [run-1/double/1] doubling 5" in line for line in logged)
    assert any("add.py [run-1/add/1] adding 1 for the tests" in line for line in logged)


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        ("h/throws.js", "GuestException", "no thanks: 1"),
        ("h/raises.py", "GuestException", "ValueError: no thanks: 1"),
        ("h/negate.wasm", "GuestTrap", "step_negate: the data is not a number"),
        ("h/bytes.py", "GuestException", "JSON cannot hold"),
        ("h/web.js", "GuestException", "no step handler"),
    ],
)
def test_a_failing_step_is_a_fail_with_the_guests_message(
    project: Path, steps: WorkerSteps, handler: str, error_type: str, message: str
) -> None:
    plan = {
        "id": "failing",
        "steps": [
            {"id": "bad", "handler": handler, "next": {"after": "on_failure"}},
            {"id": "after", "handler": "h/double.js"},
        ],
    }
    run_input = "not a number" if handler.endswith(".wasm") else 1
    record = run_plan(project, steps, plan, run_input)
    error = record["steps"]["bad"]["error"]
    assert (error["severity"], error["type"]) == ("fail", error_type), error
    assert message in error["message"]
    assert record["steps"]["after"]["status"] == "completed"  # handled by its on_failure edge
    assert str(project) not in error["message"]  # no host paths


def test_a_step_past_its_timeout_is_killed_and_the_run_aborts(project: Path, steps: WorkerSteps) -> None:
    plan = {
        "id": "slow",
        "steps": [
            {"id": "sleeps", "handler": "h/sleeps.py", "timeout_ms": 300, "retry": {"max_attempts": 3}, "next": {
                "after": "always"}},
            {"id": "after", "handler": "h/double.js"},
        ],
    }  # fmt: skip
    record = run_plan(project, steps, plan, 1)
    error = record["steps"]["sleeps"]["error"]
    assert (error["severity"], error["type"]) == ("kill", "GuestTimeout")
    assert record["steps"]["sleeps"]["attempt"] == 1  # a kill is never retried
    assert record["steps"]["after"]["status"] == "cancelled"
    assert record["status"] == "failed"


def test_a_handler_that_cannot_load_crashes_the_run(project: Path, steps: WorkerSteps) -> None:
    (project / "pipelines" / "h" / "broken.py").write_text("def step(state, env):\n    return (\n")
    plan = {"id": "broken", "steps": [{"id": "b", "handler": "h/broken.py"}]}
    record = run_plan(project, steps, plan, 1)
    assert record["steps"]["b"]["error"]["severity"] == "crash"
    assert record["steps"]["b"]["error"]["type"] == "LoadError"
    assert record["status"] == "failed"


def test_wws_pipeline_run_prints_the_record_and_exits_by_its_status(project: Path) -> None:
    plan = project / "pipelines" / "chain.json"
    result = CliRunner().invoke(cli, ["pipeline", "run", str(plan), "--input", "5", "--dir", str(project)])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["status"] == "completed"
    assert record["output"]["negated"] == -11
    failing = CliRunner().invoke(cli, ["pipeline", "run", str(plan), "--input", '"five"', "--dir", str(project)])
    assert failing.exit_code == 1
    assert json.loads(failing.stdout)["status"] == "failed"
    bad_input = CliRunner().invoke(cli, ["pipeline", "run", str(plan), "--input", "{oops", "--dir", str(project)])
    assert bad_input.exit_code == 2
    assert "not JSON" in bad_input.output


def rules_plan(extension: str) -> dict[str, Any]:
    """Branches, a handled failure and a join, every step the echo handler of one language."""
    echo = f"h/echo.{extension}"
    return {
        "id": f"rules-{extension}",
        "steps": [
            {"id": "start", "handler": echo, "next": {
                "positive": {"condition": "state.data.n > 0"}, "negative": {"condition": "state.data.n <= 0"}}},
            {"id": "positive", "handler": echo, "next": {"boom": True, "join": True}},
            {"id": "negative", "handler": echo, "next": {"join": True}},
            {"id": "boom", "handler": echo, "config": {"fail": True}, "retry": {"max_attempts": 2},
             "next": {"rescue": "on_failure", "after_boom": True}},
            {"id": "rescue", "handler": echo},
            {"id": "after_boom", "handler": echo},
            {"id": "join", "handler": echo},
        ],
    }  # fmt: skip


@pytest.mark.parametrize("extension", ["js", "py", "wasm"])
def test_the_plan_rules_hold_the_same_in_every_language(project: Path, steps: WorkerSteps, extension: str) -> None:
    record = run_plan(project, steps, rules_plan(extension), {"n": 1})
    assert {step: fields["status"] for step, fields in record["steps"].items()} == {
        "start": "completed",
        "positive": "completed",
        "negative": "skipped",
        "boom": "failed",
        "rescue": "completed",
        "after_boom": "skipped",
        "join": "completed",
    }
    steps_record = record["steps"]
    assert (steps_record["negative"]["skip_reason"], steps_record["negative"]["blocked_by"]) == (
        "conditional_branch",
        ["start"],
    )
    assert steps_record["after_boom"]["skip_reason"] == "conditional_branch"  # boom's failure was handled
    assert steps_record["boom"]["attempt"] == 2
    assert steps_record["boom"]["error"]["severity"] == "fail"
    assert "echo: failing as configured" in steps_record["boom"]["error"]["message"]
    assert record["status"] == "completed"
    assert record["output"] == {"rescue": {"n": 1}, "join": {"n": 1}}  # the join ran on the branch taken
