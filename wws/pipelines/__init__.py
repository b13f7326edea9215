"""Pipelines: plans of steps, each step a sandboxed worker, run durably."""

from wws.pipelines.conditions import Condition, ConditionError
from wws.pipelines.plan import Edge, EdgeKind, Plan, Retry, Step, load_plan, parse_plan

__all__ = ["Condition", "ConditionError", "Edge", "EdgeKind", "Plan", "Retry", "Step", "load_plan", "parse_plan"]
