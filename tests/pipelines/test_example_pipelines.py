"""The example pipelines run as the README says: the age gate (each branch, and a rejection) from the command line,
the membership (a wait for an approval) over HTTP."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from tests.server.conftest import serving
from wws.cli.main import cli

EXAMPLES = Path(__file__).parent.parent.parent / "examples" / "pipelines"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "pipelines")
    return tmp_path


def run(project: Path, person: Any) -> dict[str, Any]:
    plan = str(project / "pipelines" / "age-gate.json")
    arguments = ["pipeline", "run", plan, "--input", json.dumps(person), "--dir", str(project)]
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 0, result.output
    record: dict[str, Any] = json.loads(result.stdout)
    return record


def test_the_age_gate_tags_adults_and_minors_and_explains_rejections(project: Path) -> None:
    assert run(project, {"name": " Ada ", "age": 36})["output"] == {"name": "Ada", "age": 36, "tag": "adult"}
    minor = run(project, {"name": "Tim", "age": 9})
    assert minor["output"] == {"name": "Tim", "age": 9, "tag": "minor"}
    assert minor["steps"]["adult"]["skip_reason"] == "conditional_branch"
    rejected = run(project, {"name": "Bob", "age": "x"})
    assert rejected["status"] == "completed"  # the failure was handled by the on_failure edge
    assert rejected["output"] == {"rejected": True, "reason": "ValueError: Bob: the age must be a whole number >= 0"}
    assert rejected["steps"]["adult"]["skip_reason"] == "conditional_branch"


@pytest.mark.slow
def test_the_membership_pipeline_waits_for_an_approval_over_http(project: Path) -> None:
    with serving(project) as (base, _):
        api = base + "/_wws/pipelines"
        run_id = httpx.post(f"{api}/membership/runs", json={"name": "Ada", "age": 36}).json()["run_id"]
        deadline = time.monotonic() + 60
        while httpx.get(f"{api}/runs/{run_id}").json()["steps"]["approve"]["status"] != "waiting":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        resolved = httpx.post(f"{api}/runs/{run_id}/steps/approve/resolve", json={"approved": True, "by": "Grace"})
        assert resolved.status_code == 202
        while (record := httpx.get(f"{api}/runs/{run_id}").json())["status"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert record["status"] == "completed"
    assert record["output"] == {"member": True, "approved_by": "Grace"}
    assert record["steps"]["validate"]["output"] == {"name": "Ada", "age": 36}
