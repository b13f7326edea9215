"""A worker's admission line: so many calls at once, so many waiting, the rest turned away with 503."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from wws.errors import WorkerBusy
from wws.server.guests import WorkerSlots

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
