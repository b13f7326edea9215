"""Every exception wws raises, in one module that imports nothing of wws (any layer may use it).

`WwsError` and its subclasses are the failures someone must read: `str(error)` (or `format_message()`) is for the
operator and names the file and the cause; `public_message` is what an HTTP client may see (no host paths, no guest
output); `exit_code` is what the command line exits with (`wws.cli.main` shows them without a traceback).
The others are signals between layers, caught before anyone reads them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = [
    "BadGuestOutput",
    "ClientDisconnected",
    "ConditionError",
    "ConfigError",
    "DuplicateRuntime",
    "EngineBuildError",
    "FetchRefused",
    "GuestException",
    "GuestTimeout",
    "GuestTrap",
    "HostCallError",
    "IdempotencyConflict",
    "LoadError",
    "MemoryLimitExceeded",
    "OutOfTime",
    "OutputLimitExceeded",
    "PlanError",
    "RequestTooLarge",
    "RequirementsError",
    "RuntimeNotFound",
    "ScaffoldError",
    "SnapshotError",
    "UnknownPipeline",
    "WorkerBusy",
    "WorkerError",
    "WwsError",
]


class WwsError(Exception):
    """Base of every wws error."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def format_message(self) -> str:
        return self.message


class ConfigError(WwsError):
    """A worker or project config file is malformed: names the file, the line when known, and the field."""

    def __init__(self, file: Path | str, reason: str, *, field: str | None = None, line: int | None = None):
        self.file = Path(file)
        self.reason = reason
        self.field = field
        self.line = line
        where = f"{self.file}:{line}" if line else str(self.file)
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}: {what}{reason}")


class RuntimeNotFound(WwsError):
    """No runtime claims a file's extension."""

    def __init__(self, extension: str, supported: list[str]):
        self.extension = extension
        self.supported = supported
        listed = ", ".join(supported) or "none"
        super().__init__(f"no runtime for '{extension}' files (supported: {listed})")


class DuplicateRuntime(WwsError):
    """Two runtimes claim the same extension: which one runs a file would be a guess, so refuse."""

    def __init__(self, extension: str, first: str, second: str):
        self.extension = extension
        super().__init__(f"runtimes '{first}' and '{second}' both claim '{extension}' files")


class LoadError(WwsError):
    """A worker cannot be prepared or loaded (unreadable file, invalid module, missing export)."""

    def __init__(self, worker: Path | str, reason: str):
        self.worker = Path(worker)
        self.reason = reason
        super().__init__(f"{worker}: cannot load: {reason}")


class WorkerError(WwsError):
    """A request failed inside (or at the door of) a worker. `status` is the HTTP answer it deserves."""

    status = 500
    public_message = "Internal Server Error: the worker failed"

    def __init__(self, worker: Path | str, cause: str, *, stderr_tail: str = ""):
        self.worker = Path(worker)
        self.cause = cause
        self.stderr_tail = stderr_tail
        message = f"{worker}: {cause}"
        if stderr_tail:
            message += f"\n--- guest stderr (tail) ---\n{stderr_tail}"
        super().__init__(message)


class GuestTrap(WorkerError):
    """The guest trapped (unreachable, out-of-bounds access, stack overflow…) or exited with a non-zero code."""


class GuestException(WorkerError):
    """The worker's code threw an exception (or its promise rejected); `stderr_tail` holds the error and its stack."""


class GuestTimeout(WorkerError):
    """The guest ran past its deadline and was interrupted."""

    status = 504
    public_message = "Gateway Timeout: the worker ran past its deadline"


class MemoryLimitExceeded(WorkerError):
    """The guest needed more linear memory than its cap allows."""

    public_message = "Internal Server Error: the worker hit its memory limit"


class BadGuestOutput(WorkerError):
    """The guest finished but its answer is not a valid response (bad JSON, bad status, output over its cap)."""

    status = 502
    public_message = "Bad Gateway: the worker returned an invalid response"


class RequestTooLarge(WorkerError):
    """The request body is larger than the worker accepts; the guest never runs."""

    status = 413
    public_message = "Payload Too Large"


class WorkerBusy(WorkerError):
    """The worker already runs (or has stuck) as many requests as it may, and as many wait: the guest never runs.
    The client may retry after `retry_after` seconds."""

    status = 503
    public_message = "Service Unavailable: the worker is busy, retry later"
    retry_after = 1


class HostUnavailable(WorkerError):
    """The host could not give the worker what it needed: its KV store did not answer, a folder of its sandbox could
    not be opened. Not the guest's fault (a pipeline step is retried, never failed for it); the client may retry
    after `retry_after` seconds. `what` names the missing service for the client (never a host path)."""

    status = 503
    retry_after = 1

    def __init__(self, worker: Path | str, what: str, cause: str):
        self.what = what
        self.public_message = f"Service Unavailable: {what} is unavailable, retry later"
        super().__init__(worker, f"{what} is unavailable: {cause}")


class HostFailure(WwsError):
    """The host failed to run a pipeline step (not the step's fault: it runs again); the message shows no host
    paths (project paths are made relative to the project)."""


class KVUnavailable(WwsError):
    """A KV backend did not answer (Redis down, SQLite locked past its wait): the host's fault, not the guest's."""


class PlanError(WwsError):
    """A pipeline plan is not valid: `problems` lists every one found, each naming where in the plan it is."""

    exit_code = 2

    def __init__(self, file: Path | str, problems: list[str]):
        self.file = Path(file)
        self.problems = problems
        super().__init__("\n".join(f"{self.file}: {problem}" for problem in problems))


class HostCallError(WwsError):
    """A host call a guest made (KV, fetch, log, config) could not be done. The guest reads the message; the
    request goes on (the guest decides what to answer)."""


class FetchRefused(HostCallError):
    """An outbound request the worker's `[features.http_requests]` does not allow (host, method, scheme)."""


class EngineBuildError(WwsError):
    """The Python engine could not be built: the message says which step failed and why."""


class ScaffoldError(WwsError):
    """The worker cannot be created as asked; the message says why."""


class IdempotencyConflict(WwsError):
    """An idempotency key that started a pipeline run with another input."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        super().__init__(f"this Idempotency-Key started the run {run_id} with another input")


class StepFailure(WwsError):
    """A pipeline step attempt ended without a usable state: `severity` says how bad (`fail`, the step's own;
    `crash` or `kill`, the run's end), `kind` what failed (e.g. `GuestTimeout`, `BadState`)."""

    def __init__(self, severity: str, kind: str, message: str):
        super().__init__(message)
        self.severity = severity
        self.kind = kind
        self.message = message


class ApiError(WwsError):
    """A request the pipelines' HTTP API refuses: its status and what is wrong (with more fields for the JSON
    answer)."""

    def __init__(self, code: int, message: str, **extra: Any):
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


class ProcessStopping(Exception):
    """The process stops while a pipeline step waits for the host to work again: the step is left unfinished, for
    the process that resumes its run."""


class SpeculationAborted(Exception):
    """A guest call run on the event loop (speculatively, see `wws.sandbox.context.speculating`) did something that
    may not run there: a host call, a wait, or more than its time there. Nothing it did is observable: it is run
    again from the start, on a thread."""


class RequirementsError(Exception):
    """pip could not install the requirements as pure-Python wheels; the message names the package."""


class SnapshotError(ValueError):
    """The module cannot be read, or cannot be started from a captured image."""


class OutputLimitExceeded(Exception):
    """A guest's stdout went past its cap; recorded on its streams so the trap it causes can be explained."""


class OutOfTime(Exception):
    """The deadline came (or the run was cancelled) while the guest waited in the host (a sleep, a timer, a poll)."""


class ClientDisconnected(Exception):
    """The client went away before its body was complete: the worker must not run on half a request."""


class ConditionError(Exception):
    """A pipeline condition is not valid (when the plan loads) or cannot be decided on a state (when the run
    evaluates it)."""


class UnknownPipeline(LookupError):
    """No plan file has this id."""
