"""Log set-up for the CLI and the server: text for people, JSON lines (`--log-format json`) for machines.

Three loggers matter to operators: `wws.access` (one line per request), `wws.guest` (what guests print or log,
attributed to the worker and the request id) and `wws` (loading, errors). Structured fields travel in `extra=`
(`request_id`, `worker`, `method`, `path`, `status`, `duration_ms`; for pipeline runs `run_id`, `pipeline`, `step`,
`severity`, `error`) and become JSON keys.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import threading
import time
from typing import Any, Literal

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
FIELDS = (
    "request_id",
    "worker",
    "method",
    "path",
    "status",
    "duration_ms",
    "run_id",
    "pipeline",
    "step",
    "severity",
    "error",
)

_HANDLER_NAME = "wws"
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
access_log = logging.getLogger("wws.access")
guest_log = logging.getLogger("wws.guest")
GUEST_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "log": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def _json_time(created: float) -> str:
    """`created` (a `time.time()`) as the JSON lines write it: UTC, to the millisecond, as `logging` counts them."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int((created - int(created)) * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the structured fields present on the record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": _json_time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            if name in record.__dict__:
                entry[name] = record.__dict__[name]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(log_format: LogFormat = "text", *, verbose: bool = False) -> None:
    """Send logs to stderr in `log_format`; wws's own details only when `verbose`, access and guest lines always."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(_TEXT_FORMAT))
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    for old in [existing for existing in root.handlers if existing.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)  # ours from an earlier call: `wws serve` switches the CLI's text logs to its format
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    # What our lines never show, not worked out for each (the logging HOWTO's "Optimization"): the caller's file
    # and line (a walk up the stack), the thread, the process: 14.8 -> 14.0 us an access line.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    access_log.setLevel(logging.INFO)
    guest_log.setLevel(logging.DEBUG if verbose else logging.INFO)
    global _access_lines  # noqa: PLW0603 - one writer per process, as there is one root logger
    if _access_lines is not None:
        _access_lines.flush()
    _access_lines = AccessLines(handler, log_format)


def log_access(request_id: str, *, method: str, path: str, status: int, duration_ms: float, worker: str | None) -> None:
    """One access line: `request_id` answered `status` in `duration_ms` (rounded to 0.1 ms) by `worker` (None: by no
    worker). Written by `AccessLines` when the logs are as `configure_logging` left them, else through `logging`."""
    lines = _access_lines
    if lines is not None and lines.write(request_id, method, path, status, duration_ms=duration_ms, worker=worker):
        return
    access_log.info(
        "%s %s %s %d %.1fms %s",
        request_id,
        method,
        path,
        status,
        duration_ms,
        worker or "-",
        extra={
            "request_id": request_id,
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "worker": worker,
        },
    )


class AccessLines:
    """The access log's short way, the one line written on every request: formatted here, as `logging` would
    format it with our handler, and written with the other lines of the same event-loop turn in one write.

    `logging` makes a record, formats its time and message and writes and flushes the stream for each line: about
    25 µs of a hello's ~130 µs in the server (HTTP profile). Lines are held until the event loop's current turn
    ends (or written at once off the loop): a process killed with SIGKILL loses at most that turn's lines. When the
    logs are no longer as `configure_logging` left them (another handler on the root logger, as pytest's `caplog`
    adds; a filter; another formatter), `write` declines and the line goes through `logging`."""

    def __init__(self, handler: logging.StreamHandler[Any], log_format: LogFormat):
        self._handler = handler
        self._formatter = handler.formatter
        self._json = log_format == "json"
        self._pending: list[str] = []
        self._pending_lock = threading.Lock()
        """Lines are queued on the event loop, but a line written from another thread must not be lost."""
        self._second = -1
        self._second_text = ""

    def write(
        self, request_id: str, method: str, path: str, status: int, *, duration_ms: float, worker: str | None
    ) -> bool:
        """Queue the line; False (nothing done) when `logging` must write it instead."""
        handlers = logging.root.handlers
        handler = self._handler
        if (
            len(handlers) != 1
            or handlers[0] is not handler
            or handler.formatter is not self._formatter
            or handler.filters
            or handler.level > logging.INFO
            or access_log.handlers
            or access_log.filters
            or not access_log.propagate
            or not access_log.isEnabledFor(logging.INFO)
        ):
            return False
        now = time.time()
        message = f"{request_id} {method} {path} {status} {duration_ms:.1f}ms {worker or '-'}"
        if self._json:
            entry = {
                "time": _json_time(now),
                "level": "info",
                "logger": access_log.name,
                "message": message,
                "request_id": request_id,
                "worker": worker,
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": duration_ms,
            }
            line = json.dumps(entry, ensure_ascii=False)
        else:
            line = f"{self._local_second(now)},{int(now % 1 * 1000):03d} INFO {access_log.name}: {message}"
        with self._pending_lock:
            self._pending.append(line)
            first = len(self._pending) == 1
        if first:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # not on an event loop
                self.flush()
        return True

    def _local_second(self, now: float) -> str:
        """The local date and time of `now` to the second, as `logging.Formatter` writes it (one strftime a
        second)."""
        second = int(now)
        if second != self._second:
            self._second_text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            self._second = second
        return self._second_text

    def flush(self) -> None:
        """Write the lines held (in one write, under the handler's lock, as `logging` writes)."""
        with self._pending_lock:
            lines, self._pending = self._pending, []
        if not lines:
            return
        handler = self._handler
        handler.acquire()
        try:
            handler.stream.write(handler.terminator.join(lines) + handler.terminator)
            handler.flush()
        except Exception:  # as logging does: a log that cannot be written never fails a request
            handler.handleError(logging.makeLogRecord({"msg": lines[0]}))
        finally:
            handler.release()


def flush_access_lines() -> None:
    """Write the access lines still held (at shutdown)."""
    if _access_lines is not None:
        _access_lines.flush()


_access_lines: AccessLines | None = None
atexit.register(flush_access_lines)


def log_guest(worker: str, request_id: str, message: str, level: int = logging.INFO) -> None:
    """One line a guest printed to stderr or logged through the host, attributed to its worker and request."""
    fields = {"worker": worker, "request_id": request_id}
    guest_log.log(level, "%s [%s] %s", worker, request_id or "-", message, extra=fields)
