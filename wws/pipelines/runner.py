"""Pipeline steps run as sandboxed workers: the `StepRunner` of real plans.

Each handler file is a `Worker` (its config beside it, its project's KV store and outbound HTTP), loaded once per
process and shared by every run; every attempt of a step runs on a fresh instance. What goes wrong becomes an
OpenFn error class: the guest threw, trapped, exited non-zero or answered something that is not a state → `fail`;
the handler cannot load → `crash`; the deadline (the step's `timeout_ms`, else the handler's) or the memory cap →
`kill`. What is the host's fault (its KV store or a folder unavailable, anything else that is not the guest's
doing) is a `HostFailure`: the executor runs the attempt again (see `executor.py`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from pathlib import Path

from wws.config.loader import load_worker_config
from wws.errors import (
    GuestTimeout,
    HostFailure,
    HostUnavailable,
    LoadError,
    MemoryLimitExceeded,
    StepFailure,
    WorkerError,
)
from wws.kv.base import KVStore
from wws.messages import StepCall
from wws.outbound import Fetcher
from wws.pipelines.executor import StepRunner
from wws.pipelines.plan import Plan, Step
from wws.pipelines.scheduler import Severity, State
from wws.pipelines.secrets import GuestLogRedaction, Redactor
from wws.pipelines.secrets import resolve as resolve_secrets
from wws.pipelines.state import output_state, step_input
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
        self._redactor = Redactor()
        self._log_redaction = GuestLogRedaction(self._redactor)

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

    def workers(self) -> list[Worker]:
        """The step workers made so far."""
        with self._lock:
            return list(self._workers.values())

    def runner(self, plan: Plan, run_id: str, interrupt: threading.Event | None = None) -> StepRunner:
        """The `StepRunner` of one run of `plan`. Its steps' secrets are resolved now (a missing one fails the run
        before any step runs) and redacted from everything the steps give back, log or fail with. `interrupt` (set
        when the run is cancelled) ends a guest's waits in the host at once."""
        secrets = resolve_secrets(plan, self.project)
        self._redactor.add(value for values in secrets.values() for value in values.values())
        if secrets:
            self._log_redaction.install()

        def run(step: Step, state: State, attempt: int) -> State:
            request_id = f"{run_id}/{step.id}/{attempt}"
            step_secrets = secrets.get(step.id, {})
            return self.run_step(plan, step, state, request_id=request_id, secrets=step_secrets, interrupt=interrupt)

        return run

    def run_step(
        self,
        plan: Plan,
        step: Step,
        state: State,
        *,
        request_id: str,
        secrets: Mapping[str, str] | None = None,
        interrupt: threading.Event | None = None,
    ) -> State:
        """One attempt of `step` on `state`: its new state (secrets redacted), or `StepFailure` saying how it
        failed (its message redacted too)."""
        if step.handler is None:
            message = "a wait step is resolved over HTTP, in a durable run (wws serve)"
            raise StepFailure(Severity.CRASH, "WaitStep", message)
        deadline = time.monotonic() + step.timeout_ms / 1000 if step.timeout_ms else 0.0
        call = StepCall(step_input(state, step.config), request_id, deadline, dict(secrets or {}), interrupt)
        try:
            answer = self.worker(step.handler).run_step(call)
        except HostUnavailable as exc:
            raise HostFailure(self._relative(exc.format_message())) from exc
        except LoadError as exc:
            raise StepFailure(Severity.CRASH, "LoadError", self._relative(exc.format_message())) from exc
        except (GuestTimeout, MemoryLimitExceeded) as exc:
            raise StepFailure(Severity.KILL, type(exc).__name__, self._relative(_message(exc))) from exc
        except WorkerError as exc:
            raise StepFailure(Severity.FAIL, type(exc).__name__, self._relative(_message(exc))) from exc
        except Exception as exc:  # a folder, a file, wasmtime refusing a store: the host's, run again
            raise HostFailure(self._relative(f"{type(exc).__name__}: {exc}")) from exc
        try:
            output = output_state(answer.state, state, plan.max_state_bytes)
        except StepFailure as failure:
            raise StepFailure(failure.severity, failure.kind, self._redactor.text(failure.message)) from None
        redacted: State = self._redactor.json(output)
        return redacted

    def _relative(self, message: str) -> str:
        """`message` with the project's paths made relative to it (a run record shows no host paths) and the
        secrets redacted."""
        return self._redactor.text(message.replace(f"{self.project}/", ""))

    def close(self) -> None:
        self._log_redaction.uninstall()
        with self._lock:
            workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            worker.close()


def _message(exc: WorkerError) -> str:
    """The cause, with the tail of the guest's stderr (its stack or its last words)."""
    message = f"{exc.worker.name}: {exc.cause}"
    return f"{message}\n{exc.stderr_tail}" if exc.stderr_tail else message
