"""A worker's admission line: so many calls at once, so many waiting, the rest turned away with 503."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from wws.config.loader import load_worker_config
from wws.errors import WorkerBusy
from wws.messages import WorkerRequest
from wws.sandbox.engine import Sandbox
from wws.server.guests import INLINE_MAX_SECONDS, GuestThreads, InlineTrial, WorkerSlots
from wws.worker.worker import Worker

WORKER = Path("busy.wasm")


def test_slots_admit_up_to_the_limit_then_queue_then_refuse() -> None:
    async def scenario() -> list[str]:
        slots = WorkerSlots(limit=2, queue_limit=1)
        await slots.acquire(WORKER, 1)
        await slots.acquire(WORKER, 1)
        waiting = asyncio.create_task(slots.acquire(WORKER, 5))
        await asyncio.sleep(0)
        events = [f"busy={slots.busy} waiting_done={waiting.done()}"]
        with pytest.raises(WorkerBusy, match="2 requests running and 1 waiting") as refused:
            await slots.acquire(WORKER, 1)
        events.append(f"refused {refused.value.status} retry-after {refused.value.retry_after}")
        slots.release()  # the slot passes to the one waiting
        await waiting
        events.append(f"busy={slots.busy}")
        slots.release()
        slots.release()
        events.append(f"busy={slots.busy}")
        return events

    assert asyncio.run(scenario()) == [
        "busy=2 waiting_done=False",
        "refused 503 retry-after 1",
        "busy=2",
        "busy=0",
    ]


def test_a_request_waiting_past_its_timeout_is_turned_away_and_leaves_the_line() -> None:
    async def scenario() -> tuple[int, int]:
        slots = WorkerSlots(limit=1, queue_limit=1)
        await slots.acquire(WORKER, 1)
        with pytest.raises(WorkerBusy, match=r"waited 0\.1 s"):
            await slots.acquire(WORKER, 0.1)
        slots.release()
        await slots.acquire(WORKER, 0.1)  # the line is empty again: the freed slot is taken at once
        return slots.busy, slots.queue_limit

    assert asyncio.run(scenario()) == (1, 1)


def test_a_waiter_that_went_away_is_skipped_when_a_slot_frees() -> None:
    async def scenario() -> int:
        slots = WorkerSlots(limit=1, queue_limit=2)
        await slots.acquire(WORKER, 1)
        first = asyncio.create_task(slots.acquire(WORKER, 5))
        second = asyncio.create_task(slots.acquire(WORKER, 5))
        await asyncio.sleep(0)
        first.cancel()  # its client went away
        await asyncio.sleep(0)
        slots.release()
        await second  # gets the slot although the first in line went away
        return slots.busy

    assert asyncio.run(scenario()) == 1


def test_short_calls_run_on_the_event_loop_and_calls_that_need_the_host_run_once_on_threads(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    """A pure hello runs inline (no thread beyond the one that loaded it); a worker that writes KV on every request
    is stopped before its write when tried inline, runs on a thread, and each request writes exactly once."""
    hello = tmp_path / "hello.js"
    hello.write_text("export default { fetch: () => new Response('hello') };")
    counter = tmp_path / "counter.js"
    counter.write_text(
        "export default { async fetch(r, env) {"
        " const n = Number(await env.KV.get('n') ?? 0) + 1; await env.KV.put('n', String(n));"
        " await env.KV.put(`seen:${new URL(r.url).searchParams.get('i')}`, '1'); return new Response(String(n)); } };"
    )
    counter.with_suffix(".toml").write_text('[limits]\nmax_concurrent_requests = 1\n[data.kv]\nnamespace = "c"\n')
    workers = [
        Worker(path, load_worker_config(path, project_root=tmp_path), root=tmp_path, sandbox=sandbox)
        for path in (hello, counter)
    ]
    threads = GuestThreads(max_threads=8)

    async def scenario() -> tuple[list[str], list[str]]:
        await threads.handle(workers[0], WorkerRequest("http://localhost/"))  # loads it, on a thread
        hellos = [threads.handle(workers[0], WorkerRequest("http://localhost/")) for _ in range(32)]
        hello_bodies = [response.body.decode() for response in await asyncio.gather(*hellos)]
        started = len(threads._executor._threads)  # how many threads the pool had to start
        counts = [threads.handle(workers[1], WorkerRequest(f"http://localhost/?i={i}")) for i in range(20)]
        count_bodies = [response.body.decode() for response in await asyncio.gather(*counts)]
        return hello_bodies, [*count_bodies, f"threads for hellos: {started}"]

    try:
        hello_bodies, count_bodies = asyncio.run(scenario())
    finally:
        threads.close()
        for worker in workers:
            worker.close()
    assert hello_bodies == ["hello"] * 32
    started = int(count_bodies[-1].rsplit(" ", 1)[1])
    assert started <= 2, "the load ran on a thread, the calls inline (one slow call may send a next one to a thread)"
    assert sorted(count_bodies[:-1], key=int) == [str(n) for n in range(1, 21)], "each request counted once"
    kv = workers[1].kv
    assert kv is not None
    assert kv.get("c", "n") == "20"
    assert sorted(kv.keys("c", "seen:")) == sorted(f"seen:{i}" for i in range(20))
    assert threads.slots(workers[1]).inline.penalty > 0, "it was tried inline, stopped, and kept to threads"


def _burn_cpu(seconds: float) -> None:
    started = time.thread_time()
    while time.thread_time() - started < seconds:
        pass


def test_a_call_is_judged_by_the_cpu_it_used_not_by_the_time_it_took() -> None:
    """Preempted (here: asleep) in the middle of a call, a worker stays on the loop; a call that computes past the
    limit sends the next ones to threads. A first long call, not yet timed by its CPU, counts as long."""
    trial = InlineTrial()
    assert trial.cpu_clock() == 0.0, "a worker with short calls is timed by the clock only"
    trial.ran(2 * INLINE_MAX_SECONDS)
    assert (trial.penalty, trial.allows()) == (1, False)
    assert trial.allows(), "one call went to a thread"
    cpu_started, started = trial.cpu_clock(), time.perf_counter()
    assert cpu_started > 0, "after a long call the next is timed by its CPU"
    time.sleep(2 * INLINE_MAX_SECONDS)
    trial.ran(time.perf_counter() - started, cpu_started)
    assert (trial.penalty, trial.allows()) == (0, True), "the time asleep is not the loop's"
    cpu_started, started = trial.cpu_clock(), time.perf_counter()
    _burn_cpu(2 * INLINE_MAX_SECONDS)
    trial.ran(time.perf_counter() - started, cpu_started)
    assert (trial.penalty, trial.allows()) == (1, False)
    trial.ran(INLINE_MAX_SECONDS / 10)
    assert trial.cpu_clock() == 0.0, "back to the clock alone once calls are short again"
