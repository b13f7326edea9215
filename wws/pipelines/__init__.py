"""Pipelines: plans of steps, each step a sandboxed worker, run durably."""

from wws.errors import ConditionError
from wws.pipelines.conditions import Condition
from wws.pipelines.executor import StepRunner, execute
from wws.pipelines.plan import Edge, EdgeKind, Plan, Retry, Step, load_plan, parse_plan
from wws.pipelines.scheduler import Scheduler, Severity, StepError, StepStatus

__all__ = [
    "Condition",
    "ConditionError",
    "Edge",
    "EdgeKind",
    "Plan",
    "Retry",
    "Scheduler",
    "Severity",
    "Step",
    "StepError",
    "StepRunner",
    "StepStatus",
    "execute",
    "load_plan",
    "parse_plan",
]
