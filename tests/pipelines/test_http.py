"""The pipelines HTTP API of a real `wws serve` process: plans, runs, listings, idempotent starts, events (SSE),
access rules, hot-reloaded plans and runs resumed after the server died."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.pipelines.conftest import make_project
from tests.pipelines.test_durable import counts
from tests.server.conftest import serving
from wws.config.loader import load_pipelines_settings
from wws.config.model import PipelinesSettings
from wws.pipelines.http import AccessGuard, PipelinesService
from wws.runtimes.registry import default_registry

API = "/_wws/pipelines"
TOKEN = "a-token-long-enough-to-keep"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, native_modules: dict[str, Path]) -> Iterator[str]:
    """One server for the tests that only read and start runs: the fixture plans, a broken plan, a tiny one."""
    project = make_project(tmp_path_factory.mktemp("served"), native_modules)
    plans = project / "pipelines"
    (plans / "broken.json").write_text(
        json.dumps({"steps": [{"id": "a", "handler": "h/missing.js", "next": {"nowhere": True}}, {"id": "a"}]})
    )
    (plans / "tiny.json").write_text(
        json.dumps({"max_state_bytes": 64, "steps": [{"id": "double", "handler": "h/double.js"}]})
    )
    with serving(project) as (base, _):
        yield base + API


def wait_for(base: str, run_id: str, timeout: float = 60) -> dict[str, Any]:
    """The run's record once it is no longer running."""
    deadline = time.monotonic() + timeout
    while True:
        record: dict[str, Any] = httpx.get(f"{base}/runs/{run_id}").json()
        if record["status"] != "running":
            return record
        assert time.monotonic() < deadline, record
        time.sleep(0.05)


def server_sent(text: str) -> list[dict[str, Any]]:
    """The events of a Server-Sent Events body: {"id", "event", "data"} (comments and `retry:` left out)."""
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith((":", "retry")))
        if fields:
            events.append({"id": int(fields["id"]), "event": fields["event"], "data": json.loads(fields["data"])})
    return events


def test_lists_the_plans_with_the_problems_of_invalid_ones(served: str) -> None:
    pipelines = {entry["id"]: entry for entry in httpx.get(served).json()["pipelines"]}
    assert pipelines["chain"] == {
        "id": "chain",
        "file": "pipelines/chain.json",
        "valid": True,
        "steps": ["double", "add", "negate"],
    }
    broken = pipelines["broken"]
    assert broken["valid"] is False
    assert any("h/missing.js: no such file" in error for error in broken["errors"])
    assert any("unknown step 'nowhere'" in error for error in broken["errors"])
    assert not any("/tmp/" in error for error in broken["errors"]), "host paths stay on the host"


def test_a_run_starts_at_once_and_its_record_says_how_it_went(served: str) -> None:
    started = httpx.post(f"{served}/chain/runs", json=3)
    assert started.status_code == 202
    body = started.json()
    assert body["pipeline"] == "chain"
    assert body["status"] == "running"
    assert body["run_id"].startswith("chain.")
    assert started.headers["location"] == f"{API}/runs/{body['run_id']}"
    record = wait_for(served, body["run_id"])
    assert record["status"] == "completed"
    assert record["output"]["negated"] == -7  # (3 * 2 + 1), negated
    assert [step["status"] for step in record["steps"].values()] == ["completed"] * 3


def test_bad_requests_get_a_4xx_naming_the_problem_and_start_nothing(served: str) -> None:
    before = httpx.get(f"{served}/tiny/runs").json()["runs"]
    not_json = httpx.post(f"{served}/tiny/runs", content=b"{nope")
    assert not_json.status_code == 400
    assert "not JSON" in not_json.json()["error"]
    too_big = httpx.post(f"{served}/tiny/runs", json="x" * 100)
    assert too_big.status_code == 413
    assert "max_state_bytes (64 bytes)" in too_big.json()["error"]
    assert httpx.get(f"{served}/tiny/runs").json()["runs"] == before

    unknown = httpx.post(f"{served}/nope/runs", json=1)
    assert unknown.status_code == 404
    assert "no pipeline 'nope'" in unknown.json()["error"]
    invalid = httpx.post(f"{served}/broken/runs", json=1)
    assert invalid.status_code == 422
    assert len(invalid.json()["errors"]) >= 3, "every problem of the plan, not the first"
    unset = httpx.post(f"{served}/secrets/runs", json=1)
    assert unset.status_code == 422
    assert "API_KEY" in unset.json()["error"]
    assert httpx.get(f"{served}/runs/chain.nothing").status_code == 404
    assert httpx.get(f"{served}/runs/chain.nothing/events").status_code == 404
    assert httpx.get(f"{served}/nope/runs").status_code == 404
    assert httpx.get(f"{served}/chain/runs", params={"status": "done"}).status_code == 400
    assert httpx.get(f"{served}/chain/runs", params={"limit": "0"}).status_code == 400
    assert httpx.get(f"{served}/runs/x/events", headers={"last-event-id": "two"}).status_code == 400
    assert httpx.get(f"{served}/chain/nothing/here").status_code == 404


def test_an_empty_body_is_a_null_input(served: str) -> None:
    started = httpx.post(f"{served}/tiny/runs").json()
    record = wait_for(served, started["run_id"])
    assert record["steps"]["double"]["output"] == 0  # null * 2 in JavaScript


def test_runs_are_listed_newest_first_by_pipeline_and_status(served: str) -> None:
    first = httpx.post(f"{served}/chain/runs", json=1).json()["run_id"]
    second = httpx.post(f"{served}/chain/runs", json="not a number").json()["run_id"]  # negate fails on it
    assert wait_for(served, first)["status"] == "completed"
    assert wait_for(served, second)["status"] == "failed"
    runs = httpx.get(f"{served}/chain/runs").json()["runs"]
    ids = [run["run_id"] for run in runs]
    assert ids.index(second) < ids.index(first)
    assert all(run["pipeline"] == "chain" for run in runs)
    failed = httpx.get(f"{served}/chain/runs", params={"status": "failed"}).json()["runs"]
    assert second in [run["run_id"] for run in failed]
    assert first not in [run["run_id"] for run in failed]
    assert all(run["status"] == "failed" for run in failed)
    completed = httpx.get(f"{served}/chain/runs", params={"status": "completed", "limit": 1}).json()["runs"]
    assert len(completed) == 1
    assert completed[0]["status"] == "completed"
    assert completed[0]["created_at"].endswith("Z")


def test_one_idempotency_key_starts_one_run_and_refuses_another_input(served: str) -> None:
    key = {"idempotency-key": "order-1234"}
    first = httpx.post(f"{served}/tiny/runs", content=b'{"a": 1, "b": 2}', headers=key)
    again = httpx.post(f"{served}/tiny/runs", content=b'{"b":2,"a":1}', headers=key)  # the same JSON value
    assert first.status_code == again.status_code == 202
    assert first.json()["run_id"] == again.json()["run_id"]
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    other = httpx.post(f"{served}/tiny/runs", json={"a": 2}, headers=key)
    assert other.status_code == 409
    assert other.json()["run_id"] == first.json()["run_id"]
    in_other_pipeline = httpx.post(f"{served}/chain/runs", json=1, headers=key)
    assert in_other_pipeline.status_code == 202
    assert in_other_pipeline.json()["run_id"] != first.json()["run_id"]
    runs = httpx.get(f"{served}/tiny/runs").json()["runs"]
    assert [run["run_id"] for run in runs].count(first.json()["run_id"]) == 1
    assert httpx.post(f"{served}/tiny/runs", json=1, headers={"idempotency-key": "k" * 300}).status_code == 400


def test_events_stream_in_order_to_the_end_and_resume_after_the_last_seen(served: str) -> None:
    run_id = httpx.post(f"{served}/chain/runs", json=3).json()["run_id"]
    with httpx.stream("GET", f"{served}/runs/{run_id}/events", timeout=30) as streamed:
        assert streamed.headers["content-type"].startswith("text/event-stream")
        events = server_sent(streamed.read().decode())  # it ends by itself, after the run's last event
    kinds = [event["event"] for event in events]
    assert kinds[0] == "run-start"
    assert kinds[-1] == "run-complete"
    assert [event["id"] for event in events] == list(range(1, len(events) + 1))
    assert {"step-start", "step-complete", "edge"} <= set(kinds)
    assert events[-1]["data"]["output"]["negated"] == -7

    resumed = httpx.get(f"{served}/runs/{run_id}/events", headers={"last-event-id": "4"}, timeout=30)
    assert server_sent(resumed.text) == events[4:]
    after = httpx.get(f"{served}/runs/{run_id}/events", params={"after": len(events) - 1}, timeout=30)
    assert server_sent(after.text) == events[-1:]


def test_the_routes_need_the_token_when_the_server_has_one(tmp_path: Path, native_modules: dict[str, Path]) -> None:
    project = make_project(tmp_path, native_modules)
    with serving(project, "--pipelines-token-env", "PIPES_TOKEN", env={"PIPES_TOKEN": TOKEN}) as (base, _):
        assert httpx.get(base + API).status_code == 401
        wrong = httpx.post(f"{base}{API}/chain/runs", json=1, headers={"authorization": "Bearer wrong"})
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"].startswith("Bearer")
        assert httpx.get(f"{base}{API}/chain/runs").json()["error"].startswith("this request needs the pipelines token")
        auth = {"authorization": f"Bearer {TOKEN}"}
        started = httpx.post(f"{base}{API}/chain/runs", json=1, headers=auth)
        assert started.status_code == 202
        assert (
            httpx.get(f"{base}{API}/chain/runs", headers=auth).json()["runs"][0]["run_id"] == started.json()["run_id"]
        )


def test_without_a_token_only_loopback_clients_are_served() -> None:
    async def ok(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def status(token: str | None, client: tuple[str, int], headers: dict[str, str] | None = None) -> int:
        transport = httpx.ASGITransport(app=AccessGuard(ok, token), client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://wws") as session:
            return (await session.get("/", headers=headers)).status_code

    assert asyncio.run(status(None, ("127.0.0.1", 1))) == 200
    assert asyncio.run(status(None, ("::1", 1))) == 200
    assert asyncio.run(status(None, ("10.0.0.7", 1))) == 403
    assert asyncio.run(status(None, ("::ffff:8.8.8.8", 1))) == 403
    assert asyncio.run(status(None, ("testclient", 1))) == 403, "not an address: not known to be local"
    assert asyncio.run(status(TOKEN, ("10.0.0.7", 1), {"authorization": f"Bearer {TOKEN}"})) == 200
    assert asyncio.run(status(TOKEN, ("127.0.0.1", 1))) == 401, "with a token, loopback needs it too"
    assert asyncio.run(status(TOKEN, ("10.0.0.7", 1), {"authorization": f"bearer {TOKEN}x"})) == 401


@pytest.mark.parametrize(
    ("environment", "message"),
    [({}, "PIPES_TOKEN is not set"), ({"PIPES_TOKEN": "short"}, "shorter than 16 characters")],
)
def test_a_token_variable_unset_or_too_short_stops_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], message: str
) -> None:
    monkeypatch.delenv("PIPES_TOKEN", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = PipelinesSettings(token_env="PIPES_TOKEN")
    with pytest.raises(Exception, match=message):
        PipelinesService(tmp_path, registry=default_registry(), settings=settings)


def test_a_token_written_in_wws_toml_is_refused(tmp_path: Path) -> None:
    (tmp_path / "wws.toml").write_text('[pipelines]\ntoken = "$PIPES_TOKEN"\n')
    assert load_pipelines_settings(tmp_path).token_env == "PIPES_TOKEN"
    (tmp_path / "wws.toml").write_text('[pipelines]\ntoken = "hunter2hunter2hunter2"\n')
    with pytest.raises(Exception, match="does not belong in a file"):
        load_pipelines_settings(tmp_path)


@pytest.mark.slow
def test_an_edited_plan_serves_the_next_run_while_a_started_run_keeps_its_version(
    tmp_path: Path, native_modules: dict[str, Path]
) -> None:
    project = make_project(tmp_path, native_modules)
    plan = project / "pipelines" / "edited.json"

    def write(second: str) -> None:
        steps = [
            {
                "id": "slow",
                "handler": "h/count.js",
                "config": {"name": "slow", "wait_first": 3000},
                "next": {"b": True},
            },
            {"id": "b", "handler": second, "config": {"amount": 100}},
        ]
        plan.write_text(json.dumps({"steps": steps}))

    write("h/double.js")
    with serving(project) as (base, _):
        old = httpx.post(f"{base}{API}/edited/runs", json=1).json()["run_id"]  # slow waits 3 s: still running
        write("h/add.py")
        new = httpx.post(f"{base}{API}/edited/runs", json=1).json()["run_id"]
        assert wait_for(base + API, new)["output"] == 102  # (1 + 1) + 100
        assert wait_for(base + API, old)["output"] == 4  # (1 + 1) * 2: the plan it started with


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "stopped"])
def test_a_run_cut_off_by_the_death_or_stop_of_its_server_resumes_when_a_server_starts_again(
    tmp_path: Path, native_modules: dict[str, Path], stop: signal.Signals
) -> None:
    project = make_project(tmp_path, native_modules)
    with serving(project) as (base, process):
        run_id = httpx.post(f"{base}{API}/resume/runs", json=1).json()["run_id"]
        deadline = time.monotonic() + 60
        while counts(project)["b"] != "1":  # b started (its first execution waits 20 s): stop the server now
            assert time.monotonic() < deadline, "step b never started"
            time.sleep(0.05)
        process.send_signal(stop)
        _, stderr = process.communicate(timeout=30)
    if stop == signal.SIGTERM:  # a stop (a deploy, a restart) is no failure: the operator is told what waits
        assert "Traceback" not in stderr, stderr
        assert "stopped with 1 unfinished run, for the next process to resume" in stderr
        assert run_id in stderr
    with serving(project) as (base, _):
        record = wait_for(base + API, run_id)
        assert record["status"] == "completed"
        assert record["output"] == 4
        events = server_sent(httpx.get(f"{base}{API}/runs/{run_id}/events", timeout=30).text)
    assert counts(project) == {"a": "1", "b": "2", "c": "1"}
    assert [event["id"] for event in events] == list(range(1, len(events) + 1)), "events survive the restart"
    assert events[-1]["event"] == "run-complete"


@pytest.mark.slow
def test_cancel_stops_a_run_within_a_second_and_discards_the_late_result(
    tmp_path: Path, native_modules: dict[str, Path]
) -> None:
    project = make_project(tmp_path, native_modules)
    steps = [
        {"id": "long", "handler": "h/count.js", "config": {"name": "long", "wait_first": 3000}, "next": {"next": True}},
        {"id": "next", "handler": "h/count.js", "config": {"name": "next"}},
        {"id": "other", "handler": "h/count.js", "config": {"name": "other"}},
        {"id": "napjs", "handler": "h/nap.js", "config": {"name": "napjs", "ms": 2000}},
        {"id": "nappy", "handler": "h/nap.py", "config": {"name": "nappy", "ms": 2000}},
    ]
    (project / "pipelines" / "long.json").write_text(json.dumps({"steps": steps}))
    with serving(project) as (base, _):
        run_id = httpx.post(f"{base}{API}/long/runs", json=1).json()["run_id"]
        deadline = time.monotonic() + 60
        while counts(project, ("long",))["long"] != "1":  # the long step runs (it waits 3 s)
            assert time.monotonic() < deadline, "the long step never started"
            time.sleep(0.02)
        asked = time.monotonic()
        cancelled = httpx.post(f"{base}{API}/runs/{run_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert time.monotonic() - asked < 1.5
        assert cancelled.json() == {"run_id": run_id, "status": "cancelled"}
        record = httpx.get(f"{base}{API}/runs/{run_id}").json()
        assert record["status"] == "cancelled"
        assert record["error"]["type"] == "Cancelled"
        assert record["steps"]["long"]["status"] == "cancelled"
        assert record["steps"]["next"]["status"] == "cancelled"
        assert record["steps"]["other"]["status"] == "completed"  # it ended before the cancel
        events = server_sent(httpx.get(f"{base}{API}/runs/{run_id}/events", timeout=30).text)
        assert events[-1]["event"] == "run-error"
        assert events[-1]["data"]["status"] == "cancelled"

        time.sleep(5)  # the guests would have answered by now: nothing changes
        assert httpx.get(f"{base}{API}/runs/{run_id}").json() == record
        assert counts(project, ("next",))["next"] is None, "no step starts after a cancel"
        assert counts(project, ("napjs", "nappy")) == {"napjs": None, "nappy": None}, "sleeping guests are stopped"
        again = httpx.post(f"{base}{API}/runs/{run_id}/cancel")
        assert again.status_code == 409
        assert again.json()["status"] == "cancelled"
        listed = httpx.get(f"{base}{API}/long/runs", params={"status": "cancelled"}).json()["runs"]
        assert [run["run_id"] for run in listed] == [run_id]
        assert httpx.post(f"{base}{API}/runs/long.nothing/cancel").status_code == 404


def wait_plan(project: Path, timeout_ms: int) -> None:
    """`approve` waits (then `ship` echoes what it was given; on failure `fallback` runs); `other` does not depend
    on it."""
    steps = [
        {"id": "approve", "type": "wait", "timeout_ms": timeout_ms, "next": {"ship": True, "fallback": "on_failure"}},
        {"id": "ship", "handler": "h/echo.js"},
        {"id": "fallback", "handler": "h/echo.js"},
        {"id": "other", "handler": "h/count.js", "config": {"name": "other"}},
    ]
    (project / "pipelines" / "approval.json").write_text(json.dumps({"steps": steps}))


def waiting(base: str, run_id: str, step: str = "approve") -> dict[str, Any]:
    """The run's record once `step` waits."""
    deadline = time.monotonic() + 60
    while True:
        record: dict[str, Any] = httpx.get(f"{base}/runs/{run_id}").json()
        if record["steps"][step]["status"] == "waiting":
            return record
        assert time.monotonic() < deadline, record
        time.sleep(0.05)


@pytest.mark.slow
def test_a_wait_step_parks_until_resolved_and_its_data_goes_on(tmp_path: Path, native_modules: dict[str, Path]) -> None:
    project = make_project(tmp_path, native_modules)
    wait_plan(project, 60_000)
    with serving(project) as (base, _):
        api = base + API
        run_id = httpx.post(f"{api}/approval/runs", json={"order": 7}).json()["run_id"]
        record = waiting(api, run_id)
        assert record["status"] == "running"
        deadline = time.monotonic() + 30
        while httpx.get(f"{api}/runs/{run_id}").json()["steps"]["other"]["status"] != "completed":
            assert time.monotonic() < deadline, "the branch that does not wait did not run"
            time.sleep(0.05)

        not_a_wait = httpx.post(f"{api}/runs/{run_id}/steps/ship/resolve", json=1)
        assert not_a_wait.status_code == 409
        assert "not a wait step" in not_a_wait.json()["error"]
        assert httpx.post(f"{api}/runs/{run_id}/steps/nope/resolve", json=1).status_code == 404
        assert httpx.post(f"{api}/runs/{run_id}/steps/approve/resolve", content=b"{").status_code == 400
        resolved = httpx.post(f"{api}/runs/{run_id}/steps/approve/resolve", json={"approved_by": "ada"})
        assert resolved.status_code == 202
        assert resolved.json() == {"run_id": run_id, "step": "approve", "status": "resolved"}
        record = wait_for(api, run_id)
        assert record["status"] == "completed"
        assert record["steps"]["approve"]["output"] == {"approved_by": "ada"}
        assert record["steps"]["ship"]["output"] == {"approved_by": "ada"}
        assert record["steps"]["fallback"]["status"] == "skipped"
        again = httpx.post(f"{api}/runs/{run_id}/steps/approve/resolve", json=1)
        assert again.status_code == 409
        events = server_sent(httpx.get(f"{api}/runs/{run_id}/events", timeout=30).text)
        assert {"id": events[1]["id"], "event": "step-start", "data": {"step": "approve", "wait": True}} in events


@pytest.mark.slow
def test_a_wait_step_not_resolved_in_time_fails_and_its_failure_edges_apply(
    tmp_path: Path, native_modules: dict[str, Path]
) -> None:
    project = make_project(tmp_path, native_modules)
    wait_plan(project, 500)
    with serving(project) as (base, _):
        run_id = httpx.post(f"{base}{API}/approval/runs", json=1).json()["run_id"]
        record = wait_for(base + API, run_id)
    approve = record["steps"]["approve"]
    assert approve["status"] == "failed"
    assert approve["error"]["severity"] == "fail"
    assert approve["error"]["type"] == "WaitTimeout"
    assert record["steps"]["fallback"]["status"] == "completed"
    assert record["steps"]["ship"]["status"] == "skipped"
    assert record["status"] == "completed"  # the failure was handled by its on_failure edge


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "stopped"])
def test_a_wait_survives_the_death_or_stop_of_its_server(
    tmp_path: Path, native_modules: dict[str, Path], stop: signal.Signals
) -> None:
    project = make_project(tmp_path, native_modules)
    wait_plan(project, 60_000)
    with serving(project) as (base, process):
        run_id = httpx.post(f"{base}{API}/approval/runs", json=1).json()["run_id"]
        waiting(base + API, run_id, "approve")
        waiting_other = time.monotonic() + 30
        while httpx.get(f"{base}{API}/runs/{run_id}").json()["steps"]["other"]["status"] != "completed":
            assert time.monotonic() < waiting_other
            time.sleep(0.05)
        process.send_signal(stop)
        process.communicate(timeout=30)
    with serving(project) as (base, _):
        api = base + API
        waiting(api, run_id)  # resumed, and waiting again
        assert httpx.post(f"{api}/runs/{run_id}/steps/approve/resolve", json="yes").status_code == 202
        record = wait_for(api, run_id)
    assert record["status"] == "completed"
    assert record["steps"]["ship"]["output"] == "yes"
    assert counts(project, ("other",))["other"] == "1", "finished steps do not run again"


@pytest.mark.slow
def test_a_rerun_runs_a_step_and_the_steps_below_it_again_and_keeps_the_others(
    tmp_path: Path, native_modules: dict[str, Path]
) -> None:
    project = make_project(tmp_path, native_modules)
    steps = [
        {"id": "a", "handler": "h/count.js", "config": {"name": "ra"}, "next": {"b": True}},
        {"id": "b", "handler": "h/count.js", "config": {"name": "rb"}, "next": {"c": True}},
        {"id": "c", "handler": "h/count.js", "config": {"name": "rc"}},
    ]
    (project / "pipelines" / "abc.json").write_text(json.dumps({"steps": steps}))
    with serving(project) as (base, _):
        api = base + API
        run_id = httpx.post(f"{api}/abc/runs", json=1).json()["run_id"]
        first = wait_for(api, run_id)
        assert first["output"] == 4
        first_events = server_sent(httpx.get(f"{api}/runs/{run_id}/events", timeout=30).text)

        assert httpx.post(f"{api}/runs/{run_id}/rerun", json={"from": "nope"}).status_code == 422
        assert httpx.post(f"{api}/runs/{run_id}/rerun", json={"step": "b"}).status_code == 400
        assert httpx.post(f"{api}/runs/abc.nothing/rerun", json={"from": "b"}).status_code == 404
        rerun = httpx.post(f"{api}/runs/{run_id}/rerun", json={"from": "b"})
        assert rerun.status_code == 202
        assert rerun.json() == {"run_id": run_id, "status": "running", "rerun": {"from": "b"}}
        record = wait_for(api, run_id)
        events = server_sent(httpx.get(f"{api}/runs/{run_id}/events", timeout=30).text)
        listed = httpx.get(f"{api}/abc/runs").json()["runs"]

    assert record["status"] == "completed"
    assert record["output"] == 4
    assert {step: record["steps"][step]["attempt"] for step in "abc"} == {"a": 1, "b": 2, "c": 2}
    assert record["steps"]["a"]["output"] == first["steps"]["a"]["output"]
    assert counts(project, ("ra", "rb", "rc")) == {"ra": "1", "rb": "2", "rc": "2"}
    assert events[: len(first_events)] == first_events, "the first run's events stay as they were"
    assert [event["id"] for event in events] == list(range(1, len(events) + 1)), "one sequence, going on"
    restart = events[len(first_events)]
    assert restart["event"] == "run-start"
    assert restart["data"]["rerun"] == {"from": "b", "steps": ["b", "c"]}
    assert events[-1]["event"] == "run-complete"
    assert [run["run_id"] for run in listed] == [run_id], "a rerun is the same run"
    assert listed[0]["status"] == "completed"


@pytest.mark.slow
def test_a_cancelled_run_reruns_from_its_waiting_step(tmp_path: Path, native_modules: dict[str, Path]) -> None:
    project = make_project(tmp_path, native_modules)
    wait_plan(project, 60_000)
    with serving(project) as (base, _):
        api = base + API
        run_id = httpx.post(f"{api}/approval/runs", json=1).json()["run_id"]
        waiting(api, run_id)
        assert httpx.post(f"{api}/runs/{run_id}/rerun", json={"from": "approve"}).status_code == 409
        assert httpx.post(f"{api}/runs/{run_id}/cancel").status_code == 200
        assert httpx.post(f"{api}/runs/{run_id}/rerun", json={"from": "approve"}).status_code == 202
        record = waiting(api, run_id)
        assert record["status"] == "running"
        assert httpx.get(f"{api}/approval/runs", params={"status": "running"}).json()["runs"][0]["run_id"] == run_id
        assert httpx.post(f"{api}/runs/{run_id}/steps/approve/resolve", json="ok").status_code == 202
        record = wait_for(api, run_id)
    assert record["status"] == "completed"
    assert record["steps"]["approve"]["attempt"] == 1  # its first wait was cancelled before it ended
    assert record["steps"]["ship"]["output"] == "ok"


@pytest.mark.slow
def test_a_large_output_is_stored_once_by_hash_and_the_next_step_gets_the_value(
    tmp_path: Path, native_modules: dict[str, Path]
) -> None:
    project = make_project(tmp_path, native_modules)
    (project / "wws.toml").write_text("[pipelines]\nlarge_output_bytes = 4096\n")
    steps = [
        {"id": "big", "handler": "h/big.js", "config": {"size": 50_000}, "next": {"measure": True}},
        {"id": "measure", "handler": "h/length.js", "next": {"again": True}},
        {"id": "again", "handler": "h/big.js", "config": {"size": 50_000}},
    ]
    (project / "pipelines" / "large.json").write_text(json.dumps({"steps": steps}))
    with serving(project) as (base, _):
        api = base + API
        first = wait_for(api, httpx.post(f"{api}/large/runs", json=None).json()["run_id"])
        second = wait_for(api, httpx.post(f"{api}/large/runs", json=None).json()["run_id"])
        reference = first["steps"]["big"]["output"]
        stored = httpx.get(f"{api}/outputs/{reference['$wws_output']}")
        missing = httpx.get(f"{api}/outputs/{'0' * 64}")
        events = server_sent(httpx.get(f"{api}/runs/{first['run_id']}/events", timeout=30).text)
        assert httpx.post(f"{api}/runs/{first['run_id']}/rerun", json={"from": "measure"}).status_code == 202
        rerun = wait_for(api, first["run_id"])

    assert first["status"] == "completed"
    assert reference == {"$wws_output": reference["$wws_output"], "bytes": 50_002}  # the JSON string, quoted
    assert first["steps"]["measure"]["output"] == {"length": 50_000, "start": "xxx"}
    assert first["output"] == reference  # the leaf's output: the same content, the same reference
    assert second["steps"]["big"]["output"] == reference
    assert stored.status_code == 200
    assert stored.json() == "x" * 50_000
    assert missing.status_code == 404
    assert rerun["steps"]["measure"] == {**first["steps"]["measure"], "attempt": 2}  # the value, from its reference
    assert {"id": 3, "event": "step-complete", "data": {"step": "big", "attempt": 1, "output": reference}} in events
    assert [path.name for path in (project / ".wws" / "pipeline-outputs").iterdir()] == [
        f"{reference['$wws_output']}.json"
    ], "stored once, whichever step or run made it"
    database = b"".join(path.read_bytes() for path in (project / ".wws").glob("pipelines.sqlite*"))
    assert b"x" * 4096 not in database, "large outputs stay out of the database"


@pytest.mark.slow
def test_secrets_are_in_no_answer_of_any_route(tmp_path: Path, native_modules: dict[str, Path]) -> None:
    project = make_project(tmp_path, native_modules)
    secret, other = "the-api-key-42", "other-secret-value"
    (project / "wws.toml").write_text(f'[secrets]\nOTHER = "{other}"\n')
    with serving(project, env={"API_KEY": secret}) as (base, process):
        api = base + API
        run_id = httpx.post(f"{api}/secrets/runs", json=1).json()["run_id"]
        record = wait_for(api, run_id)
        rerun = httpx.post(f"{api}/runs/{run_id}/rerun", json={"from": "js"})
        assert rerun.status_code == 202
        wait_for(api, run_id)
        answers = [
            httpx.get(api).text,
            httpx.get(f"{api}/runs/{run_id}").text,
            httpx.get(f"{api}/runs/{run_id}/events", timeout=30).text,
            httpx.get(f"{api}/secrets/runs").text,
            rerun.text,
        ]
        process.terminate()
        _, log = process.communicate(timeout=30)
    assert record["steps"]["js"]["output"] == {"echo": "[redacted]", "length": len(secret)}
    assert "[redacted]" in record["steps"]["py"]["error"]["message"]
    for answer in [*answers, log]:
        assert secret not in answer
        assert other not in answer
    database = b"".join(path.read_bytes() for path in (project / ".wws").glob("pipelines.sqlite*"))
    assert secret.encode() not in database
    assert other.encode() not in database


def test_the_api_requests_are_in_the_access_log_like_any_other(project: Path) -> None:
    with serving(project, "--workers", "1", "--log-format", "json") as (base, process):
        api = base + API
        started = httpx.post(f"{api}/resume/runs", json=1)
        wait_for(api, started.json()["run_id"])
        events = httpx.get(f"{api}/runs/{started.json()['run_id']}/events", timeout=30)
        missing = httpx.get(f"{api}/runs/no-such-run")
        process.terminate()
        _, log = process.communicate(timeout=30)
    access = [json.loads(line) for line in log.splitlines() if '"wws.access"' in line]
    seen = {(entry["method"], entry["path"], entry["status"]) for entry in access}
    assert ("POST", "/_wws/pipelines/resume/runs", started.status_code) in seen
    assert ("GET", f"/_wws/pipelines/runs/{started.json()['run_id']}/events", events.status_code) in seen
    assert ("GET", "/_wws/pipelines/runs/no-such-run", missing.status_code) in seen
    assert missing.status_code == 404
    assert all(entry["request_id"] and entry["duration_ms"] >= 0 for entry in access)
