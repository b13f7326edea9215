"""Idle workers give their memory back: the sweep that the server runs now and then over the workers it holds (its
routes' and its pipeline steps'), releasing those unused for their `idle_ms` (see `Worker.release_if_idle`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from wws.sandbox.pages import trim_heap
from wws.worker.worker import Worker

log = logging.getLogger(__name__)

CHECK_MAX_SECONDS = 5.0
CHECK_MIN_SECONDS = 0.05


def release_idle(workers: Iterable[Worker], idle_ms: int | None = None) -> int:
    """Release the workers unused for their `[limits] idle_ms` (or `idle_ms` for all, when given); returns how many
    were. The host heap they freed goes back to the kernel."""
    now = time.monotonic()
    released = 0
    for worker in workers:
        limit = worker.config.limits.idle_ms if idle_ms is None else idle_ms
        if worker.release_if_idle(limit, now):
            log.debug("%s: idle for %d ms, its instances and program are released", worker.relative_path, limit)
            released += 1
    if released:
        trim_heap()
    return released


def check_seconds(workers: Iterable[Worker], idle_ms: int | None = None) -> float:
    """How often to look for idle workers: half the shortest `idle_ms`, between 0.05 and 5 s (a worker is released
    between its `idle_ms` and that much later); 5 s when none is ever released."""
    limits = [worker.config.limits.idle_ms for worker in workers] if idle_ms is None else [idle_ms]
    shortest = min((limit for limit in limits if limit > 0), default=0)
    return CHECK_MAX_SECONDS if not shortest else min(CHECK_MAX_SECONDS, max(CHECK_MIN_SECONDS, shortest / 2000))
