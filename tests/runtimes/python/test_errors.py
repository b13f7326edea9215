"""A broken Python worker gives the client a clean 5xx and the operator the traceback with file and line; the
server goes on serving."""

from __future__ import annotations

import textwrap
import time

import pytest

from tests.runtimes.python.conftest import MakePyWorker, get
from wws.errors import GuestException, GuestTimeout, LoadError, MemoryLimitExceeded


def test_exception_gives_500_and_a_traceback_with_file_and_line(py_worker: MakePyWorker) -> None:
    worker = py_worker(
        """
        from _lib.checks import check

        def worker(request):
            return Response(check(request.params.get("id")))
        """,
        files={"api/_lib/checks.py": "def check(value):\n    raise ValueError(f'bad id {value!r}')\n"},
        name="api/[id].py",
    )
    with pytest.raises(GuestException) as raised:
        get(worker, params={"id": "7"})
    error = raised.value
    assert error.status == 500
    assert error.cause == "raised ValueError: bad id '7'"
    handler_folder = worker.path.parent
    assert f'File "{handler_folder}/[id].py", line 5, in worker' in error.stderr_tail
    assert f'File "{handler_folder}/_lib/checks.py", line 2, in check' in error.stderr_tail
    assert "raise ValueError" in error.stderr_tail  # the source line is shown
    assert "_wws_app" not in error.stderr_tail  # the glue's frames are not the user's


def test_syntax_error_is_reported_at_load_with_its_line(py_worker: MakePyWorker) -> None:
    worker = py_worker("def worker(request):\n    return Response('x'\n\nx = 1\n", name="broken.py")
    with pytest.raises(LoadError) as raised:
        worker.load()
    message = str(raised.value)
    assert "broken.py" in message
    assert "line 2" in message
    assert "SyntaxError" in message


def test_syntax_error_in_a_helper_names_the_helper(py_worker: MakePyWorker) -> None:
    worker = py_worker(
        "from _lib import bad\ndef worker(request):\n    return Response('x')\n",
        files={"_lib/bad.py": "def oops(:\n    pass\n"},
    )
    with pytest.raises(LoadError, match=r"_lib/bad\.py.*line 1"):
        worker.load()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("raise RuntimeError('at import')\n", "RuntimeError: at import"),
        ("import not_a_module_anywhere\ndef worker(request):\n    pass\n", "No module named 'not_a_module_anywhere'"),
        ("x = 1\n", "defines no entry point"),
        ("kv.get('x')\ndef worker(request):\n    pass\n", "not available here"),
    ],
)
def test_top_level_failures_are_reported_at_load(py_worker: MakePyWorker, source: str, expected: str) -> None:
    worker = py_worker(source, '[data.kv]\nnamespace = "n"\n')
    with pytest.raises(LoadError, match="top-level code failed") as raised:
        worker.load()
    assert expected in str(raised.value)


def test_returning_something_else_than_a_response_is_a_clear_error(py_worker: MakePyWorker) -> None:
    worker = py_worker("def worker(request):\n    return 42\n")
    with pytest.raises(GuestException, match="worker\\(\\) returned int, not a Response"):
        get(worker)


@pytest.mark.slow
def test_infinite_loop_is_stopped_and_the_next_request_is_served(py_worker: MakePyWorker) -> None:
    worker = py_worker(
        """
        def worker(request):
            if request.params.get("spin"):
                while True:
                    pass
            return Response("fine")
        """,
        "[limits]\ntimeout_ms = 300\n",
    )
    started = time.monotonic()
    with pytest.raises(GuestTimeout):
        get(worker, params={"spin": "1"})
    assert time.monotonic() - started < 3
    assert get(worker).body == b"fine"


SLEEPER = """
import asyncio, select, time

async def worker(request):
    how, seconds = request.params["how"], float(request.params["seconds"])
    if how == "time":
        time.sleep(seconds)
    elif how == "select":
        select.select([], [], [], seconds)
    else:
        await asyncio.sleep(seconds)
    return Response("awake")
"""


@pytest.mark.parametrize("how", ["time", "select", "asyncio"])
def test_a_sleeping_handler_is_stopped_at_its_deadline(py_worker: MakePyWorker, how: str) -> None:
    worker = py_worker(SLEEPER, "[limits]\ntimeout_ms = 300\n")
    started = time.monotonic()
    with pytest.raises(GuestTimeout, match="deadline of 300 ms"):
        get(worker, params={"how": how, "seconds": "5"})
    assert time.monotonic() - started < 2.5  # it asked for 5 s
    started = time.monotonic()
    assert get(worker, params={"how": how, "seconds": "0.1"}).body == b"awake"
    assert time.monotonic() - started >= 0.1  # a sleep within the deadline really waits


def test_a_request_deadline_set_on_arrival_stops_a_sleeping_handler(py_worker: MakePyWorker) -> None:
    worker = py_worker(SLEEPER, "[limits]\ntimeout_ms = 5000\n")
    get(worker, params={"how": "time", "seconds": "0"})  # loaded: what follows is the guest's time only
    started = time.monotonic()
    with pytest.raises(GuestTimeout):
        get(worker, params={"how": "time", "seconds": "4"}, deadline=started + 0.3)
    assert time.monotonic() - started < 2.5


def test_time_sleep_refuses_what_cpython_refuses(py_worker: MakePyWorker) -> None:
    worker = py_worker(
        """
        import time

        def worker(request):
            errors = []
            for value in ("1", -1, float("nan")):
                try:
                    time.sleep(value)
                except (TypeError, ValueError) as exc:
                    errors.append(type(exc).__name__)
            time.sleep(0)
            return Response(",".join(errors))
        """
    )
    assert get(worker).body == b"TypeError,ValueError,ValueError"


@pytest.mark.parametrize(
    "bomb",
    [
        "data = bytearray(1024 * 1024 * 1024)",
        "data = []\nwhile True:\n    data.append('x' * 1_000_000)",
    ],
)
def test_memory_bomb_is_stopped_cleanly(py_worker: MakePyWorker, bomb: str) -> None:
    worker = py_worker(
        "def worker(request):\n    if request.params.get('bomb'):\n"
        + textwrap.indent(bomb, " " * 8)
        + "\n    return Response('fine')\n",
        "[limits]\nmemory_mb = 64\n",
    )
    with pytest.raises(MemoryLimitExceeded) as raised:
        get(worker, params={"bomb": "1"})
    assert raised.value.status == 500
    assert "64 MiB" in raised.value.cause
    assert get(worker).body == b"fine"


def test_an_exception_never_leaves_a_warm_instance_broken(py_worker: MakePyWorker) -> None:
    worker = py_worker(
        """
        import sys
        state = {"requests": 0}

        def worker(request):
            state["requests"] += 1
            if request.params.get("break"):
                sys.modules["json"] = None  # vandalise the interpreter, then fail
                raise RuntimeError("broken on purpose")
            import json
            return Response(json.dumps(state))
        """,
        'isolation = "instance"\n',
    )
    assert get(worker).body == b'{"requests": 1}'
    with pytest.raises(GuestException):
        get(worker, params={"break": "1"})
    assert get(worker).body == b'{"requests": 1}'  # a new instance: the broken one was retired
