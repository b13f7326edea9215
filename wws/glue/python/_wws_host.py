"""The guest's side of the host: host calls, the worker's log, and an event loop for async handlers.

Runs inside the sandbox (CPython in WASI, built by componentize-py); imported once, when the engine is built.
"""

import asyncio
import asyncio.base_events
import contextlib
import io
import json
import logging
import math
import select
import time

from wit_world.imports import host


class HostError(Exception):
    """The host refused a call (a host not allowed, no KV namespace, a timeout): the message says why."""


def call(op, **args):
    """One host call (see `wws.worker.host`); returns its value or raises `HostError`."""
    args["op"] = op
    answer = json.loads(host.call(json.dumps(args, separators=(",", ":"))))
    if not answer.get("ok"):
        raise HostError(answer.get("error") or f"{op} failed")
    return answer.get("value")


def log(level, message):
    """Send one line to the worker's log; never fails (a log line lost is better than a request lost)."""
    with contextlib.suppress(Exception):
        call("log", level=level, message=message)


class LogStream(io.TextIOBase):
    """`sys.stdout` and `sys.stderr`: each complete line goes to the worker's log at `level`."""

    def __init__(self, level):
        self._level = level
        self._pending = ""

    def writable(self):
        return True

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        for line in lines:
            log(self._level, line)
        return len(text)

    def flush(self):
        if self._pending:
            line, self._pending = self._pending, ""
            log(self._level, line)

    def discard(self):
        self._pending = ""


_LEVELS = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warn"}


class LogHandler(logging.Handler):
    """The root logger's handler: records go to the worker's log with their level."""

    def format(self, record):
        message = super().format(record)
        return message if record.name == "root" else f"{record.name}: {message}"

    def emit(self, record):
        try:
            message = self.format(record)
        except Exception:
            message = record.getMessage()
        log(_LEVELS.get(record.levelno, "error" if record.levelno > logging.WARNING else "debug"), message)


_MAX_NANOSECONDS = 2**64 - 1


def sleep(seconds):
    """`time.sleep` in the sandbox: the host waits, and ends the wait (and the request) at the request's deadline,
    which a sleep inside WASI would not allow."""
    if not isinstance(seconds, int | float):
        raise TypeError(f"'{type(seconds).__name__}' object cannot be interpreted as an integer")
    if math.isnan(seconds):
        raise ValueError("Invalid value NaN (not a number)")
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    host.sleep(min(int(seconds * 1e9), _MAX_NANOSECONDS))


def _select(rlist, wlist, xlist, timeout=None, *, _wasi_select=select.select):
    """`select.select` in the sandbox: files are always ready, so only a wait with nothing ready is left, and it
    is a host sleep (ended at the deadline) instead of a WASI poll nothing could interrupt."""
    ready = _wasi_select(rlist, wlist, xlist, 0)
    if any(ready) or timeout == 0:
        return ready
    sleep(_MAX_NANOSECONDS / 1e9 if timeout is None else timeout)
    return _wasi_select(rlist, wlist, xlist, 0)


class _Poll:
    """`select.poll()` in the sandbox: as for `select.select`, a wait with nothing ready is a host sleep."""

    def __init__(self, *, _wasi_poll=select.poll):
        self._poll = _wasi_poll()

    def register(self, fd, eventmask=select.POLLIN | select.POLLPRI | select.POLLOUT):
        self._poll.register(fd, eventmask)

    def modify(self, fd, eventmask):
        self._poll.modify(fd, eventmask)

    def unregister(self, fd):
        self._poll.unregister(fd)

    def poll(self, timeout=None):
        ready = self._poll.poll(0)
        if ready or timeout == 0:
            return ready
        sleep(_MAX_NANOSECONDS / 1e9 if timeout is None or timeout < 0 else timeout / 1000)
        return self._poll.poll(0)


time.sleep = sleep
select.select = _select
select.poll = _Poll


class _Sleeper:
    """Stands in for a selector: the guest has no sockets, so waiting for the next timer is all there is."""

    def select(self, timeout):
        if timeout is None:
            raise RuntimeError("the handler awaits something that can never finish (there is nothing to wait for)")
        if timeout > 0:
            time.sleep(timeout)
        return []

    def close(self):
        pass


class EventLoop(asyncio.base_events.BaseEventLoop):
    """An asyncio loop without a self-pipe (WASI has no socketpair): tasks, timers, `gather` and `sleep` work."""

    def __init__(self):
        super().__init__()
        self._selector = _Sleeper()

    def _process_events(self, event_list):
        pass

    def _write_to_self(self):
        pass

    def run(self, awaitable):
        """Run `awaitable` to completion, then cancel whatever it left running (nothing outlives a request)."""
        try:
            return self.run_until_complete(awaitable)
        finally:
            leftover = [task for task in asyncio.all_tasks(self) if not task.done()]
            for task in leftover:
                task.cancel()
            if leftover:
                self.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
