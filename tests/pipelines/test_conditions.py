"""Edge conditions: a small safe language over the state, checked when the plan loads."""

from __future__ import annotations

from typing import Any

import pytest

from wws.errors import ConditionError
from wws.pipelines.conditions import Condition

STATE: dict[str, Any] = {
    "data": {"age": 20, "name": "Ada", "tags": ["a", "b"], "flag": True, "none": None, "ratio": 0.5},
    "errors": {},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("state.data.age > 18", True),
        ("state.data.age <= 18", False),
        ("state['data']['tags'][0] == 'a'", True),
        ("'b' in state.data.tags", True),
        ("'z' not in state.data.tags", True),
        ("'age' in state.data", True),
        ("state.data.flag and state.data.age >= 20", True),
        ("state.data.flag and not state.data.flag", False),
        ("state.data.none == null", True),
        ("state.data.flag == true", True),
        ("state.data.flag == True", True),
        ("0 < state.data.ratio < 1", True),
        ("state.data.age in [18, 19, 20]", True),
        ("state.data.age > -1", True),
        ("state.errors", False),  # an empty object is false
        ("state.data.name == 'Ada' or state.data.missing", True),  # or stops at the first true
    ],
)
def test_conditions_evaluate_on_the_state(text: str, expected: bool) -> None:
    assert Condition(text).holds(STATE) is expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("__import__('os').system('id')", "a call is not allowed"),
        ("state.__class__", "'__class__' is not allowed"),
        ("state._private", "'_private' is not allowed"),
        ("open('/etc/passwd')", "a call is not allowed"),
        ("os.environ", "a path must start with 'state'"),
        ("x > 1", "unknown name 'x'"),
        ("state.data.age + 1 > 2", "arithmetic is not allowed"),
        ("[x for x in state.data.tags]", "'ListComp' is not allowed"),
        ("lambda: 1", "a lambda is not allowed"),
        ("state.data.age if true else 0", "an if-expression is not allowed"),
        ("state.data[state.data.name]", "a path index must be a literal"),
        ("state.data.tags[-1] == 'b'", "a path index must be a literal"),
        ("[1, 2][0] == 1", "cannot be followed by a key"),
        ("state.data.age >", "does not parse"),
        ("", "non-empty string"),
        ("state.data.age == 1" + " or state.data.age == 1" * 60, "at most 1000 characters"),
        ("b'bytes' == state", "literal b'bytes' is not allowed"),
        ("~state.data.age", "operator 'Invert' is not allowed"),
        ("state.data.age is 1", "comparison 'Is' is not allowed"),
    ],
)
def test_anything_outside_the_language_is_refused_when_the_plan_loads(text: str, reason: str) -> None:
    with pytest.raises(ConditionError, match=reason):
        Condition(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("state.data.missing > 1", r"state.data.missing does not exist"),
        ("state.data.tags[5] == 'a'", r"state.data.tags\[5\] does not exist"),
        ("state.data.name > 1", r"cannot compare 'Ada' > 1"),
        ("1 in state.data.name", r"cannot compare 1 in 'Ada'"),
        ("-state.data.name == 1", "cannot negate 'Ada'"),
    ],
)
def test_a_condition_that_cannot_be_decided_raises_instead_of_being_false(text: str, reason: str) -> None:
    condition = Condition(text)
    with pytest.raises(ConditionError, match=reason):
        condition.holds(STATE)
