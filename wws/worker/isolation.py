"""Isolation strategies: a fresh instance per request, or a pool of warm instances reused for many requests.

A warm instance is retired after `max_requests`, after any error (trap, timeout, bad output: its state can no longer
be trusted), when its memory reaches its cap, and when its call overran its deadline (the server has answered 504
and stopped waiting for it, whatever the call returned late). At most `size` idle instances are kept; a burst
above that creates extra instances that are closed when they come back.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from wws.messages import WorkerRequest, WorkerResponse
from wws.sandbox.traps import near_memory_cap

if TYPE_CHECKING:
    from wws.runtimes.base import GuestInstance, Program


class FreshInstances:
    """`isolation = "request"`: every request gets a new instance (from the pre-instantiated module), then drops it."""

    def __init__(self, program: Program):
        self._program = program

    def handle(self, request: WorkerRequest) -> WorkerResponse:
        instance = self._program.new_instance()
        try:
            return instance.handle(request)
        finally:
            instance.close()

    def close(self) -> None:
        self._program.close()


class WarmPool:
    """`isolation = "instance"`: warm instances, each used by one request at a time, reused up to `max_requests`."""

    def __init__(self, program: Program, *, size: int, max_requests: int, memory_cap_bytes: int, timeout_ms: int):
        self._program = program
        self._timeout = timeout_ms / 1000
        self._size = size
        self._max_requests = max_requests
        self._memory_cap = memory_cap_bytes
        self._idle: list[tuple[GuestInstance, int]] = []
        self._lock = threading.Lock()
        self._closed = False
        self.created = 0
        """Instances made so far (for tests and metrics)."""

    def handle(self, request: WorkerRequest) -> WorkerResponse:
        instance, served = self._acquire()
        deadline = request.deadline or time.monotonic() + self._timeout
        try:
            response = instance.handle(request)
        except BaseException:
            instance.close()
            raise
        overran = time.monotonic() > deadline
        self._release(instance, served + 1, overran)
        return response

    def _acquire(self) -> tuple[GuestInstance, int]:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            self.created += 1
        return self._program.new_instance(), 0

    def _release(self, instance: GuestInstance, served: int, overran: bool) -> None:
        retire = overran or served >= self._max_requests or near_memory_cap(instance.memory_bytes(), self._memory_cap)
        with self._lock:
            if not retire and not self._closed and len(self._idle) < self._size:
                self._idle.append((instance, served))
                return
        instance.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for instance, _ in idle:
            instance.close()
        self._program.close()
