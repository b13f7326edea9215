"""Issue 41's scenario, as a new user would run it: two `wws serve` processes on one project and one Postgres, a
shared SQLite KV, a three-step plan (`id.js` → `mark.py` → `id.js`) whose Python step has `[vars] PROC = "$PROC"`
(another value in each process) and writes into a writable `[[folders]]`. Runs submitted to both, then runs on one
process that is killed while they run: every run completes, none fails for the host's sake (before: "failed to add
preopen dir", once another process removed the prepared folder a process was using)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.conftest import serving

API = "/_wws/pipelines"

MARK = """
import os
import time


def step(state, env):
    data = state["data"]
    with open(f"/out/{data['id']}-{env['PROC']}.txt", "w") as file:
        file.write(env["PROC"])
    time.sleep(data.get("nap", 0))
    return {"data": {**data, "marked_by": env["PROC"], "written": len(os.listdir("/out"))}}
"""
MARK_CONFIG = """
[vars]
PROC = "$PROC"

[[folders]]
from = "./_out"
to = "/out"
writable = true
"""


def make_project(root: Path) -> Path:
    handlers = root / "pipelines" / "h"
    (handlers / "_out").mkdir(parents=True)
    (handlers / "id.js").write_text("export default { step(state) { return state; } };\n")
    (handlers / "mark.py").write_text(MARK)
    (handlers / "mark.toml").write_text(MARK_CONFIG)
    steps = [
        {"id": "first", "handler": "h/id.js", "next": {"mark": True}},
        {"id": "mark", "handler": "h/mark.py", "next": {"last": True}},
        {"id": "last", "handler": "h/id.js"},
    ]
    (root / "pipelines" / "marks.json").write_text(json.dumps({"steps": steps}))
    return root


def finished(api: str, run_ids: list[str], timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    records = []
    for run_id in run_ids:
        while (record := httpx.get(f"{api}/runs/{run_id}", timeout=30).json())["status"] == "running":
            assert time.monotonic() < deadline, record
            time.sleep(0.1)
        records.append(record)
    return records


@pytest.mark.slow
def test_two_processes_of_one_project_on_postgres_lose_no_run(tmp_path: Path, postgres_url: str) -> None:
    project = make_project(tmp_path)
    options = ("--workers", "1", "--pipelines-db", postgres_url)
    with (
        serving(project, *options, env={"PROC": "one"}) as (first, _),
        serving(project, *options, env={"PROC": "two"}) as (second, doomed),
    ):
        bases = (first, second)
        shared = [
            httpx.post(f"{bases[index % 2]}{API}/marks/runs", json={"id": f"s{index}"}, timeout=30).json()["run_id"]
            for index in range(20)
        ]
        records = finished(first + API, shared, timeout=120)
        cut = [
            httpx.post(f"{second}{API}/marks/runs", json={"id": f"k{index}", "nap": 1}, timeout=30).json()["run_id"]
            for index in range(10)
        ]
        deadline = time.monotonic() + 60
        while not list((project / "pipelines" / "h" / "_out").glob("k*")):
            assert time.monotonic() < deadline, "no run reached its Python step"
            time.sleep(0.05)
        doomed.send_signal(signal.SIGKILL)
        doomed.communicate(timeout=30)
        records += finished(first + API, cut, timeout=120)
    failed = [(record["run_id"], record["steps"]) for record in records if record["status"] != "completed"]
    assert not failed, failed
    assert {record["steps"]["mark"]["output"]["marked_by"] for record in records} <= {"one", "two"}
    written = {path.name.split("-")[0] for path in (project / "pipelines" / "h" / "_out").iterdir()}
    assert written == {f"s{index}" for index in range(20)} | {f"k{index}" for index in range(10)}
    prepared = [folder for folder in (project / ".wws" / "python").iterdir() if folder.is_dir()]
    assert prepared, "the Python step's prepared folders"
    assert not any((folder / "_out").exists() for folder in prepared), "what the step writes is not its source"
