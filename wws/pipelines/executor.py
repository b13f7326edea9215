"""Runs a plan: the scheduler decides, a `StepRunner` runs each step attempt, and the steps whose upstreams have
settled run at the same time, each on its own thread (each in its own sandbox instance, for real handlers).

Retries apply to `fail` only: up to the step's `max_attempts`, waiting `backoff_ms * multiplier^(n-1)` between
attempts, and never once the run has aborted. A crash or a kill aborts the run: no new step starts, and the steps
still running finish (their results are recorded).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from wws.errors import StepFailure
from wws.pipelines.plan import Plan, Step
from wws.pipelines.scheduler import Scheduler, Severity, State, StepError
from wws.pipelines.state import check_size

StepRunner = Callable[[Step, State, int], State]
"""Runs one attempt (1-based) of a step on its input state and returns its output state, or raises `StepFailure`."""

MAX_PARALLEL_STEPS = 8


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a step ended after all its attempts: its output state, or its last error."""

    attempts: int
    output: State | None = None
    error: StepError | None = None


def attempts(
    plan: Plan,
    step: Step,
    state: State,
    runner: StepRunner,
    *,
    sleep: Callable[[float], Any] = time.sleep,
    aborted: threading.Event | None = None,
    previous: int = 0,
) -> Outcome:
    """Every attempt of one step: retried on `fail` up to `max_attempts`, with backoff, unless the run `aborted`.
    Attempts are numbered after `previous` (the step's last attempt, when a run runs it again). Never raises: a host
    failure is a crash of the step."""
    attempt = previous
    while True:
        attempt += 1
        try:
            output = runner(step, state, attempt)
            check_size(output, plan.max_state_bytes)
            return Outcome(attempt, output=output)
        except StepFailure as failure:
            error = StepError(Severity(failure.severity), failure.kind, failure.message)
        except Exception as exc:  # the host failed, not the step: stop the run, say what happened
            error = StepError(Severity.CRASH, type(exc).__name__, f"the host failed to run the step: {exc}")
        last = attempt - previous >= step.retry.max_attempts or error.severity is not Severity.FAIL
        if last or (aborted is not None and aborted.is_set()):
            return Outcome(attempt, error=error)
        sleep(step.retry.delay_ms(attempt - previous) / 1000)


class Execution:
    """One run of a plan, in this process. `run()` returns the run record."""

    def __init__(self, plan: Plan, run_input: Any, runner: StepRunner, *, run_id: str, sleep: Callable[[float], Any]):
        self.plan = plan
        self.run_id = run_id
        self.scheduler = Scheduler(plan, run_input)
        self._runner = runner
        self._aborted = threading.Event()
        self._sleep = sleep

    def run(self, max_parallel: int = MAX_PARALLEL_STEPS) -> dict[str, Any]:
        scheduler = self.scheduler
        with ThreadPoolExecutor(max_parallel, thread_name_prefix=f"wws-run-{self.plan.id}") as pool:
            running: dict[Future[Outcome], str] = {}
            while True:
                for step_id, state in scheduler.start():
                    running[pool.submit(self._attempts, self.plan.step(step_id), state)] = step_id
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    step_id = running.pop(future)
                    outcome = future.result()
                    if outcome.error is not None:
                        scheduler.fail(step_id, outcome.error, outcome.attempts)
                    else:
                        assert outcome.output is not None
                        scheduler.complete(step_id, outcome.output, outcome.attempts)
                    if scheduler.aborted:
                        self._aborted.set()
        return scheduler.finish(self.run_id)

    def _attempts(self, step: Step, state: State) -> Outcome:
        return attempts(self.plan, step, state, self._runner, sleep=self._sleep, aborted=self._aborted)


def execute(
    plan: Plan,
    run_input: Any,
    runner: StepRunner,
    *,
    run_id: str,
    sleep: Callable[[float], Any] | None = None,
    max_parallel: int = MAX_PARALLEL_STEPS,
) -> dict[str, Any]:
    """Run `plan` on `run_input` with `runner` and return the run record (see `Scheduler.record`)."""
    return Execution(plan, run_input, runner, run_id=run_id, sleep=sleep or time.sleep).run(max_parallel)
