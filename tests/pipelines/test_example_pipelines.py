"""The example pipeline (examples/pipelines/age-gate.json) runs as its README says: each branch, and a rejection."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

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
