"""Pipeline steps run as sandboxed workers: the `StepRunner` of real plans.

Each handler file is a `Worker` (its config beside it, its project's KV store and outbound HTTP), loaded once per
process and shared by every run; every attempt of a step runs on a fresh instance. What goes wrong becomes an
OpenFn error class: the guest threw, trapped, exited non-zero or answered something that is not a state → `fail`;
the handler cannot load → `crash`; the deadline (the step's `timeout_ms`, else the handler's) or the memory cap →
`kill`.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from wws.config.loader import load_worker_config
from wws.errors import GuestTimeout, LoadError, MemoryLimitExceeded, WorkerError, WwsError
from wws.kv.base import KVStore
from wws.messages import StepCall
from wws.outbound import Fetcher
from wws.pipelines.executor import StepRunner
from wws.pipelines.plan import Plan, Step
from wws.pipelines.scheduler import Severity, State, StepError
from wws.pipelines.state import StepFailure, output_state, step_input
from wws.sandbox.engine import Sandbox
from wws.worker.worker import Worker


class WorkerSteps:
    """The workers of a project's pipeline steps, made on first use. Thread-safe; `close()` at the end."""

    def __init__(
        self,
        project: Path,
        *,
        kv: KVStore | None = None,
        sandbox: Sandbox | None = None,
        fetcher: Fetcher | None = None,
    ):
        self.project = project.resolve()
        self._kv = kv
        self._sandbox = sandbox
        self._fetcher = fetcher
        self._workers: dict[Path, Worker] = {}
        self._lock = threading.Lock()

    def worker(self, handler: Path) -> Worker:
        """The worker of a handler file (its config read once, like a served worker's)."""
        with self._lock:
            worker = self._workers.get(handler)
            if worker is None:
                config = load_worker_config(handler, project_root=self.project)
                worker = Worker(
                    handler, config, root=self.project, sandbox=self._sandbox, kv=self._kv, fetcher=self._fetcher
                )
                self._workers[handler] = worker
            return worker

    def runner(self, plan: Plan, run_id: str) -> StepRunner:
        """The `StepRunner` of one run of `plan`. Refuses a plan whose steps name `secrets`: they are not delivered
        (nor redacted) yet, and a step that silently went without its secret would be worse than no run."""
        wanting = [step.id for step in plan.steps if step.secrets]
        if wanting:
            raise WwsError(
                f"{plan.file}: steps {', '.join(wanting)} name secrets, which this version cannot deliver to steps "
                "yet: remove them, or pass the values as the step's config"
            )

        def run(step: Step, state: State, attempt: int) -> State:
            return self.run_step(plan, step, state, request_id=f"{run_id}/{step.id}/{attempt}")

        return run

    def run_step(self, plan: Plan, step: Step, state: State, *, request_id: str) -> State:
        """One attempt of `step` on `state`: its new state, or `StepFailure` saying how it failed."""
        deadline = time.monotonic() + step.timeout_ms / 1000 if step.timeout_ms else 0.0
        call = StepCall(step_input(state, step.config), request_id=request_id, deadline=deadline)
        try:
            answer = self.worker(step.handler).run_step(call)
        except LoadError as exc:
            raise StepFailure(StepError(Severity.CRASH, "LoadError", self._relative(exc.format_message()))) from exc
        except (GuestTimeout, MemoryLimitExceeded) as exc:
            raise StepFailure(StepError(Severity.KILL, type(exc).__name__, self._relative(_message(exc)))) from exc
        except WorkerError as exc:
            raise StepFailure(StepError(Severity.FAIL, type(exc).__name__, self._relative(_message(exc)))) from exc
        return output_state(answer.state, state, plan.max_state_bytes)

    def _relative(self, message: str) -> str:
        """`message` with the project's paths made relative to it: a run record shows no host paths."""
        return message.replace(f"{self.project}/", "")

    def close(self) -> None:
        with self._lock:
            workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            worker.close()


def _message(exc: WorkerError) -> str:
    """The cause, with the tail of the guest's stderr (its stack or its last words)."""
    message = f"{exc.worker.name}: {exc.cause}"
    return f"{message}\n{exc.stderr_tail}" if exc.stderr_tail else message
