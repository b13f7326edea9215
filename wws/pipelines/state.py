"""The state passed from step to step: what a step is given, and what it may give back.

A step receives `{"data", "errors", "config"}` (`config` from the plan, never stored) and returns its new state: an
object with a `data` key is a state (without `errors`, it keeps the errors it was given); any other JSON value `v`
becomes `{"data": v}`. What is not JSON (bytes, NaN, text that does not parse) fails the step; a state larger
than the plan's `max_state_bytes` kills the run (it would be stored and passed on).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from wws.errors import StepFailure
from wws.pipelines.scheduler import Severity, State


def step_input(state: State, config: Mapping[str, Any]) -> str:
    """The JSON a step's handler receives."""
    return json.dumps({"data": state.get("data"), "errors": state.get("errors") or {}, "config": dict(config)})


def output_state(answer: str | bytes, given: State, max_bytes: int) -> State:
    """The state a handler's JSON answer stands for; raises `StepFailure` when it cannot be one."""
    if len(answer) > max_bytes:
        raise StepFailure(Severity.KILL, "StateTooLarge", _too_large(len(answer), max_bytes))
    if isinstance(answer, bytes):
        try:
            answer = answer.decode("utf-8")
        except UnicodeDecodeError:
            raise StepFailure(Severity.FAIL, "BadState", "the step returned bytes, not JSON text") from None
    try:
        value = json.loads(answer, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        message = f"the step returned something JSON cannot hold: {exc}"
        raise StepFailure(Severity.FAIL, "BadState", message) from None
    return as_state(value, given)


def as_state(value: Any, given: State) -> State:
    """`value` (JSON) as a state: an object with `data` is one (keeping `given`'s errors if it has none)."""
    if isinstance(value, dict) and "data" in value:
        errors = value.get("errors")
        if errors is None:
            errors = given.get("errors") or {}
        if not isinstance(errors, dict):
            raise StepFailure(Severity.FAIL, "BadState", "the returned state's 'errors' is not an object")
        return {"data": value["data"], "errors": errors}
    return {"data": value, "errors": given.get("errors") or {}}


def check_size(state: State, max_bytes: int) -> None:
    """Refuse (kill) a state that would be too large to store and pass on."""
    size = len(json.dumps(state, separators=(",", ":")))
    if size > max_bytes:
        raise StepFailure(Severity.KILL, "StateTooLarge", _too_large(size, max_bytes))


def _too_large(size: int, max_bytes: int) -> str:
    return f"the step returned a state of {size} bytes, over the plan's max_state_bytes ({max_bytes})"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
