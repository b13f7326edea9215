"""The threads that run guest code, and the bounds that keep one worker from holding the server.

A guest that may be slow never runs on the event loop: it would stall every request (short calls do, see below).
Each call on a thread is watched from the loop:

- **Its answer is due at its deadline**, `timeout_ms` after the request arrived (time spent waiting for the worker
  counts). The sandbox stops a guest then, whatever it does (computing, sleeping, waiting on a timer); should one
  still be held in the host past it (a wait the host cannot end), the client gets its 504 anyway,
  `OVERRUN_GRACE_SECONDS` later, and the instance is discarded when the call returns (a warm pool never takes back
  an instance that overran).
- **One worker holds at most `max_concurrent_requests` threads.** A call that overran keeps its slot until its
  thread is back. Past that, requests wait in line (no thread) until their deadline, at most
  `max_queued_requests` of them; past either, the answer is 503 with `Retry-After`. Other workers are not affected.

A plain `ThreadPoolExecutor`, not Starlette's `run_in_threadpool`: anyio's capacity limiter and cancel scopes cost
more than the hop itself (HTTP load benchmark: 11.1k against 16.8k req/s for a no-op call at 16 connections).

**Short calls run on the event loop**, speculatively (`wws.sandbox.context.speculating`): the thread hand-off and
the wake-ups around it cost more than a hello's whole guest call. A speculative call stops before its first host call
or wait, and after `SPECULATION_TICKS` (10 to 20 ms), having done nothing anyone can see; it then runs again, from the
start, on a thread, as every call did before. A worker whose call stops that way, or takes more than
`INLINE_MAX_SECONDS` of CPU on the loop, runs on threads for its next calls, twice as many each time it happens
again (`InlineTrial`): the loop is held 20 ms at the most, rarely, and a worker that waits or calls the host keeps to
threads. A call is judged by the CPU it used, not by the time it took: on a loaded machine the process is preempted
in the middle of calls. Judged by the clock, a Python hello in request isolation was sent to threads for good, where
16 of them at once contend for the kernel's memory map (40% of the machine in system time) and make half as many
requests/s.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from wws.errors import GuestTimeout, SpeculationAborted, WorkerBusy
from wws.messages import WorkerRequest, WorkerResponse
from wws.sandbox.context import speculating
from wws.worker.worker import Worker

MAX_THREADS = 256
"""Threads are started as calls need them, up to this many: enough that every worker can have its share, since
each is bounded by its own `max_concurrent_requests`."""

OVERRUN_GRACE_SECONDS = 0.5
"""How long after its deadline the server stops waiting for a guest the sandbox has not stopped."""

INLINE_MAX_SECONDS = 0.005
"""A call on the event loop that uses more CPU than this holds everyone else too long: the worker's next calls go to
threads. A Python hello in request isolation (1.5 ms quiet, 2-3 ms with the machine busy) stays within it: at 2 ms
it went to threads under load and made 700-1,300 requests/s against 1,300-1,400 (p99 36-66 ms against 23-35 ms),
and a JavaScript hello served beside it by the same process kept the same latency either way."""

MAX_BACKOFF = 4096
"""The most calls in a row a worker is kept off the event loop after a speculative call that stopped."""


class InlineTrial:
    """Whether a worker's next call runs on the event loop: yes, unless a recent one could not (it stopped, or used
    too much CPU); then the next `penalty` calls go to threads, a penalty that doubles each time and wears off one
    step per call that ran well.

    Every call is timed by the clock (`time.perf_counter()`, 0.05 µs); only the calls of a worker whose last call
    took over half the limit are also timed by the CPU they use (`time.thread_time()`, 0.6 µs): a call can use no
    more CPU than the time it took, so a hello is never measured twice."""

    __slots__ = ("penalty", "skip", "slow")

    def __init__(self) -> None:
        self.penalty = 0
        self.skip = 0
        self.slow = False
        """The last call took over half the limit: time the next one's CPU too."""

    def allows(self) -> bool:
        if self.skip:
            self.skip -= 1
            return False
        return True

    def cpu_clock(self) -> float:
        """Where the thread's CPU clock is before a call (0: not timed, see the class)."""
        return time.thread_time() if self.slow else 0.0

    def ran(self, seconds: float, cpu_started: float = 0.0) -> None:
        """A call took `seconds`; `cpu_started` is what `cpu_clock()` said before it."""
        self.slow = seconds > INLINE_MAX_SECONDS / 2
        if seconds > INLINE_MAX_SECONDS and cpu_started:
            seconds = time.thread_time() - cpu_started
        if seconds > INLINE_MAX_SECONDS:
            self.back_off()
        elif self.penalty:
            self.penalty -= 1

    def back_off(self) -> None:
        self.penalty = min(max(1, self.penalty * 2), MAX_BACKOFF)
        self.skip = self.penalty


class WorkerSlots:
    """The admission line of one worker: `limit` calls at once, `queue_limit` waiting. Used on the event loop only."""

    def __init__(self, limit: int, queue_limit: int):
        self.limit = limit
        self.queue_limit = queue_limit
        self.busy = 0
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self.inline = InlineTrial()

    async def acquire(self, worker: Path, timeout: float) -> None:
        """Take a slot, waiting at most `timeout` seconds in line; raises `WorkerBusy` (503) when it cannot."""
        if self.busy < self.limit and not self._waiting:
            self.busy += 1
            return
        if len(self._waiting) >= self.queue_limit:
            raise WorkerBusy(
                worker,
                f"{self.busy} requests running and {len(self._waiting)} waiting: "
                "max_concurrent_requests and max_queued_requests reached",
            )
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await asyncio.wait_for(turn, timeout)
        except TimeoutError:
            raise WorkerBusy(
                worker, f"waited {timeout:.1f} s for one of its {self.limit} slots (max_concurrent_requests)"
            ) from None
        except BaseException:
            if turn.done() and not turn.cancelled():
                self.release()  # the slot was handed over as this request left: pass it on
            raise
        finally:
            if turn in self._waiting:
                self._waiting.remove(turn)

    def release(self) -> None:
        """Give the slot to the next in line (which then holds it), or free it."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.busy -= 1


class GuestThreads:
    """A pool of threads for guest calls, with each worker's admission line; `close()` lets running calls finish."""

    def __init__(self, max_threads: int = MAX_THREADS):
        self._executor = ThreadPoolExecutor(max_threads, thread_name_prefix="wws-guest")
        self._slots: weakref.WeakKeyDictionary[Worker, WorkerSlots] = weakref.WeakKeyDictionary()

    def slots(self, worker: Worker) -> WorkerSlots:
        """The admission line of `worker` (made on its first request; a reloaded version gets a new one)."""
        slots = self._slots.get(worker)
        if slots is None:
            limits = worker.config.limits
            slots = self._slots[worker] = WorkerSlots(limits.max_concurrent_requests, limits.max_queued_requests)
        return slots

    async def handle(self, worker: Worker, request: WorkerRequest) -> WorkerResponse:
        """Run `worker.handle(request)` on a thread once the worker has a free slot; answer by the request's
        deadline (`request.deadline`, set when it arrived; or the worker's `timeout_ms` from now)."""
        timeout = worker.config.limits.timeout_ms / 1000
        if not request.deadline:
            request = dataclasses.replace(request, deadline=time.monotonic() + timeout)
        slots = self.slots(worker)
        await slots.acquire(worker.path, request.deadline - time.monotonic())
        if worker.loaded and worker.speculates and slots.inline.allows():
            started, cpu_started = time.perf_counter(), slots.inline.cpu_clock()
            try:
                with speculating():
                    response = worker.handle(request)
            except SpeculationAborted:
                slots.inline.back_off()  # and on to a thread, from the start
            except BaseException:
                slots.release()
                raise
            else:
                slots.inline.ran(time.perf_counter() - started, cpu_started)
                slots.release()
                return response
        loop = asyncio.get_running_loop()
        try:
            if not worker.loaded:  # preparing and compiling is not the guest's time (a first Python engine build)
                await loop.run_in_executor(self._executor, worker.load)
                request = dataclasses.replace(request, deadline=time.monotonic() + timeout)
            call = loop.run_in_executor(self._executor, worker.handle, request)
        except BaseException:
            slots.release()
            raise
        call.add_done_callback(lambda done: _settle(done, slots))
        await asyncio.wait((call,), timeout=max(0.0, request.deadline - time.monotonic()) + OVERRUN_GRACE_SECONDS)
        if not call.done():
            raise GuestTimeout(
                worker.path,
                f"ran past its deadline of {worker.config.limits.timeout_ms} ms and the sandbox could not stop it "
                "(its thread is held until the guest returns, then its instance is discarded)",
            )
        return call.result()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _settle(call: asyncio.Future[Any], slots: WorkerSlots) -> None:
    """When a guest's thread is back: free its slot, and consume the outcome of a call nobody awaits any more."""
    slots.release()
    if not call.cancelled():
        call.exception()
