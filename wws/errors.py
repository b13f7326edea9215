"""Every exception wws raises, in one hierarchy.

Errors subclass `click.ClickException` so the CLI prints them cleanly (message, exit code) without a traceback.
Two audiences read them: `str(error)` is for the operator and names the file and the cause; `public_message` is
what an HTTP client may see (no host paths, no guest output).
"""

from __future__ import annotations

from pathlib import Path

import click

__all__ = [
    "BadGuestOutput",
    "ConfigError",
    "DuplicateRuntime",
    "FetchRefused",
    "GuestException",
    "GuestTimeout",
    "GuestTrap",
    "HostCallError",
    "LoadError",
    "MemoryLimitExceeded",
    "PlanError",
    "RequestTooLarge",
    "RuntimeNotFound",
    "WorkerBusy",
    "WorkerError",
    "WwsError",
]


class WwsError(click.ClickException):
    """Base of every wws error."""

    exit_code = 1


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
