"""Edge conditions: small expressions over a step's output state, checked when the plan loads, evaluated safely.

The language is a subset of Python's expression syntax, parsed by `ast` and walked by hand (never `eval`):
literals (numbers, strings, `true`/`false`/`null` or `True`/`False`/`None`, lists), paths into the state
(`state.data.age`, `state["data"]["tags"][0]`), comparisons (`==`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `not in`,
chained as in Python), `and`, `or`, `not` and unary minus. Nothing else: no calls, no names but `state`, no
attribute that is not a plain key (so no dunders), no arithmetic, no comprehensions.

Evaluation raises `ConditionError` when a path is missing or two values cannot be compared (`"a" < 1`): a condition
that cannot be decided aborts the run, it is not quietly false.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any

from wws.errors import ConditionError

__all__ = ["Condition", "ConditionError"]

MAX_LENGTH = 1000
"""Longer conditions are refused: an edge's test is a line, not a program."""

_LITERAL_NAMES: dict[str, Any] = {
    "true": True,
    "false": False,
    "null": None,
    "True": True,
    "False": False,
    "None": None,
}
_COMPARISONS: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda item, container: item in container,
    ast.NotIn: lambda item, container: item not in container,
}
_SYMBOLS = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}


class Condition:
    """A checked condition. `Condition("state.data.age > 18").holds({"data": {"age": 20}})` is True."""

    def __init__(self, text: str):
        if not isinstance(text, str) or not text.strip():
            raise ConditionError("a condition must be a non-empty string")
        if len(text) > MAX_LENGTH:
            raise ConditionError(f"a condition may have at most {MAX_LENGTH} characters")
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            where = f" at column {exc.offset}" if exc.offset else ""
            raise ConditionError(f"does not parse{where}: {exc.msg}") from None
        _check(tree.body)
        self.text = text
        self._body = tree.body

    def holds(self, state: Any) -> bool:
        """Whether the condition is true of `state` (JSON values); raises `ConditionError` when it cannot say."""
        return bool(_evaluate(self._body, state))

    def __repr__(self) -> str:
        return f"Condition({self.text!r})"


def _check(node: ast.expr) -> None:
    """Refuse anything outside the language, naming it."""
    check = _CHECKS.get(type(node))
    if check is None:
        raise ConditionError(f"{_describe(node)} is not allowed (literals, state paths, comparisons, and/or/not)")
    check(node)


def _check_bool(node: ast.BoolOp) -> None:
    for value in node.values:
        _check(value)


def _check_unary(node: ast.UnaryOp) -> None:
    if not isinstance(node.op, ast.Not | ast.USub):
        raise ConditionError(f"operator '{type(node.op).__name__}' is not allowed")
    _check(node.operand)


def _check_compare(node: ast.Compare) -> None:
    for operator_node in node.ops:
        if type(operator_node) not in _COMPARISONS:
            raise ConditionError(f"comparison '{type(operator_node).__name__}' is not allowed")
    for operand in (node.left, *node.comparators):
        _check(operand)


def _check_constant(node: ast.Constant) -> None:
    if not isinstance(node.value, int | float | str | bool) and node.value is not None:
        raise ConditionError(f"literal {node.value!r} is not allowed")


def _check_sequence(node: ast.List | ast.Tuple) -> None:
    for item in node.elts:
        _check(item)


def _check_name(node: ast.Name) -> None:
    if node.id != "state" and node.id not in _LITERAL_NAMES:
        raise ConditionError(f"unknown name '{node.id}' (only 'state' and the literals true, false, null)")


def _check_attribute(node: ast.Attribute) -> None:
    if node.attr.startswith("_"):
        raise ConditionError(f"'{node.attr}' is not allowed in a path")
    _check_path(node.value)


def _check_subscript(node: ast.Subscript) -> None:
    key = node.slice
    if not (isinstance(key, ast.Constant) and isinstance(key.value, int | str) and not isinstance(key.value, bool)):
        raise ConditionError("a path index must be a literal string or integer (state['a'][0])")
    _check_path(node.value)


_CHECKS: dict[type[ast.AST], Callable[[Any], None]] = {
    ast.BoolOp: _check_bool,
    ast.UnaryOp: _check_unary,
    ast.Compare: _check_compare,
    ast.Constant: _check_constant,
    ast.List: _check_sequence,
    ast.Tuple: _check_sequence,
    ast.Name: _check_name,
    ast.Attribute: _check_attribute,
    ast.Subscript: _check_subscript,
}


def _check_path(node: ast.expr) -> None:
    """A path is `state` followed by keys and indexes."""
    if isinstance(node, ast.Name):
        if node.id != "state":
            raise ConditionError(f"a path must start with 'state', not '{node.id}'")
        return
    if not isinstance(node, ast.Attribute | ast.Subscript):
        raise ConditionError(f"{_describe(node)} cannot be followed by a key: only paths from 'state' can")
    _check(node)


def _describe(node: ast.AST) -> str:
    names = {ast.Call: "a call", ast.BinOp: "arithmetic", ast.Lambda: "a lambda", ast.IfExp: "an if-expression"}
    return names.get(type(node), f"'{type(node).__name__}'")


def _evaluate(node: ast.expr, state: Any) -> Any:  # noqa: PLR0911 - one return per kind of node
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            return all(_evaluate(value, state) for value in node.values)
        return any(_evaluate(value, state) for value in node.values)
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, state)
        if isinstance(node.op, ast.Not):
            return not operand
        if isinstance(operand, bool) or not isinstance(operand, int | float):
            raise ConditionError(f"cannot negate {_show(operand)}")
        return -operand
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, state)
        for operator_node, comparator in zip(node.ops, node.comparators, strict=True):
            right = _evaluate(comparator, state)
            if not _compare(type(operator_node), left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        return [_evaluate(item, state) for item in node.elts]
    if isinstance(node, ast.Name):
        return state if node.id == "state" else _LITERAL_NAMES[node.id]
    if isinstance(node, ast.Attribute | ast.Subscript):
        return _lookup(node, state)
    raise ConditionError(f"{_describe(node)} is not allowed")  # `_check` lets no other node through


def _compare(kind: type[ast.cmpop], left: Any, right: Any) -> bool:
    try:
        return bool(_COMPARISONS[kind](left, right))
    except TypeError:
        raise ConditionError(f"cannot compare {_show(left)} {_SYMBOLS[kind]} {_show(right)}") from None


def _lookup(node: ast.Attribute | ast.Subscript, state: Any) -> Any:
    """The value at a path (`state.a["b"][0]`); a missing key or index is an error naming the path."""
    key: Any = node.attr if isinstance(node, ast.Attribute) else _subscript_key(node)
    container = _evaluate(node.value, state)
    if isinstance(container, dict) and isinstance(key, str) and key in container:
        return container[key]
    if isinstance(container, list) and isinstance(key, int) and -len(container) <= key < len(container):
        return container[key]
    raise ConditionError(f"{ast.unparse(node)} does not exist (in {_show(container)})")


def _subscript_key(node: ast.expr) -> Any:
    if not (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)):
        raise ConditionError(f"{ast.unparse(node)} is not a path")  # `_check` lets no other node through
    return node.slice.value


def _show(value: Any) -> str:
    text = "null" if value is None else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
