"""A pipeline's plan: its steps and the edges between them, read from JSON or TOML and validated before any run.

Validation reports every problem at once (`PlanError.problems`, one line each): malformed fields, duplicate step ids,
edges to unknown steps, cycles (named: `a -> b -> a`), handlers no runtime claims or that do not exist, conditions
that do not parse. A plan that loads is a DAG whose every handler has a runtime: the executor trusts it.

    {"id": "age-gate", "steps": [
      {"id": "validate", "handler": "h/validate.py", "next": {"adult": {"condition": "state.data.age > 18"}}},
      {"id": "adult", "handler": "h/tag.js", "retry": {"max_attempts": 3, "backoff_ms": 100, "multiplier": 2}}]}
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from wws.errors import ConditionError, PlanError, RuntimeNotFound
from wws.pipelines.conditions import Condition
from wws.runtimes.registry import RuntimeRegistry

DEFAULT_MAX_STATE_BYTES = 10 * 1024 * 1024
PLAN_SUFFIXES = (".json", ".toml")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLAN_KEYS = {"id", "name", "description", "steps", "max_state_bytes"}
_STEP_KEYS = {"id", "name", "type", "handler", "next", "retry", "timeout_ms", "config", "secrets"}
_WAIT_KEYS = {"id", "name", "type", "next", "timeout_ms"}
DEFAULT_WAIT_MS = 24 * 3600 * 1000
"""How long a wait step waits to be resolved, unless its `timeout_ms` says otherwise: a day."""
_RETRY_KEYS = {"max_attempts", "backoff_ms", "multiplier"}
_EDGE_KEYS = {"condition", "disabled"}


class StepType(StrEnum):
    HANDLER = "handler"
    """Runs its handler file in the sandbox."""
    WAIT = "wait"
    """Waits until someone resolves it (`POST …/steps/{id}/resolve`) with its output, or fails at its timeout."""


class EdgeKind(StrEnum):
    """When an edge fires, given how its source step ended."""

    ON_SUCCESS = "on_success"
    ON_FAILURE = "on_failure"
    ALWAYS = "always"
    CONDITION = "condition"
    """On success, when the condition holds on the source's output state."""


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    kind: EdgeKind
    condition: Condition | None = None
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class Retry:
    """Attempts for a step that fails (`fail` only): `max_attempts` counts every attempt; the n-th wait is
    `backoff_ms * multiplier ** (n - 1)`."""

    max_attempts: int = 1
    backoff_ms: int = 0
    multiplier: float = 1.0

    def delay_ms(self, attempt: int) -> float:
        """The wait before attempt `attempt + 1`, after attempt `attempt` (1-based) failed."""
        return self.backoff_ms * self.multiplier ** (attempt - 1)


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    handler: Path | None
    """Absolute: the plan's `handler` resolved against the plan file's folder (None for a wait step)."""
    name: str | None = None
    next: tuple[Edge, ...] = ()
    retry: Retry = field(default_factory=Retry)
    timeout_ms: int | None = None
    """Overrides the handler's own `timeout_ms` for this step."""
    config: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    secrets: tuple[str, ...] = ()
    type: StepType = StepType.HANDLER


@dataclass(frozen=True, slots=True)
class Plan:
    id: str
    file: Path
    steps: tuple[Step, ...]
    name: str | None = None
    description: str | None = None
    max_state_bytes: int = DEFAULT_MAX_STATE_BYTES

    def step(self, step_id: str) -> Step:
        return next(step for step in self.steps if step.id == step_id)

    def edges(self) -> list[Edge]:
        """Every edge that is not disabled, in plan order."""
        return [edge for step in self.steps for edge in step.next if not edge.disabled]

    def inbound(self, step_id: str) -> list[Edge]:
        return [edge for edge in self.edges() if edge.target == step_id]

    def roots(self) -> list[str]:
        """Steps without inbound edges: they get the run's input."""
        targets = {edge.target for edge in self.edges()}
        return [step.id for step in self.steps if step.id not in targets]

    def order(self) -> list[str]:
        """The steps in topological order (Kahn's algorithm, ties in plan order)."""
        order, _ = _kahn([step.id for step in self.steps], self.edges())
        return order


def load_plan(path: Path, registry: RuntimeRegistry) -> Plan:
    """Read and validate the plan at `path` (`.json` or `.toml`); raises `PlanError` listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanError(path, [f"cannot read the plan: {exc.strerror}"]) from exc
    return parse_plan(path, text, registry)


def parse_plan(path: Path, text: str, registry: RuntimeRegistry) -> Plan:
    """Validate a plan's text; `path` names it in messages and anchors its handlers."""
    try:
        raw = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise PlanError(path, [f"not valid {path.suffix.lstrip('.').upper() or 'JSON'}: {exc}"]) from None
    checker = _Checker(path, registry)
    plan = checker.plan(raw)
    if checker.problems or plan is None:
        raise PlanError(path, checker.problems)
    return plan


class _Checker:
    """Builds a Plan from raw JSON values, collecting every problem instead of stopping at the first."""

    def __init__(self, path: Path, registry: RuntimeRegistry):
        self.path = path
        self.registry = registry
        self.problems: list[str] = []

    def problem(self, where: str, reason: str) -> None:
        self.problems.append(f"{where}: {reason}")

    def plan(self, raw: Any) -> Plan | None:
        if not isinstance(raw, dict):
            self.problem("plan", "must be an object with 'id' and 'steps'")
            return None
        self._unknown(raw, _PLAN_KEYS, "plan")
        plan_id = raw.get("id", self.path.stem)
        if not isinstance(plan_id, str) or not _ID.match(plan_id):
            self.problem("id", f"must be letters, digits, '-' and '_' (at most 128), not {plan_id!r}")
        raw_steps = raw.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            self.problem("steps", "must be a non-empty list of steps")
            raw_steps = []
        steps = [self.step(index, item) for index, item in enumerate(raw_steps)]
        built = [step for step in steps if step is not None]
        self._graph(_skeleton(raw_steps))
        max_state = raw.get("max_state_bytes", DEFAULT_MAX_STATE_BYTES)
        if not _positive_int(max_state):
            self.problem("max_state_bytes", f"must be a positive integer, not {max_state!r}")
        name, description = raw.get("name"), raw.get("description")
        for key, value in (("name", name), ("description", description)):
            if value is not None and not isinstance(value, str):
                self.problem(key, "must be a string")
        if self.problems:
            return None
        return Plan(str(plan_id), self.path, tuple(built), name, description, int(max_state))

    def step(self, index: int, raw: Any) -> Step | None:
        where = f"steps[{index}]"
        if not isinstance(raw, dict):
            self.problem(where, "must be an object with 'id' and 'handler'")
            return None
        step_id = raw.get("id")
        if isinstance(step_id, str) and _ID.match(step_id):
            where = f"step '{step_id}'"
        else:
            self.problem(where, f"'id' must be letters, digits, '-' and '_' (at most 128), not {step_id!r}")
            step_id = None
        if raw.get("type", "handler") == StepType.WAIT.value:
            return self._wait_step(raw, step_id, where)
        if raw.get("type", "handler") != StepType.HANDLER.value:
            self.problem(where, f'\'type\' must be "handler" (the default) or "wait", not {raw["type"]!r}')
        self._unknown(raw, _STEP_KEYS, where)
        handler = self._handler(raw.get("handler"), where)
        edges = self._edges(raw.get("next", {}), str(step_id), where)
        retry = self._retry(raw.get("retry", {}), where)
        timeout = raw.get("timeout_ms")
        if timeout is not None and not _positive_int(timeout):
            self.problem(where, f"'timeout_ms' must be a positive integer, not {timeout!r}")
        config = raw.get("config", {})
        if not isinstance(config, dict):
            self.problem(where, "'config' must be an object")
        secrets = raw.get("secrets", [])
        if not isinstance(secrets, list) or not all(
            isinstance(name, str) and _ENV_NAME.match(name) for name in secrets
        ):
            self.problem(where, "'secrets' must be a list of environment variable names")
        name = raw.get("name")
        if name is not None and not isinstance(name, str):
            self.problem(where, "'name' must be a string")
        if step_id is None or handler is None or edges is None or retry is None:
            return None
        return Step(
            step_id,
            handler,
            name,
            tuple(edges),
            retry,
            timeout,
            MappingProxyType(dict(config)) if isinstance(config, dict) else MappingProxyType({}),
            tuple(secrets) if isinstance(secrets, list) else (),
        )

    def _wait_step(self, raw: dict[str, Any], step_id: str | None, where: str) -> Step | None:
        """A step that waits to be resolved: an id, edges, a timeout and a name, nothing to run."""
        for key in raw:
            if key not in _WAIT_KEYS:
                self.problem(where, f"a wait step has no '{key}' (it has: {', '.join(sorted(_WAIT_KEYS))})")
        edges = self._edges(raw.get("next", {}), str(step_id), where)
        timeout = raw.get("timeout_ms", DEFAULT_WAIT_MS)
        if not _positive_int(timeout):
            self.problem(where, f"'timeout_ms' must be a positive integer, not {timeout!r}")
        name = raw.get("name")
        if name is not None and not isinstance(name, str):
            self.problem(where, "'name' must be a string")
        if step_id is None or edges is None:
            return None
        return Step(step_id, None, name, tuple(edges), timeout_ms=timeout, type=StepType.WAIT)

    def _handler(self, raw: Any, where: str) -> Path | None:
        if not isinstance(raw, str) or not raw:
            self.problem(where, "'handler' must be the path of a handler file, relative to the plan's folder")
            return None
        handler = (self.path.parent / raw).resolve()
        found = True
        try:
            self.registry.get(handler.suffix)
        except RuntimeNotFound as exc:
            self.problem(where, f"handler {raw}: {exc.format_message()}")
            found = False
        if not handler.is_file():
            self.problem(where, f"handler {raw}: no such file ({handler})")
            found = False
        return handler if found else None

    def _edges(self, raw: Any, source: str, where: str) -> list[Edge] | None:
        if not isinstance(raw, dict):
            self.problem(where, "'next' must be an object: target step id -> edge")
            return None
        edges = []
        for target, value in raw.items():
            edge = self._edge(source, str(target), value, f"{where}, edge to '{target}'")
            if edge is not None:
                edges.append(edge)
        return edges if len(edges) == len(raw) else None

    def _edge(self, source: str, target: str, raw: Any, where: str) -> Edge | None:
        if raw is True:
            return Edge(source, target, EdgeKind.ON_SUCCESS)
        if isinstance(raw, str) and raw in {kind.value for kind in EdgeKind} - {EdgeKind.CONDITION.value}:
            return Edge(source, target, EdgeKind(raw))
        if isinstance(raw, dict):
            return self._edge_object(source, target, raw, where)
        self.problem(
            where,
            f'must be true, "on_success", "on_failure", "always" or {{"condition": …}}, not {raw!r}',
        )
        return None

    def _edge_object(self, source: str, target: str, raw: dict[str, Any], where: str) -> Edge | None:
        """`{"condition": "…", "disabled": false}`; without a condition, an `on_success` edge."""
        self._unknown(raw, _EDGE_KEYS, where)
        disabled = raw.get("disabled", False)
        if not isinstance(disabled, bool):
            self.problem(where, "'disabled' must be true or false")
            return None
        if "condition" not in raw:
            return Edge(source, target, EdgeKind.ON_SUCCESS, disabled=disabled)
        try:
            condition = Condition(raw["condition"])
        except ConditionError as exc:
            self.problem(where, f"condition {raw['condition']!r}: {exc}")
            return None
        return Edge(source, target, EdgeKind.CONDITION, condition, disabled)

    def _retry(self, raw: Any, where: str) -> Retry | None:
        if not isinstance(raw, dict):
            self.problem(where, "'retry' must be an object")
            return None
        self._unknown(raw, _RETRY_KEYS, f"{where}, retry")
        attempts, backoff, multiplier = raw.get("max_attempts", 1), raw.get("backoff_ms", 0), raw.get("multiplier", 1)
        valid = True
        if not _positive_int(attempts):
            self.problem(where, f"retry 'max_attempts' must be a positive integer, not {attempts!r}")
            valid = False
        if not (_positive_int(backoff) or backoff == 0) or isinstance(backoff, bool):
            self.problem(where, f"retry 'backoff_ms' must be an integer >= 0, not {backoff!r}")
            valid = False
        if isinstance(multiplier, bool) or not isinstance(multiplier, int | float) or multiplier < 1:
            self.problem(where, f"retry 'multiplier' must be a number >= 1, not {multiplier!r}")
            valid = False
        return Retry(attempts, backoff, float(multiplier)) if valid else None

    def _graph(self, skeleton: list[tuple[str, list[str]]]) -> None:
        """Duplicate ids, edges to unknown steps, cycles: checked on every step with an id, valid or not, so that
        a mistake in one field of a step does not hide the graph's problems."""
        seen: set[str] = set()
        for step_id, _ in skeleton:
            if step_id in seen:
                self.problem(f"step '{step_id}'", "duplicate step id")
            seen.add(step_id)
        edges: list[Edge] = []
        for source, targets in skeleton:
            for target in targets:
                if target not in seen:
                    self.problem(f"step '{source}'", f"'next' names an unknown step '{target}'")
                elif target == source:
                    self.problem(f"step '{source}'", f"cycle: {source} -> {source}")
                else:
                    edges.append(Edge(source, target, EdgeKind.ON_SUCCESS))
        _, left = _kahn(list(dict.fromkeys(step_id for step_id, _ in skeleton)), edges)
        if left:
            self.problem("plan", f"cycle: {' -> '.join(_a_cycle(left, edges))}")

    def _unknown(self, raw: Mapping[str, Any], known: set[str], where: str) -> None:
        for key in raw:
            if key not in known:
                self.problem(where, f"unknown field '{key}' (known: {', '.join(sorted(known))})")


def _skeleton(raw_steps: list[Any]) -> list[tuple[str, list[str]]]:
    """(id, targets of the edges not disabled) of every step that has a string id: the graph, whatever else is
    wrong with the steps."""
    skeleton = []
    for raw in raw_steps:
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            edges = raw.get("next")
            targets = [
                str(target)
                for target, edge in (edges.items() if isinstance(edges, dict) else ())
                if not (isinstance(edge, dict) and edge.get("disabled") is True)
            ]
            skeleton.append((raw["id"], targets))
    return skeleton


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _kahn(ids: list[str], edges: list[Edge]) -> tuple[list[str], set[str]]:
    """Kahn's topological order of `ids` (ties in their given order), and the ids left over: those on or below a
    cycle."""
    indegree = dict.fromkeys(ids, 0)
    for edge in edges:
        indegree[edge.target] += 1
    ready = [step_id for step_id in ids if indegree[step_id] == 0]
    order = []
    while ready:
        current = ready.pop(0)
        order.append(current)
        for edge in edges:
            if edge.source == current:
                indegree[edge.target] -= 1
                if indegree[edge.target] == 0:
                    ready.append(edge.target)
    return order, set(ids) - set(order)


def _a_cycle(left: set[str], edges: list[Edge]) -> list[str]:
    """One cycle among the steps Kahn's algorithm could not order, as a path back to its start: [a, b, a]."""
    successors: dict[str, list[str]] = {}
    for edge in edges:
        if edge.source in left and edge.target in left:
            successors.setdefault(edge.source, []).append(edge.target)
    on_cycles = set(left)
    while True:  # drop the steps below a cycle (no way back): what remains lies on cycles
        below = {step for step in on_cycles if not any(target in on_cycles for target in successors.get(step, []))}
        if not below:
            break
        on_cycles -= below
    path = [min(on_cycles)]
    while True:
        following = next(target for target in successors[path[-1]] if target in on_cycles)
        if following in path:
            return [*path[path.index(following) :], following]
        path.append(following)
