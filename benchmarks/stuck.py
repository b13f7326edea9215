"""Stuck guests: a hello worker's latency while other workers have many requests stuck in guests that sleep.

`wws serve` serves a hello (JavaScript) and three sleepers (Python, JavaScript, native; each sleeps an hour, with a
2 s deadline). First the hello alone, then the same with `--sleepers` requests (100) kept stuck in the sleepers the
whole time (each client asks again as soon as it is answered). Prints the hello's p50/p99 both ways, and how late
past their deadline the sleepers were answered (goal: 504 within the deadline plus one second; 503 when their
worker's line is full).

Run: `python -m benchmarks.stuck` (`--help` for the options). Prints a table, writes JSON.
"""

from __future__ import annotations

import asyncio
import collections
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import httpx

from benchmarks.http.load import serving
from tests.conftest import compile_c
from tests.server.conftest import free_port

REPOSITORY = Path(__file__).parents[1]
HOSTILE = REPOSITORY / "tests" / "fixtures" / "hostile"
DEFAULT_OUTPUT = REPOSITORY / ".benchmarks" / "stuck.json"
DEADLINE_MS = 2000
LATE_TARGET_S = 1.0
"""A sleeper's answer is due by its deadline plus this."""
SLEEPERS = ("/py/sleep", "/js/sleep", "/native/sleep")


def build_project(folder: Path) -> Path:
    project = folder / "project"
    project.mkdir()
    (project / "hello.js").write_text((HOSTILE / "hello.js").read_text())
    sleep_config = f"[limits]\ntimeout_ms = {DEADLINE_MS}\n"
    for language, source in (("py", "sleep.py"), ("js", "sleep.js")):
        (project / language).mkdir()
        (project / language / source).write_text((HOSTILE / language / source).read_text())
        (project / language / "sleep.toml").write_text(sleep_config)
    (project / "native").mkdir()
    compile_c(REPOSITORY / "tests" / "fixtures" / "native" / "sleeper.c", project / "native" / "sleep.wasm")
    (project / "native" / "sleep.toml").write_text(sleep_config)
    return project


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def hello_latencies(session: httpx.AsyncClient, seconds: float) -> list[float]:
    """Hello requests one after another for `seconds`; their latencies in ms."""
    latencies = []
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        started = time.perf_counter()
        response = await session.get("/hello")
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"the hello worker answered {response.status_code}: {response.text}")
    return latencies


async def run(base: str, sleepers: int, seconds: float) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=sleepers + 4, max_keepalive_connections=sleepers + 4)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as session:
        for path in ("/hello", *SLEEPERS):  # load every worker (a first Python engine build) before measuring
            await session.get(path)
        alone = await hello_latencies(session, seconds)
        statuses: collections.Counter[int] = collections.Counter()
        late: dict[str, list[float]] = {path: [] for path in SLEEPERS}
        stop, settled = asyncio.Event(), asyncio.Event()

        async def sleeper(path: str) -> None:
            while not stop.is_set():
                started, counted = time.perf_counter(), settled.is_set()  # the first burst opens 100 connections
                response = await session.get(path)
                statuses[response.status_code] += 1
                if response.status_code == 504 and counted:
                    late[path].append(time.perf_counter() - started - DEADLINE_MS / 1000)

        tasks = [asyncio.create_task(sleeper(SLEEPERS[index % len(SLEEPERS)])) for index in range(sleepers)]
        await asyncio.sleep(0.5)  # every sleeper is stuck now
        settled.set()
        stuck = await hello_latencies(session, seconds)
        stop.set()
        await asyncio.gather(*tasks)
    return {
        "sleepers": sleepers,
        "seconds": seconds,
        "hello_alone": summary(alone),
        "hello_with_sleepers": summary(stuck),
        "sleeper_statuses": dict(sorted(statuses.items())),
        "sleeper_504_late_s": {
            path: {"median": round(statistics.median(times), 3), "max": round(max(times), 3)}
            for path, times in late.items()
            if times
        },
    }


_ACCESS = re.compile(r" GET (/\S+/sleep) 504 ([0-9.]+)ms ")


def server_lateness(log: str) -> dict[str, dict[str, float]]:
    """How late past the deadline the server answered each sleeper's 504, from its access log (from the request's
    arrival to its answer): the guarantee itself, without the load generator's own delays."""
    late: dict[str, list[float]] = collections.defaultdict(list)
    for path, milliseconds in _ACCESS.findall(log):
        late[path].append(float(milliseconds) / 1000 - DEADLINE_MS / 1000)
    return {
        path: {"median": round(statistics.median(times), 3), "max": round(max(times), 3)}
        for path, times in sorted(late.items())
    }


def summary(latencies: list[float]) -> dict[str, float]:
    return {
        "requests": len(latencies),
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
    }


@click.command()
@click.option("--sleepers", default=100, show_default=True, type=click.IntRange(1), help="Requests kept stuck.")
@click.option("--seconds", default=10.0, show_default=True, type=click.FloatRange(0.5), help="Each measure.")
@click.option("--output", default=str(DEFAULT_OUTPUT), show_default=True, type=click.Path(path_type=Path))
def main(sleepers: int, seconds: float, output: Path) -> None:
    """Measure the hello worker's latency alone and with SLEEPERS stuck requests; write the JSON."""
    with tempfile.TemporaryDirectory(prefix="wws-stuck-bench-") as temporary:
        folder = Path(temporary)
        project = build_project(folder)
        port = free_port()
        serve = [sys.executable, "-m", "wws", "serve", str(project), "--port", str(port)]
        command = [*serve, "--no-watch", "--workers", "1"]
        log = folder / "wws.log"
        with serving(command, f"http://127.0.0.1:{port}/hello", log):
            result = asyncio.run(run(f"http://127.0.0.1:{port}", sleepers, seconds))
        result["server_504_late_s"] = server_lateness(log.read_text(errors="replace"))
    alone, stuck = result["hello_alone"], result["hello_with_sleepers"]
    late = result["server_504_late_s"]
    met = len(late) == len(SLEEPERS) and all(times["max"] <= LATE_TARGET_S for times in late.values())
    click.echo(f"{'hello':<28} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8}")
    click.echo(f"{'alone':<28} {alone['requests']:>8} {alone['p50_ms']:>8} {alone['p99_ms']:>8}")
    with_sleepers = f"with {sleepers} stuck requests"
    click.echo(f"{with_sleepers:<28} {stuck['requests']:>8} {stuck['p50_ms']:>8} {stuck['p99_ms']:>8}")
    click.echo(f"p99 ratio (stuck / alone): {stuck['p99_ms'] / alone['p99_ms']:.2f}")
    click.echo(f"sleepers answered: {result['sleeper_statuses']}")
    click.echo(f"sleepers' 504 past the deadline, as the client saw it: {result['sleeper_504_late_s']}")
    click.echo(
        f"{'ok  ' if met else 'MISS'} sleepers' 504 past their {DEADLINE_MS} ms deadline, at the server: {late}"
        f" (goal: <= {LATE_TARGET_S} s)"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    click.echo(f"written to {output}")


if __name__ == "__main__":
    main()
