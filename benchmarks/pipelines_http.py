"""Pipelines over HTTP: a 3-step JavaScript chain started and followed through a real `wws serve`.

Each run is `POST /_wws/pipelines/three/runs`, then its events (SSE) until `run-complete`: the time from the POST to
that event is the run's latency as a client sees it. First one client at a time (`--runs` runs), then `--clients`
clients at once (`--load-runs` runs in all): runs per second, and the latencies under load. For reference, the same
plan run durably in this process, without HTTP (`PipelineRuns.run`, as `wws pipeline run` does): the goal is an
HTTP latency (p50, one client) within `TARGET_RATIO` of it — what HTTP and the events add is bounded, never a
polling delay.

Run: `python -m benchmarks.pipelines_http` (`--help` for the options). Prints a table, writes JSON.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import httpx

from benchmarks.projects import CHAIN, chain_project
from tests.server.conftest import serving
from wws.kv.memory import MemoryKV
from wws.pipelines.durable import PipelineRuns
from wws.pipelines.plan import load_plan
from wws.pipelines.runner import WorkerSteps
from wws.runtimes.registry import default_registry

REPOSITORY = Path(__file__).parents[1]
DEFAULT_OUTPUT = REPOSITORY / ".benchmarks" / "pipelines-http.json"
TARGET_RATIO = 3.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def one_run(client: httpx.AsyncClient, api: str) -> float:
    """POST a run and follow its events to `run-complete`: seconds from the POST to that event."""
    started = time.perf_counter()
    answer = await client.post(f"{api}/{CHAIN}/runs", json=1)
    run_id = answer.json()["run_id"]
    async with client.stream("GET", f"{api}/runs/{run_id}/events") as events:
        async for line in events.aiter_lines():
            if line == "event: run-complete":
                return time.perf_counter() - started
            if line == "event: run-error":
                raise RuntimeError(f"run {run_id} failed")
    raise RuntimeError(f"the events of {run_id} ended without run-complete")


async def sequential(api: str, runs: int) -> list[float]:
    async with httpx.AsyncClient(timeout=60) as client:
        return [await one_run(client, api) for _ in range(runs)]


async def under_load(api: str, clients: int, runs: int) -> tuple[float, list[float]]:
    """`runs` runs by `clients` clients at once: the wall time, and each run's latency."""
    left = list(range(runs))
    latencies: list[float] = []

    async def client_loop(client: httpx.AsyncClient) -> None:
        while left:
            left.pop()
            latencies.append(await one_run(client, api))

    limits = httpx.Limits(max_connections=clients * 2)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
        return time.perf_counter() - started, latencies


def in_process(project: Path, runs: int) -> list[float]:
    """The same plan run durably in this process, without HTTP: seconds per run."""
    steps = WorkerSteps(project, kv=MemoryKV())
    durable = PipelineRuns(project, steps)
    durable.launch()
    path = project / "pipelines" / f"{CHAIN}.json"
    plan, text = load_plan(path, default_registry()), path.read_text()
    try:
        durable.run(plan, text, 1)  # warm: the engine, the worker
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            record = durable.run(plan, text, 1)
            timings.append(time.perf_counter() - started)
            assert record["output"] == 4, record
        return timings
    finally:
        durable.close()
        steps.close()


def summary(latencies: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
    }


@click.command()
@click.option("--runs", default=100, show_default=True, help="Runs one after another (one client).")
@click.option("--clients", default=8, show_default=True, help="Clients at once, for the load part.")
@click.option("--load-runs", default=200, show_default=True, help="Runs in all, for the load part.")
@click.option("--output", default=str(DEFAULT_OUTPUT), show_default=True, type=click.Path(path_type=Path))
def main(runs: int, clients: int, load_runs: int, output: Path) -> None:
    with tempfile.TemporaryDirectory() as folder:
        reference = in_process(chain_project(Path(folder) / "in-process"), runs)
        with serving(chain_project(Path(folder) / "served"), "--workers", "1") as (base, _):
            api = base + "/_wws/pipelines"
            asyncio.run(sequential(api, 5))  # warm: the engine, the worker, the connections
            alone = asyncio.run(sequential(api, runs))
            wall, loaded = asyncio.run(under_load(api, clients, load_runs))
    results: dict[str, Any] = {
        "in_process": summary(reference),
        "http_one_client": summary(alone),
        "http_under_load": {**summary(loaded), "clients": clients, "runs_per_second": round(load_runs / wall, 1)},
    }
    ratio = statistics.median(alone) / statistics.median(reference)
    results["ratio_http_to_in_process_p50"] = round(ratio, 2)
    click.echo("3-step JavaScript chain            p50 ms    p99 ms")
    for name in ("in_process", "http_one_client", "http_under_load"):
        row = results[name]
        click.echo(f"  {name:<32} {row['p50_ms']:>7.1f}   {row['p99_ms']:>7.1f}")
    click.echo(f"runs per second, {clients} clients: {results['http_under_load']['runs_per_second']}")
    click.echo(f"HTTP p50 / in-process p50: {ratio:.2f} (goal <= {TARGET_RATIO})")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    if ratio > TARGET_RATIO:
        sys.exit(1)


if __name__ == "__main__":
    main()
