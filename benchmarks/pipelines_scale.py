"""Pipelines over HTTP with one process and with two, on SQLite and on Postgres, in one run: runs per second.

Each set-up serves the 3-step JavaScript chain of `benchmarks.pipelines_http` with one or two `wws serve` processes
(two: on one project and its SQLite files; or each on a copy of the project, as on two hosts, sharing one Postgres
for the runs and one Redis for the KV store). `--clients` clients at once submit `--runs` runs in all, spread over
the processes, each followed (SSE) to `run-complete`. Prints runs per second and the latencies for each set-up, and
the ratio of two processes to one.

Run: `python -m benchmarks.pipelines_scale` (`--help` for the options; needs Debian's postgresql and redis-server).
Prints a table, writes JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import httpx

from benchmarks.pipelines_http import one_run, percentile, sequential
from benchmarks.projects import chain_project
from tests.conftest import running_postgres, running_redis
from tests.server.conftest import serving

REPOSITORY = Path(__file__).parents[1]
DEFAULT_OUTPUT = REPOSITORY / ".benchmarks" / "pipelines-scale.json"


async def spread(apis: list[str], clients: int, runs: int) -> tuple[float, list[float]]:
    """`runs` runs by `clients` clients at once, each client on one of `apis` in turn."""
    left = list(range(runs))
    latencies: list[float] = []

    async def client_loop(client: httpx.AsyncClient, api: str) -> None:
        while left:
            left.pop()
            latencies.append(await one_run(client, api))

    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=clients * 2)) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client, apis[index % len(apis)]) for index in range(clients)))
        return time.perf_counter() - started, latencies


@contextlib.contextmanager
def servers(folder: Path, processes: int, database: str) -> Iterator[list[str]]:
    """`processes` servers of the chain; on Postgres, each on its own copy of the project (as on its own host)."""
    with contextlib.ExitStack() as stack:
        options: tuple[str, ...] = ("--workers", "1")  # each server one process
        projects = [chain_project(folder / "host-0")]
        if database == "postgres":
            url = stack.enter_context(running_postgres())
            redis, _ = stack.enter_context(running_redis(folder))
            options = (*options, "--pipelines-db", url, "--kv", redis)
            for index in range(1, processes):
                projects.append(folder / f"host-{index}")
                shutil.copytree(projects[0], projects[-1])
        bases = [
            stack.enter_context(serving(projects[index % len(projects)], *options))[0] for index in range(processes)
        ]
        apis = [base + "/_wws/pipelines" for base in bases]
        for api in apis:
            asyncio.run(sequential(api, 3))  # warm: the engine, the worker, the connections
        yield apis


@click.command()
@click.option("--clients", default=8, show_default=True, help="Clients at once.")
@click.option("--runs", default=200, show_default=True, help="Runs in all, for each set-up.")
@click.option("--output", default=str(DEFAULT_OUTPUT), show_default=True, type=click.Path(path_type=Path))
def main(clients: int, runs: int, output: Path) -> None:
    results: dict[str, Any] = {}
    for database in ("sqlite", "postgres"):
        for processes in (1, 2):
            with tempfile.TemporaryDirectory() as folder, servers(Path(folder), processes, database) as apis:
                wall, latencies = asyncio.run(spread(apis, clients, runs))
            results[f"{database}, {processes} process{'es' if processes > 1 else ''}"] = {
                "runs_per_second": round(runs / wall, 1),
                "p50_ms": round(statistics.median(latencies) * 1000, 1),
                "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
            }
    click.echo(f"3-step chain, {clients} clients, {runs} runs      runs/s    p50 ms    p99 ms")
    for name, row in results.items():
        click.echo(f"  {name:<36} {row['runs_per_second']:>7.1f}   {row['p50_ms']:>7.1f}   {row['p99_ms']:>7.1f}")
    for database in ("sqlite", "postgres"):
        one, two = results[f"{database}, 1 process"], results[f"{database}, 2 processes"]
        ratio = two["runs_per_second"] / one["runs_per_second"]
        results[f"{database}_two_to_one"] = round(ratio, 2)
        click.echo(f"{database}: two processes / one = {ratio:.2f}")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
