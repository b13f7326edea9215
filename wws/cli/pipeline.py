"""`wws pipeline …`: pipelines from the command line (plans of steps, each step a sandboxed worker)."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from wws.cli.arguments import database_url, read_data
from wws.config.loader import load_pipelines_settings
from wws.errors import PlanError
from wws.kv import DEFAULT_KV, open_kv
from wws.pipelines.plan import Plan, load_plan
from wws.pipelines.runner import WorkerSteps
from wws.pipelines.scheduler import RUN_STATUSES
from wws.pipelines.secrets import resolve as resolve_secrets
from wws.runtimes.registry import default_registry

if TYPE_CHECKING:
    from wws.pipelines.durable import PipelineRuns


_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
"""A run id given on the command line (`~` stays free: it names a run's reruns)."""


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
    try:
        return json.loads(read_data(text, "--input"))
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--input") from None


@pipeline.command()
@click.argument("plan", type=click.Path(path_type=Path))
def validate(plan: Path) -> None:
    """Check the plan PLAN (.json or .toml) without running it.

    Exit 0 when it is valid; else exit 2, with every problem on stderr, one per line."""
    loaded = _load(plan)
    click.echo(f"{plan}: valid: pipeline '{loaded.id}', {len(loaded.steps)} steps ({' -> '.join(loaded.order())})")


_DIR = click.option(
    "--dir",
    "project",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The project whose .wws/ holds the KV store and the runs.",
)


_DB = click.option(
    "--db",
    "database",
    metavar="URL",
    default=None,
    callback=lambda _context, _parameter, value: database_url(value),
    help="Database of the runs (postgresql://…). [[pipelines] database in wws.toml, else .wws/pipelines.sqlite]",
)


@contextlib.contextmanager
def _durable(project: Path, database: str | None) -> Iterator[PipelineRuns]:
    """The project's durable runs, launched for the command (and the KV store their steps share)."""
    from wws.pipelines.durable import PipelineRuns  # noqa: PLC0415 - DBOS takes 0.8 s to import: only for these

    settings = load_pipelines_settings(project.resolve())
    kv = open_kv(DEFAULT_KV, project.resolve())
    steps = WorkerSteps(project, kv=kv)
    runs = PipelineRuns(
        project,
        steps,
        database_url=database or settings.database,
        large_output_bytes=settings.large_output_bytes,
        runs_per_process=settings.runs_per_process,
    )
    runs.launch()
    try:
        yield runs
    finally:
        runs.close()
        steps.close()
        kv.close()


@pipeline.command()
@click.argument("plan", type=click.Path(path_type=Path))
@click.option("--input", "input_text", default=None, help="The run's input: JSON, or @FILE (@- for stdin).")
@click.option("--run-id", default=None, help="The run's id (default: a new one). An unfinished run's id resumes it.")
@_DIR
@_DB
def run(plan: Path, input_text: str | None, run_id: str | None, project: Path, database: str | None) -> None:
    """Run the plan PLAN, durably, and print its run record as JSON.

    With the id of a run a dead process left unfinished, resume it (finished steps do not run again); with the id of
    a finished run, print its record. Exit 0 when the run completed, 1 when it failed, 2 when the plan is invalid."""
    loaded = _load(plan)
    if run_id is not None and not _RUN_ID.match(run_id):
        raise click.BadParameter("letters, digits, '.', '-' and '_' (at most 200)", param_hint="--run-id")
    run_input = _read_input(input_text)
    resolve_secrets(loaded, project.resolve())  # a secret set nowhere stops here, before a run exists
    from wws.pipelines.durable import new_run_id  # noqa: PLC0415 - DBOS is slow to import: only for these commands

    run_id = run_id or new_run_id(loaded.id)
    try:
        with _durable(project, database) as runs:
            record = runs.run(loaded, plan.read_text(encoding="utf-8"), run_input, run_id)
    except KeyboardInterrupt:  # the run stays unfinished (see PipelineRuns.close): say how to go on with it
        click.echo(f"interrupted: run {run_id} is unfinished; this command with --run-id {run_id} resumes it", err=True)
        raise SystemExit(130) from None
    click.echo(json.dumps(record, indent=2, ensure_ascii=False))
    raise SystemExit(0 if record["status"] == "completed" else 1)


@pipeline.command(name="list")
@click.option("--pipeline", "pipeline_id", default=None, help="Only the runs of this pipeline (its id).")
@click.option("--status", type=click.Choice(RUN_STATUSES), default=None, help="Only the runs with this status.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1))
@_DIR
@_DB
def list_runs(pipeline_id: str | None, status: str | None, limit: int, project: Path, database: str | None) -> None:
    """List the project's runs, newest first, as JSON lines."""
    with _durable(project, database) as runs:
        for summary in runs.list(pipeline_id, status, limit):
            click.echo(json.dumps(summary, ensure_ascii=False))


@pipeline.command()
@click.argument("run_id")
@_DIR
@_DB
def show(run_id: str, project: Path, database: str | None) -> None:
    """Print the record of the run RUN_ID as JSON (exit 1 if there is no such run)."""
    with _durable(project, database) as runs:
        record = runs.show(run_id)
    if record is None:
        raise click.ClickException(f"no run {run_id!r} in {runs.database}")
    click.echo(json.dumps(record, indent=2, ensure_ascii=False))


@pipeline.command()
@click.argument("run_id")
@click.option("--after", default=0, show_default=True, type=click.IntRange(0), help="Only events numbered above N.")
@_DIR
@_DB
def events(run_id: str, after: int, project: Path, database: str | None) -> None:
    """Print the events of the run RUN_ID so far, one JSON object a line: {"id", "event", "data"}."""
    with _durable(project, database) as runs:
        if runs.show(run_id) is None:
            raise click.ClickException(f"no run {run_id!r} in {runs.database}")
        for event in runs.events(run_id, after):
            click.echo(json.dumps(event, ensure_ascii=False))
