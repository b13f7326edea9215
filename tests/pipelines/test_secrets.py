"""Secrets reach only the steps that name them, and never the database, the record, the output or the logs,
even when a step echoes them back or fails with them."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from wws.cli.main import cli

SECRET = "sk-live-7f3a9c1e5b"
OTHER = "other-secret-value"


@pytest.fixture
def project(project: Path) -> Path:
    """The pipelines project, with OTHER in its wws.toml's [secrets]."""
    (project / "wws.toml").write_text(f'[secrets]\nOTHER = "{OTHER}"\n')
    return project


def test_secrets_reach_their_steps_and_are_redacted_everywhere(
    project: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("API_KEY", SECRET)
    caplog.set_level(logging.INFO, logger="wws.guest")
    plan = project / "pipelines" / "secrets.json"
    result = CliRunner().invoke(cli, ["pipeline", "run", str(plan), "--input", "1", "--dir", str(project)])
    record = json.loads(result.stdout)
    steps = record["steps"]
    assert steps["js"]["output"] == {"echo": "[redacted]", "length": len(SECRET)}  # it had the value
    assert steps["py"]["status"] == "failed"
    assert "refusing the key [redacted]" in steps["py"]["error"]["message"]
    assert steps["after"]["status"] == "completed"
    native = steps["native"]["output"]
    assert "API_KEY=[redacted]" in native  # an environment variable for a native step
    assert "OTHER=[redacted]" in native  # from wws.toml's [secrets]
    assert "API_KEY" not in steps["unrelated"]["output"]  # only the steps that name a secret get it
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "the key is [redacted]" in logged
    assert "python sees [redacted]" in logged
    assert "native env: [redacted]" in logged
    everything = [result.stdout, logged]
    for path in (project / ".wws").glob("pipelines.sqlite*"):
        everything.append(path.read_bytes().decode("latin-1"))
    for text in everything:
        assert SECRET not in text
        assert OTHER not in text


def test_a_secret_set_nowhere_stops_the_run_before_it_exists(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("API_KEY", raising=False)
    plan = project / "pipelines" / "secrets.json"
    result = CliRunner().invoke(cli, ["pipeline", "run", str(plan), "--dir", str(project)])
    assert result.exit_code == 1
    assert "secrets API_KEY are set neither in the environment nor in the [secrets] table" in result.output
    assert not (project / ".wws" / "pipelines.sqlite").exists()


def test_a_secret_too_short_to_redact_is_refused(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_KEY", "abc")
    plan = project / "pipelines" / "secrets.json"
    result = CliRunner().invoke(cli, ["pipeline", "run", str(plan), "--dir", str(project)])
    assert result.exit_code == 1
    assert "secrets API_KEY are shorter than 4 characters" in result.output
