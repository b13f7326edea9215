"""Secrets of pipeline steps: where their values come from, and how they are kept out of everything that lasts.

A step names the secrets it needs (`"secrets": ["API_KEY"]`). Their values come from the host's environment, else
from the `[secrets]` table of the project's `wws.toml`; a step that names one that is set nowhere crashes the run
before it starts. Only that step's sandbox receives them (JavaScript and Python: in `env`; native: environment
variables). They never reach the database, the run record, the output or wws's logs: every string a step returns,
every error message and every guest log line is redacted (each value replaced by `[redacted]`) before it is
stored, passed on or written, even when a step echoes a secret back or fails with it in its message.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from wws.config.loader import load_secrets
from wws.errors import WwsError
from wws.logs import guest_log
from wws.pipelines.plan import Plan

REDACTED = "[redacted]"
MIN_LENGTH = 4
"""Shorter values are refused: nobody could keep them secret, and redacting them would garble every text."""


def resolve(plan: Plan, project: Path, environ: Mapping[str, str] | None = None) -> dict[str, dict[str, str]]:
    """step id → {name: value} for the steps of `plan` that name secrets; raises `WwsError` naming what is unset."""
    environ = os.environ if environ is None else environ
    wanted = {name for step in plan.steps for name in step.secrets}
    if not wanted:
        return {}
    configured = load_secrets(project, environ)
    missing = sorted(name for name in wanted if name not in environ and name not in configured)
    if missing:
        raise WwsError(
            f"{plan.file}: secrets {', '.join(missing)} are set neither in the environment nor in the [secrets] "
            f"table of {project / 'wws.toml'}"
        )
    values = {name: environ.get(name, configured.get(name, "")) for name in wanted}
    short = sorted(name for name, value in values.items() if len(value) < MIN_LENGTH)
    if short:
        raise WwsError(f"{plan.file}: secrets {', '.join(short)} are shorter than {MIN_LENGTH} characters")
    return {step.id: {name: values[name] for name in step.secrets} for step in plan.steps if step.secrets}


class Redactor:
    """Replaces the values of secrets (at least `MIN_LENGTH` characters, see `resolve`) in text and JSON values."""

    def __init__(self, values: Iterable[str] = ()):
        self._values: list[str] = []
        self._lock = threading.Lock()
        self.add(values)

    def add(self, values: Iterable[str]) -> None:
        with self._lock:
            merged = set(self._values) | {value for value in values if value}
            self._values = sorted(merged, key=len, reverse=True)  # the longest first: one may contain another

    def remove(self, values: Iterable[str]) -> None:
        with self._lock:
            gone = set(values)
            self._values = [value for value in self._values if value not in gone]

    def text(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, REDACTED)
        return text

    def json(self, value: Any) -> Any:
        """A copy of a JSON value with every string (keys too) redacted."""
        if not self._values:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(item) for item in value]
        if isinstance(value, dict):
            return {self.text(key): self.json(item) for key, item in value.items()}
        return value


class GuestLogRedaction(logging.Filter):
    """Redacts the secrets of the steps running in this process from the guest log (`wws.guest`), whichever way the
    line came (stderr, console, print, the log host call). Installed while a `WorkerSteps` with secrets lives."""

    def __init__(self, redactor: Redactor):
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redactor.text(str(record.msg))
        if isinstance(record.args, tuple):
            record.args = tuple(self.redactor.text(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True

    def install(self) -> None:
        if self not in guest_log.filters:
            guest_log.addFilter(self)

    def uninstall(self) -> None:
        guest_log.removeFilter(self)
