"""Runs a plan: the scheduler decides, a `StepRunner` runs each step attempt, and the steps whose upstreams have
settled run at the same time, each on its own thread (each in its own sandbox instance, for real handlers).

Retries apply to `fail` only: up to the step's `max_attempts`, waiting `backoff_ms * multiplier^(n-1)` between
attempts, and never once the run has aborted. A crash or a kill aborts the run: no new step starts, and the steps
still running finish (their results are recorded).

A failure of the host (anything but a `StepFailure`: a folder that cannot be opened, a KV store or a database that
does not answer, a bug of wws) is never the step's: the same attempt runs again, after 0.1 s, then twice as long
each time up to 30 s, for as long as it takes, unless the run stops (cancelled or aborted) or the process does
(`ProcessStopping`: the step is left unfinished, for the next process to run). Each failure is reported (`HostFailed`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from wws.errors import ProcessStopping, StepFailure
from wws.pipelines.plan import Plan, Step
from wws.pipelines.scheduler import Scheduler, Severity, State, StepError
from wws.pipelines.state import check_size

StepRunner = Callable[[Step, State, int], State]
"""Runs one attempt (1-based) of a step on its input state and returns its output state, or raises `StepFailure`."""
HostFailed = Callable[[Step, int, Exception, float], None]
"""Told each time the host fails to run an attempt of a step: the step, how many times in a row, the failure, and
the seconds until the attempt runs again."""

MAX_PARALLEL_STEPS = 8
HOST_RETRY_FIRST_SECONDS = 0.1
HOST_RETRY_MAX_SECONDS = 30.0

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a step ended after all its attempts: its output state, or its last error."""

    attempts: int
    output: State | None = None
    error: StepError | None = None


def host_retry_delay(failures: int) -> float:
    """Seconds before running an attempt again after the host failed it `failures` times in a row."""
    return min(HOST_RETRY_MAX_SECONDS, HOST_RETRY_FIRST_SECONDS * 2.0 ** min(failures - 1, 20))


def attempts(
    plan: Plan,
    step: Step,
    state: State,
    runner: StepRunner,
    *,
    sleep: Callable[[float], Any] | None = None,
    aborted: threading.Event | None = None,
    stopping: threading.Event | None = None,
    previous: int = 0,
    host_failed: HostFailed | None = None,
) -> Outcome:
    """Every attempt of one step: retried on `fail` up to `max_attempts`, with backoff, unless the run `aborted`;
    run again when the host failed it (see the module's docstring). Attempts are numbered after `previous` (the
    step's last attempt, when a run runs it again). Raises `ProcessStopping` only, when `stopping` is set while the step
    waits for the host."""
    attempt = previous
    host_failures = 0
    while True:
        try:
            output = runner(step, state, attempt + 1)
            check_size(output, plan.max_state_bytes)
            return Outcome(attempt + 1, output=output)
        except StepFailure as failure:
            attempt += 1
            error = StepError(Severity(failure.severity), failure.kind, failure.message)
        except Exception as exc:  # the host failed, not the step: the same attempt again, once the host may work
            host_failures += 1
            delay = host_retry_delay(host_failures)
            (host_failed or _log_host_failure)(step, host_failures, exc, delay)
            if _pause(delay, sleep, aborted, stopping):
                continue
            if stopping is not None and stopping.is_set():
                raise ProcessStopping(step.id) from exc
            message = f"the run stopped while the host could not run this step: {exc}"
            return Outcome(attempt + 1, error=StepError(Severity.KILL, "Cancelled", message))
        last = attempt - previous >= step.retry.max_attempts or error.severity is not Severity.FAIL
        if last or not _pause(step.retry.delay_ms(attempt - previous) / 1000, sleep, aborted, None):
            return Outcome(attempt, error=error)


def _pause(
    seconds: float,
    sleep: Callable[[float], Any] | None,
    aborted: threading.Event | None,
    stopping: threading.Event | None,
) -> bool:
    """Wait `seconds` (with `sleep` if given), cut short when the run aborts or the process stops: False then."""
    if sleep is not None:
        sleep(seconds)
    else:
        until = time.monotonic() + seconds
        events = [event for event in (aborted, stopping) if event is not None]
        while (left := until - time.monotonic()) > 0 and not any(event.is_set() for event in events):
            if events:
                events[0].wait(min(left, 0.1))
            else:
                time.sleep(left)
    return not any(event is not None and event.is_set() for event in (aborted, stopping))


def _log_host_failure(step: Step, failures: int, exc: Exception, delay: float) -> None:
    log.warning("step %s: the host failed to run it (%s: %s); again in %.1f s", step.id, type(exc).__name__, exc, delay)


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
