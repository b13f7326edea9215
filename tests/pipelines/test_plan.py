"""Plans: JSON or TOML, validated before anything runs, every problem reported at once, one per line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wws.errors import PlanError
from wws.pipelines.plan import EdgeKind, Plan, Retry, StepType, load_plan
from wws.runtimes.registry import default_registry

AGE_GATE = {
    "id": "age-gate",
    "steps": [
        {
            "id": "validate",
            "handler": "h/validate.py",
            "next": {"adult": {"condition": "state.data.age > 18"}, "minor": {"condition": "state.data.age <= 18"}},
        },
        {"id": "adult", "handler": "h/tag.js", "retry": {"max_attempts": 3, "backoff_ms": 100, "multiplier": 2}},
        {"id": "minor", "handler": "h/tag.wasm", "timeout_ms": 200, "config": {"k": "v"}, "secrets": ["API_KEY"]},
    ],
}

AGE_GATE_TOML = """
id = "age-gate"

[[steps]]
id = "validate"
handler = "h/validate.py"
next = { adult = { condition = "state.data.age > 18" }, minor = { condition = "state.data.age <= 18" } }

[[steps]]
id = "adult"
handler = "h/tag.js"
retry = { max_attempts = 3, backoff_ms = 100, multiplier = 2 }

[[steps]]
id = "minor"
handler = "h/tag.wasm"
timeout_ms = 200
config = { k = "v" }
secrets = ["API_KEY"]
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "h").mkdir()
    for name in ("validate.py", "tag.js", "tag.wasm"):
        (tmp_path / "h" / name).write_text("")
    return tmp_path


def write(folder: Path, plan: Any, name: str = "plan.json") -> Path:
    path = folder / name
    path.write_text(plan if isinstance(plan, str) else json.dumps(plan))
    return path


def problems(folder: Path, plan: Any, name: str = "plan.json") -> list[str]:
    with pytest.raises(PlanError) as caught:
        load_plan(write(folder, plan, name), default_registry())
    assert caught.value.exit_code == 2
    assert str(caught.value).splitlines() == [f"{folder / name}: {problem}" for problem in caught.value.problems]
    return caught.value.problems


@pytest.mark.parametrize(("name", "text"), [("age-gate.json", json.dumps(AGE_GATE)), ("age-gate.toml", AGE_GATE_TOML)])
def test_a_plan_loads_from_json_or_toml_with_handlers_resolved_against_its_folder(
    folder: Path, name: str, text: str
) -> None:
    plan = load_plan(write(folder, text, name), default_registry())
    assert isinstance(plan, Plan)
    assert plan.id == "age-gate"
    assert [step.id for step in plan.steps] == ["validate", "adult", "minor"]
    validate, adult, minor = plan.steps
    assert validate.handler == folder / "h" / "validate.py"
    assert [(edge.target, edge.kind) for edge in validate.next] == [
        ("adult", EdgeKind.CONDITION),
        ("minor", EdgeKind.CONDITION),
    ]
    assert validate.next[0].condition is not None
    assert validate.next[0].condition.holds({"data": {"age": 30}})
    assert adult.retry == Retry(max_attempts=3, backoff_ms=100, multiplier=2.0)
    assert [adult.retry.delay_ms(attempt) for attempt in (1, 2)] == [100, 200]
    assert (minor.timeout_ms, dict(minor.config), minor.secrets) == (200, {"k": "v"}, ("API_KEY",))
    assert plan.roots() == ["validate"]
    assert plan.order() == ["validate", "adult", "minor"]
    assert [edge.source for edge in plan.inbound("minor")] == ["validate"]


def test_the_plan_id_defaults_to_the_file_name_and_edges_take_every_form(folder: Path) -> None:
    steps = [
        {"id": "a", "handler": "h/tag.js", "next": {"b": True, "c": "on_failure", "d": "always", "e": {}}},
        {"id": "b", "handler": "h/tag.js", "next": {"e": {"condition": "true", "disabled": True}}},
        {"id": "c", "handler": "h/tag.js"},
        {"id": "d", "handler": "h/tag.js"},
        {"id": "e", "handler": "h/tag.js"},
    ]
    plan = load_plan(write(folder, {"steps": steps}, "flows.json"), default_registry())
    assert plan.id == "flows"
    kinds = [(edge.source, edge.target, edge.kind.value) for edge in plan.edges()]
    assert kinds == [
        ("a", "b", "on_success"),
        ("a", "c", "on_failure"),
        ("a", "d", "always"),
        ("a", "e", "on_success"),
    ]  # the disabled edge b -> e is not among them
    assert [edge.source for edge in plan.inbound("e")] == ["a"]


def test_every_problem_is_reported_at_once_one_per_line(folder: Path) -> None:
    plan = {
        "steps": [
            {"id": "a", "handler": "h/validate.py", "next": {"b": True, "zz": "on_success"}},
            {"id": "b", "handler": "h/nope.rb", "next": {"c": {"condition": "__import__('os')"}}},
            {"id": "c", "handler": "h/missing.js", "next": {"a": "always", "d": {"condition": "state.x >"}}},
            {"id": "a", "handler": "h/tag.js", "retry": {"max_attempts": 0}},
            {"id": "d", "handler": "h/tag.js", "color": "red", "next": {"d": True}},
        ]
    }
    found = problems(folder, plan)
    assert found == [
        "step 'b': handler h/nope.rb: no runtime for '.rb' files (supported: .js, .mjs, .py, .wasm)",
        f"step 'b': handler h/nope.rb: no such file ({folder / 'h' / 'nope.rb'})",
        "step 'b', edge to 'c': condition \"__import__('os')\": a call is not allowed (literals, state paths, "
        "comparisons, and/or/not)",
        f"step 'c': handler h/missing.js: no such file ({folder / 'h' / 'missing.js'})",
        "step 'c', edge to 'd': condition 'state.x >': does not parse: invalid syntax",
        "step 'a': retry 'max_attempts' must be a positive integer, not 0",
        "step 'd': unknown field 'color' (known: config, handler, id, name, next, retry, secrets, timeout_ms, type)",
        "step 'a': duplicate step id",
        "step 'a': 'next' names an unknown step 'zz'",
        "step 'd': cycle: d -> d",
        "plan: cycle: a -> b -> c -> a",
    ]


def test_a_cycle_is_named_even_below_other_steps_and_a_disabled_edge_breaks_it(folder: Path) -> None:
    steps: list[dict[str, Any]] = [
        {"id": "start", "handler": "h/tag.js", "next": {"x": True}},
        {"id": "x", "handler": "h/tag.js", "next": {"y": True, "out": True}},
        {"id": "y", "handler": "h/tag.js", "next": {"x": True}},
        {"id": "out", "handler": "h/tag.js"},
    ]
    assert problems(folder, {"steps": steps}) == ["plan: cycle: x -> y -> x"]
    steps[2]["next"] = {"x": {"disabled": True}}
    assert load_plan(write(folder, {"steps": steps}), default_registry()).order() == ["start", "x", "y", "out"]


@pytest.mark.parametrize(
    ("plan", "expected"),
    [
        ([], ["plan: must be an object with 'id' and 'steps'"]),
        ({"id": "x"}, ["steps: must be a non-empty list of steps"]),
        ({"id": "no spaces", "steps": [{"id": "a", "handler": "h/tag.js"}]}, ["id: must be letters"]),
        ({"steps": ["a"]}, ["steps[0]: must be an object with 'id' and 'handler'"]),
        ({"steps": [{"handler": "h/tag.js"}]}, ["steps[0]: 'id' must be letters"]),
        ({"steps": [{"id": "a"}]}, ["step 'a': 'handler' must be the path of a handler file"]),
        ({"steps": [{"id": "a", "handler": "h/tag.js", "next": ["b"]}]}, ["step 'a': 'next' must be an object"]),
        (
            {"steps": [{"id": "a", "handler": "h/tag.js", "next": {"a": "sometimes"}}]},  # a self-edge too
            ["step 'a', edge to 'a': must be true, \"on_success\"", "step 'a': cycle: a -> a"],
        ),
        ({"steps": [{"id": "a", "handler": "h/tag.js", "timeout_ms": -5}]}, ["step 'a': 'timeout_ms' must be"]),
        ({"steps": [{"id": "a", "handler": "h/tag.js", "config": [1]}]}, ["step 'a': 'config' must be an object"]),
        ({"steps": [{"id": "a", "handler": "h/tag.js", "secrets": ["A B"]}]}, ["step 'a': 'secrets' must be"]),
        (
            {"steps": [{"id": "a", "handler": "h/tag.js", "retry": {"multiplier": 0.5, "tries": 2}}]},
            ["step 'a', retry: unknown field 'tries'", "step 'a': retry 'multiplier' must be a number >= 1"],
        ),
        ({"steps": [{"id": "a", "handler": "h/tag.js"}], "max_state_bytes": 0}, ["max_state_bytes: must be"]),
        ({"steps": [{"id": "a", "handler": "h/tag.js"}], "owner": "me"}, ["plan: unknown field 'owner'"]),
    ],
)
def test_malformed_fields_are_named(folder: Path, plan: Any, expected: list[str]) -> None:
    found = problems(folder, plan)
    assert len(found) == len(expected)
    for problem, start in zip(found, expected, strict=True):
        assert problem.startswith(start), problem


def test_a_file_that_is_not_json_or_toml_is_one_problem(folder: Path) -> None:
    assert problems(folder, "{not json", "plan.json")[0].startswith("not valid JSON: ")
    assert problems(folder, "id = ", "plan.toml")[0].startswith("not valid TOML: ")


def test_a_missing_plan_file_is_a_plan_error(folder: Path) -> None:
    with pytest.raises(PlanError, match="cannot read the plan"):
        load_plan(folder / "nope.json", default_registry())


def test_a_wait_step_has_no_handler_and_a_timeout_of_a_day_unless_given(folder: Path) -> None:
    plan = load_plan(
        write(
            folder,
            {
                "steps": [
                    {"id": "approve", "type": "wait", "next": {"adult": True}},
                    {"id": "late", "type": "wait", "timeout_ms": 500, "name": "Late"},
                    {"id": "adult", "handler": "h/tag.js"},
                ]
            },
        ),
        default_registry(),
    )
    approve, late, adult = plan.steps
    assert (approve.type, approve.handler, approve.timeout_ms) == (StepType.WAIT, None, 24 * 3600 * 1000)
    assert [edge.target for edge in approve.next] == ["adult"]
    assert (late.timeout_ms, late.name) == (500, "Late")
    assert adult.type is StepType.HANDLER


def test_a_wait_step_that_names_what_only_a_handler_has_is_refused(folder: Path) -> None:
    found = problems(
        folder,
        {
            "steps": [
                {"id": "approve", "type": "wait", "handler": "h/tag.js", "retry": {}, "timeout_ms": 0},
                {"id": "odd", "type": "sleep", "handler": "h/tag.js"},
            ]
        },
    )
    assert "step 'approve': a wait step has no 'handler' (it has: id, name, next, timeout_ms, type)" in found
    assert "step 'approve': a wait step has no 'retry' (it has: id, name, next, timeout_ms, type)" in found
    assert "step 'approve': 'timeout_ms' must be a positive integer, not 0" in found
    assert any(problem.startswith("step 'odd': 'type' must be \"handler\"") for problem in found)
