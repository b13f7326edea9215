"""What the log says about the runs, for an operator to read and to alert on (README, "Operating pipelines").

- A run that ends `failed`: one line, WARNING when steps failed (`fail`), ERROR when the run aborted (a `crash` or a
  `kill`), naming the run, its pipeline, the step, the severity and the error: `pipeline run failed: run=… …`.
- A step the host could not run (a folder, a database, a KV store): one WARNING line per failure while it is retried
  quickly, ERROR once the retries are at their slowest (`pipeline step waits for the host: …`): the run is not
  failed for it, it waits.

With `--log-format json`, the same fields are keys of the line (see `wws.logs.FIELDS`).
"""

from __future__ import annotations

import logging
from typing import Any

from wws.pipelines.executor import HOST_RETRY_MAX_SECONDS
from wws.pipelines.scheduler import Severity

log = logging.getLogger("wws.pipelines")


def report_ending(record: dict[str, Any]) -> None:
    """Log the end of a run that failed (nothing for the others)."""
    if record["status"] != "failed":
        return
    failed = [(step, fields) for step, fields in record["steps"].items() if fields["status"] == "failed"]
    error = record["error"] or (failed[0][1]["error"] if failed else None) or {}
    step = next((step for step, fields in failed if fields["error"] == error), failed[0][0] if failed else "-")
    severity = error.get("severity", Severity.FAIL.value)
    others = len(failed) - 1 if failed else 0
    fields = {
        "run_id": record["run_id"],
        "pipeline": record["pipeline"],
        "step": step,
        "severity": severity,
        "error": f"{error.get('type', '?')}: {_first_line(error.get('message', ''))}",
    }
    level = logging.WARNING if severity == Severity.FAIL.value else logging.ERROR
    more = f" (and {others} more failed step{'s' if others > 1 else ''})" if others > 0 else ""
    log.log(
        level,
        "pipeline run failed: run=%s pipeline=%s step=%s severity=%s error=%r%s",
        *fields.values(),
        more,
        extra=fields,
    )


def report_host_failure(run_id: str, pipeline: str, step: str, *, failures: int, cause: str, delay: float) -> None:
    """Log one failure of the host to run an attempt of a step (it runs again in `delay` seconds)."""
    fields = {"run_id": run_id, "pipeline": pipeline, "step": step, "error": _first_line(cause)}
    level = logging.ERROR if delay >= HOST_RETRY_MAX_SECONDS else logging.WARNING
    log.log(
        level,
        "pipeline step waits for the host: run=%s pipeline=%s step=%s error=%r failures=%d retry_in=%.1fs",
        *fields.values(),
        failures,
        delay,
        extra=fields,
    )


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""
