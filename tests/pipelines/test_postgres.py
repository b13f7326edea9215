"""Runs kept in PostgreSQL (`--pipelines-db`, `[pipelines] database`, `wws pipeline --db`) instead of the project's
SQLite file: a real server from Debian's package."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest
import sqlalchemy as sa

from tests.conftest import postgres_instance
from tests.pipelines.test_durable import counts
from tests.pipelines.test_http import wait_for
from tests.server.conftest import serving
from wws.config.loader import load_pipelines_settings
from wws.errors import ConfigError
from wws.kv.memory import MemoryKV
from wws.pipelines import heartbeats
from wws.pipelines.durable import PipelineRuns
from wws.pipelines.heartbeats import DEAD_AFTER_SECONDS, Heartbeats
from wws.pipelines.runner import WorkerSteps

API = "/_wws/pipelines"


@pytest.mark.slow
def test_a_server_keeps_its_runs_in_postgres_and_resumes_them_from_there(project: Path, postgres_url: str) -> None:
    with serving(project, "--pipelines-db", postgres_url) as (base, process):
        api = base + API
        done = httpx.post(f"{api}/chain/runs", json=3).json()["run_id"]
        assert wait_for(api, done)["output"]["negated"] == -7
        cut = httpx.post(f"{api}/resume/runs", json=1).json()["run_id"]
        deadline = time.monotonic() + 60
        while counts(project)["b"] != "1":  # b runs (its first execution waits 20 s): kill the server now
            assert time.monotonic() < deadline
            time.sleep(0.05)
        process.kill()
        process.communicate(timeout=30)
    assert not (project / ".wws" / "pipelines.sqlite").exists(), "nothing in the SQLite file"
    with serving(project, "--pipelines-db", postgres_url) as (base, _):
        api = base + API
        assert wait_for(api, cut)["output"] == 4
        listed = {run["run_id"] for run in httpx.get(f"{api}/chain/runs").json()["runs"]}
    assert listed == {done}
    assert counts(project) == {"a": "1", "b": "2", "c": "1"}


@pytest.mark.slow
def test_the_command_line_reads_the_database_of_wws_toml(
    project: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "wws.toml").write_text('[pipelines]\ndatabase = "$WWS_TEST_RUNS_DB"\n')
    monkeypatch.setenv("WWS_TEST_RUNS_DB", postgres_url)
    assert load_pipelines_settings(project).database == postgres_url
    plan = str(project / "pipelines" / "chain.json")
    command = [sys.executable, "-m", "wws", "pipeline"]
    ran = subprocess.run(
        [*command, "run", plan, "--input", "3", "--run-id", "pg-1", "--dir", str(project)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    shown = subprocess.run(
        [*command, "show", "pg-1", "--db", postgres_url, "--dir", str(project / "pipelines")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["output"]["negated"] == -7
    missing = subprocess.run(
        [*command, "show", "nothing", "--dir", str(project)], capture_output=True, text=True, check=False
    )
    assert missing.returncode == 1
    assert "no run 'nothing' in postgresql://wws@" in missing.stderr
    assert not (project / ".wws" / "pipelines.sqlite").exists()


def test_a_database_that_is_not_postgres_or_sqlite_is_refused(tmp_path: Path) -> None:
    (tmp_path / "wws.toml").write_text('[pipelines]\ndatabase = "mysql://db/runs"\n')
    with pytest.raises(ConfigError, match="postgresql://"):
        load_pipelines_settings(tmp_path)


@pytest.mark.slow
def test_large_outputs_are_kept_in_postgres_once_where_every_host_finds_them(
    project: Path, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    (project / "wws.toml").write_text("[pipelines]\nlarge_output_bytes = 4096\n")
    steps = [
        {"id": "big", "handler": "h/big.js", "config": {"size": 50_000}, "next": {"measure": True}},
        {"id": "measure", "handler": "h/length.js"},
    ]
    (project / "pipelines" / "large.json").write_text(json.dumps({"steps": steps}))
    other = tmp_path_factory.mktemp("other-host") / "project"
    shutil.copytree(project, other)
    with (
        serving(project, "--pipelines-db", postgres_url) as (first, _),
        serving(other, "--pipelines-db", postgres_url) as (second, _),
    ):
        records = [
            wait_for(base + API, httpx.post(f"{base}{API}/large/runs").json()["run_id"]) for base in (first, second)
        ]
        reference = records[0]["steps"]["big"]["output"]
        from_the_other_host = httpx.get(f"{second}{API}/outputs/{reference['$wws_output']}")
    assert records[1]["steps"]["big"]["output"] == reference
    assert [record["steps"]["measure"]["output"] for record in records] == [{"length": 50_000, "start": "xxx"}] * 2
    assert from_the_other_host.json() == "x" * 50_000
    assert not (project / ".wws" / "pipeline-outputs").exists()
    with psycopg.connect(postgres_url) as connection:
        stored = connection.execute("SELECT count(*) FROM wws_pipeline_outputs").fetchone()
        in_runs = connection.execute(
            "SELECT count(*) FROM dbos.operation_outputs WHERE output LIKE %s", ("%" + "x" * 4096 + "%",)
        ).fetchone()
    assert stored == (1,), "stored once, whichever host made it"
    assert in_runs == (0,), "not in the rows of the runs"


def test_a_process_that_stops_says_so_once_nothing_runs_in_it_any_more(project: Path, postgres_url: str) -> None:
    """Its heartbeat is marked dead as it stops (after DBOS has stopped), so that another process takes over what
    it left at its next look rather than 30 s later."""
    steps = WorkerSteps(project, kv=MemoryKV())
    runs = PipelineRuns(project, steps, database_url=postgres_url)
    runs.launch()
    try:
        with psycopg.connect(postgres_url) as connection:
            beating = connection.execute(
                "SELECT seen_at > now() - interval '1 minute' FROM wws_pipeline_executors WHERE executor_id = %s",
                (runs.executor_id,),
            ).fetchone()
        assert beating == (True,)
    finally:
        runs.close()
        steps.close()
    with psycopg.connect(postgres_url) as connection:
        stopped = connection.execute(
            "SELECT seen_at = 'epoch' FROM wws_pipeline_executors WHERE executor_id = %s", (runs.executor_id,)
        ).fetchone()
    assert stopped == (True,)


def test_after_an_outage_of_the_database_no_process_is_declared_dead_until_all_could_beat_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every process's beats fail while the database is down: once it is back, a process that beat first must not
    take over the runs of the others, alive, that have not beaten yet."""
    with postgres_instance() as server:
        base = server.url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        engine = sa.create_engine(f"{base}/postgres")
        beats = Heartbeats(engine, "this-process")
        beats.start()
        server.stop()
        with pytest.raises(sa.exc.OperationalError):
            beats.beat()
        server.start()
        beats.beat()
        with engine.begin() as connection:  # another process, alive, which has not beaten since the outage
            connection.execute(sa.text(
                "INSERT INTO wws_pipeline_executors VALUES ('other-process', 'elsewhere', now() - interval '1 hour')"
            ))  # fmt: skip
        assert beats.dead() == []
        later = time.monotonic() + DEAD_AFTER_SECONDS + 1
        monkeypatch.setattr(heartbeats.time, "monotonic", lambda: later)
        assert beats.dead() == ["other-process"], "once all could beat, one that did not is dead"
        engine.dispose()
