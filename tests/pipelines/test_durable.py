"""Durable runs (DBOS on SQLite): a run killed with SIGKILL resumes where it stopped, in a new process; a finished
run's id gives its record without running anything; the project's runs can be listed and shown."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from wws.cli.main import cli
from wws.kv.sqlite import SqliteKV


def counts(project: Path, names: tuple[str, ...] = ("a", "b", "c")) -> dict[str, str | None]:
    """How many times each step ran, as the steps counted it in KV (h/count.js)."""
    path = project / ".wws" / "kv.sqlite3"
    if not path.exists():
        return dict.fromkeys(names)
    store = SqliteKV(path)
    try:
        return {name: store.get("counts", name) for name in names}
    finally:
        store.close()


def wws(project: Path, *arguments: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "wws", "pipeline", *arguments, "--dir", str(project)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@contextlib.contextmanager
def background(project: Path, *arguments: str) -> Iterator[subprocess.Popen[str]]:
    """A `wws pipeline` process that is killed (and reaped) at the end whatever happens in the test."""
    process = wws(project, *arguments)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["killed", "interrupted"])
def test_a_run_killed_or_interrupted_during_a_step_resumes_without_running_finished_steps_again(
    project: Path, stop: signal.Signals
) -> None:
    plan = str(project / "pipelines" / "resume.json")
    with background(project, "run", plan, "--input", "1", "--run-id", "resumable") as first:
        deadline = time.monotonic() + 60
        while counts(project)["b"] != "1":  # b has started (its first execution waits 20 s): stop the process now
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "step b never started"
            time.sleep(0.05)
        first.send_signal(stop)
        _, stderr = first.communicate(timeout=30)
    assert counts(project) == {"a": "1", "b": "1", "c": None}
    if stop == signal.SIGINT:  # Ctrl-C: no traceback, and the way to go on
        assert first.returncode == 130
        assert "Traceback" not in stderr, stderr
        assert "interrupted: run resumable is unfinished; this command with --run-id resumable resumes it" in stderr

    second = wws(project, "run", plan, "--input", "1", "--run-id", "resumable")
    output, errors = second.communicate(timeout=120)
    assert second.returncode == 0, errors
    record = json.loads(output)
    assert record["run_id"] == "resumable"
    assert record["status"] == "completed"
    assert record["output"] == 4  # 1, then +1 by each step
    assert counts(project) == {"a": "1", "b": "2", "c": "1"}  # a was not run again; b was (at-least-once)


def test_a_finished_runs_id_gives_its_record_without_running_again(project: Path) -> None:
    plan = str(project / "pipelines" / "resume.json")
    runner = CliRunner()
    fast = project / "pipelines" / "fast.json"
    fast.write_text(Path(plan).read_text().replace(', "wait_first": 20000', ""))
    first = runner.invoke(
        cli, ["pipeline", "run", str(fast), "--input", "10", "--run-id", "once", "--dir", str(project)]
    )
    assert first.exit_code == 0, first.output
    again = runner.invoke(
        cli, ["pipeline", "run", str(fast), "--input", "10", "--run-id", "once", "--dir", str(project)]
    )
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == json.loads(first.stdout)
    assert counts(project) == {"a": "1", "b": "1", "c": "1"}  # nothing ran twice

    listed = runner.invoke(cli, ["pipeline", "list", "--dir", str(project)])
    assert [json.loads(line)["run_id"] for line in listed.stdout.splitlines()] == ["once"]
    assert json.loads(listed.stdout.splitlines()[0])["status"] == "completed"
    shown = runner.invoke(cli, ["pipeline", "show", "once", "--dir", str(project)])
    assert json.loads(shown.stdout)["output"] == 13
    missing = runner.invoke(cli, ["pipeline", "show", "nope", "--dir", str(project)])
    assert missing.exit_code == 1
    assert "no run 'nope'" in missing.output


@pytest.mark.slow
def test_a_second_process_never_takes_a_live_processs_run(project: Path) -> None:
    plan = project / "pipelines" / "short.json"
    plan.write_text((project / "pipelines" / "resume.json").read_text().replace("20000", "10000"))
    with background(project, "run", str(plan), "--input", "1", "--run-id", "live") as first:
        deadline = time.monotonic() + 60
        while counts(project)["b"] != "1":
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "step b never started"
            time.sleep(0.05)
        # While the first process is inside step b (10 s), others launch DBOS in the same project:
        listed, _ = wws(project, "list").communicate(timeout=60)
        shown, _ = wws(project, "show", "live").communicate(timeout=60)  # the record as its events tell it so far
        assert first.poll() is None, "step b ended before the checks: the machine is too slow for this test"
        assert json.loads(listed.splitlines()[0])["status"] == "running"
        live = json.loads(shown)
        assert (live["pipeline"], live["status"], live["output"]) == ("resume", "running", None)
        assert {step: fields["status"] for step, fields in live["steps"].items()} == {
            "a": "completed",
            "b": "running",
            "c": "pending",
        }
        assert live["steps"]["a"]["output"] == 2
        output, errors = first.communicate(timeout=60)
    assert first.returncode == 0, errors
    assert json.loads(output)["output"] == 4
    assert counts(project) == {"a": "1", "b": "1", "c": "1"}  # the second process ran nothing of it


FANOUT = ("slow", "f1", "f2", "f3", "join")


@pytest.mark.slow
def test_steps_start_when_their_upstreams_settle_and_a_killed_fan_out_replays_in_order(project: Path) -> None:
    plan = str(project / "pipelines" / "fanout.json")
    with background(project, "run", plan, "--input", "0", "--run-id", "fan") as first:
        deadline = time.monotonic() + 15
        # slow waits 20 s in its first execution; the chain f1 -> f2 -> f3 does not wait for it (in waves, f2 would).
        while counts(project, FANOUT) != {"slow": "1", "f1": "1", "f2": "1", "f3": "1", "join": None}:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, counts(project, FANOUT)
            time.sleep(0.05)
        while True:  # f3's completion is recorded (its events are published once it is): now kill the process
            shown, _ = wws(project, "show", "fan").communicate(timeout=60)
            if json.loads(shown)["steps"]["f3"]["status"] == "completed":
                break
            assert time.monotonic() < deadline + 15, shown
        assert first.poll() is None  # still inside the slow step
        first.send_signal(signal.SIGKILL)

    second = wws(project, "run", plan, "--input", "0", "--run-id", "fan")
    output, errors = second.communicate(timeout=120)
    assert second.returncode == 0, errors
    record = json.loads(output)
    assert record["status"] == "completed"
    assert record["output"] == {"slow": 1, "f3": 3}
    assert counts(project, FANOUT) == {"slow": "2", "f1": "1", "f2": "1", "f3": "1", "join": "1"}
    # The events survived the crash: one sequence, numbered from 1 without a gap or a repeat, each step settled once.
    listed = CliRunner().invoke(cli, ["pipeline", "events", "fan", "--dir", str(project)])
    events = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [event["id"] for event in events] == list(range(1, len(events) + 1))
    kinds = [event["event"] for event in events]
    assert (kinds[0], kinds[-1], kinds.count("run-start"), kinds.count("run-complete")) == (
        "run-start",
        "run-complete",
        1,
        1,
    )
    completed = [event["data"]["step"] for event in events if event["event"] == "step-complete"]
    assert sorted(completed) == sorted(FANOUT)
    assert completed.index("f3") < completed.index("slow")  # the chain settled before the slow step
    after = CliRunner().invoke(
        cli, ["pipeline", "events", "fan", "--after", str(len(events) - 1), "--dir", str(project)]
    )
    assert [json.loads(line)["event"] for line in after.stdout.splitlines()] == ["run-complete"]
