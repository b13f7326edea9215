"""`wws pipeline …`: pipelines from the command line (plans of steps, each step a sandboxed worker)."""

from __future__ import annotations

from pathlib import Path

import click

from wws.errors import PlanError
from wws.pipelines.plan import load_plan
from wws.runtimes.registry import default_registry


@click.group()
def pipeline() -> None:
    """Check and run pipelines: plans of steps, each step a handler run in the sandbox."""


@pipeline.command()
@click.argument("plan", type=click.Path(path_type=Path))
def validate(plan: Path) -> None:
    """Check the plan PLAN (.json or .toml) without running it.

    Exit 0 when it is valid; else exit 2, with every problem on stderr, one per line."""
    try:
        loaded = load_plan(plan, default_registry())
    except PlanError as exc:
        for problem in exc.problems:
            click.echo(f"{plan}: {problem}", err=True)
        raise SystemExit(exc.exit_code) from None
    click.echo(f"{plan}: valid: pipeline '{loaded.id}', {len(loaded.steps)} steps ({' -> '.join(loaded.order())})")
