"""A cancelled run interrupts its steps' guests that wait in the host (a sleep, a timer), in every language."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from wws.errors import GuestTimeout
from wws.messages import StepCall
from wws.pipelines.runner import WorkerSteps
from wws.pipelines.state import step_input


@pytest.mark.parametrize("handler", ["sleeps.py", "nap.js"])
def test_an_interrupt_stops_a_step_sleeping_in_the_host_at_once(project: Path, handler: str) -> None:
    steps = WorkerSteps(project)
    try:
        worker = steps.worker(project / "pipelines" / "h" / handler)
        worker.load()
        interrupt = threading.Event()
        call = StepCall(step_input({"data": 1, "errors": {}}, {"ms": 10_000, "name": "n"}), interrupt=interrupt)
        timer = threading.Timer(0.3, interrupt.set)
        timer.start()
        started = time.monotonic()
        with pytest.raises(GuestTimeout):
            worker.run_step(call)
        assert time.monotonic() - started < 3, "stopped when interrupted, not when its 10 s sleep ends"
        timer.join()
    finally:
        steps.close()
