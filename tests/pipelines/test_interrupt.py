"""A cancelled run interrupts its steps' guests at once, whatever they do: wait in the host (a sleep, a timer) or
compute, in every language."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from wws.errors import GuestTimeout, OutOfTime
from wws.messages import StepCall
from wws.pipelines.runner import WorkerSteps
from wws.pipelines.state import step_input
from wws.sandbox.context import INTERRUPT_CHECK_TICKS, GuestContext, LogBudget

NATIVE = {"loop.wasm": "loop", "sleeper.wasm": "sleeper"}
"""Native fixtures (tests/fixtures/native) that never answer by themselves: one computes, one sleeps."""


@pytest.mark.parametrize(
    "handler", ["sleeps.py", "nap.js", "sleeper.wasm", "spin.py", "spin.js", "loop.wasm"]
)  # fmt: skip
def test_an_interrupt_stops_a_step_at_once(project: Path, native_modules: dict[str, Path], handler: str) -> None:
    path = project / "pipelines" / "h" / handler
    if handler in NATIVE:
        shutil.copyfile(native_modules[NATIVE[handler]], path)
    steps = WorkerSteps(project)
    try:
        worker = steps.worker(path)
        worker.load()
        interrupt = threading.Event()
        call = StepCall(step_input({"data": 1, "errors": {}}, {"ms": 20_000, "name": "n"}), interrupt=interrupt)
        timer = threading.Timer(0.3, interrupt.set)
        timer.start()
        started = time.monotonic()
        with pytest.raises(GuestTimeout):
            worker.run_step(call)
        assert time.monotonic() - started < 3, "stopped when interrupted, not at its 30 s deadline"
        timer.join()
    finally:
        steps.close()


def test_without_an_interrupt_a_computing_step_still_stops_at_its_deadline(project: Path) -> None:
    path = project / "pipelines" / "h" / "spin.js"
    (project / "pipelines" / "h" / "spin.toml").write_text("[limits]\ntimeout_ms = 300\n")
    steps = WorkerSteps(project)
    try:
        worker = steps.worker(path)
        worker.load()
        started = time.monotonic()
        with pytest.raises(GuestTimeout):
            worker.run_step(StepCall(step_input({"data": 1, "errors": {}}, {}), interrupt=threading.Event()))
        assert 0.29 < time.monotonic() - started < 3
    finally:
        steps.close()


def test_a_call_is_stopped_only_with_a_reason_and_never_while_it_has_time() -> None:
    now = time.monotonic()
    call = GuestContext(LogBudget(1024), deadline=now + 0.0004)
    assert call.ticks_left() == 1, "under a tick left: one more, never 0 (stop) without reason"
    call.deadline = now + 5
    assert call.ticks_left() == INTERRUPT_CHECK_TICKS
    assert call.failure is None
    call.deadline = now - 1
    assert call.ticks_left() == 0
    assert isinstance(call.failure, OutOfTime)
    interrupt = threading.Event()
    interrupt.set()
    cancelled = GuestContext(LogBudget(1024), deadline=now + 5, interrupt=interrupt)
    assert cancelled.ticks_left() == 0
    assert "cancelled" in str(cancelled.failure)
