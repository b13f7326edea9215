"""`wws pipeline …`: pipelines from the command line (plans of steps, each step a sandboxed worker)."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

import click

from wws.errors import PlanError
from wws.kv import DEFAULT_KV, open_kv
from wws.pipelines.executor import execute
from wws.pipelines.plan import Plan, load_plan
from wws.pipelines.runner import WorkerSteps
from wws.runtimes.registry import default_registry


@click.group()
def pipeline() -> None:
    """Check and run pipelines: plans of steps, each step a handler run in the sandbox."""


def _load(plan: Path) -> Plan:
    """The plan, or exit 2 with every problem on stderr, one per line."""
    try:
        return load_plan(plan, default_registry())
    except PlanError as exc:
        for problem in exc.problems:
            click.echo(f"{plan}: {problem}", err=True)
        raise SystemExit(exc.exit_code) from None


def _read_input(text: str | None) -> Any:
    if text is None:
        return None
    source = text
    if text.startswith("@"):
        try:
            source = sys.stdin.read() if text == "@-" else Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise click.BadParameter(f"cannot read {text[1:]}: {exc.strerror}", param_hint="--input") from exc
    try:
        return json.loads(source)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--input") from None


@pipeline.command()
@click.argument("plan", type=click.Path(path_type=Path))
def validate(plan: Path) -> None:
    """Check the plan PLAN (.json or .toml) without running it.

    Exit 0 when it is valid; else exit 2, with every problem on stderr, one per line."""
    loaded = _load(plan)
    click.echo(f"{plan}: valid: pipeline '{loaded.id}', {len(loaded.steps)} steps ({' -> '.join(loaded.order())})")


@pipeline.command()
@click.argument("plan", type=click.Path(path_type=Path))
@click.option("--input", "input_text", default=None, help="The run's input: JSON, or @FILE (@- for stdin).")
@click.option(
    "--dir",
    "project",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The project whose .wws/ holds the KV store.",
)
def run(plan: Path, input_text: str | None, project: Path) -> None:
    """Run the plan PLAN in this process and print the run record as JSON.

    Exit 0 when the run completed, 1 when it failed, 2 when the plan is invalid."""
    loaded = _load(plan)
    run_input = _read_input(input_text)
    kv = open_kv(DEFAULT_KV, project.resolve())
    steps = WorkerSteps(project, kv=kv)
    run_id = uuid.uuid4().hex
    try:
        record = execute(loaded, run_input, steps.runner(loaded, run_id), run_id=run_id)
    finally:
        steps.close()
        kv.close()
    click.echo(json.dumps(record, indent=2, ensure_ascii=False))
    raise SystemExit(0 if record["status"] == "completed" else 1)
