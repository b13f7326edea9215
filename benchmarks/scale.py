"""Scale: start-up time and resident memory of `wws serve` for projects of 1, 100 and 1000 generated workers (a third
each JavaScript, Python and native), then the memory after 10,000 requests spread over all of them. Target (DESIGN.md):
1000 workers start in <= 3 s; memory grows with what is used, not with what exists.

Run: `python -m benchmarks.scale` (`--help` for the options). Prints a table, writes JSON.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import httpx

from benchmarks.http.load import serving
from benchmarks.projects import WORKERS
from tests.conftest import compile_c
from tests.server.conftest import free_port

DEFAULT_OUTPUT = Path(__file__).parents[1] / ".benchmarks" / "scale.json"
START_TARGET_SECONDS = 3.0
LANGUAGES = ("js", "py", "wasm")


def generate_project(root: Path, count: int, native_module: Path) -> list[str]:
    """`count` hello workers in folders of 100, languages in turn; returns their routes."""
    routes = []
    for index in range(count):
        extension = LANGUAGES[index % len(LANGUAGES)]
        relative = f"group{index // 100:02d}/hello{index:04d}.{extension}"
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if extension == "wasm":
            shutil.copyfile(native_module, target)
        else:
            shutil.copyfile(WORKERS / f"hello.{extension}", target)
        routes.append("/" + relative.rsplit(".", 1)[0])
    return routes


def memory_kib(pid: int) -> dict[str, int]:
    """Resident memory now (VmRSS) and at its peak (VmHWM), in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


async def spread(base: str, routes: Sequence[str], total: int, concurrency: int) -> tuple[float, int]:
    """`total` GET requests cycling over `routes`, `concurrency` at a time; returns (seconds, non-200 answers)."""
    paths = itertools.islice(itertools.cycle(routes), total)
    failures = 0

    async def client(session: httpx.AsyncClient) -> None:
        nonlocal failures
        for path in paths:  # one shared iterator: each path is taken by exactly one client
            response = await session.get(path)
            if response.status_code != 200:
                failures += 1

    limits = httpx.Limits(max_connections=concurrency)
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as session:
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
    return time.perf_counter() - started, failures


def measure(folder: Path, count: int, requests: int, concurrency: int, native_module: Path) -> dict[str, Any]:
    project = folder / f"project-{count}"
    routes = generate_project(project, count, native_module)
    port = free_port()
    command = [sys.executable, "-m", "wws", "serve", str(project), "--port", str(port), "--workers", "1"]
    started = time.perf_counter()
    with serving(command, f"http://127.0.0.1:{port}", folder / f"wws-{count}.log") as process:
        startup = time.perf_counter() - started
        at_start = memory_kib(process.pid)
        seconds, failures = asyncio.run(spread(f"http://127.0.0.1:{port}", routes, requests, concurrency))
        after = memory_kib(process.pid)
    row = {
        "workers": count,
        "startup_s": round(startup, 3),
        "rss_start_mib": round(at_start["VmRSS"] / 1024, 1),
        "requests": requests,
        "requests_per_s": round(requests / seconds),
        "failures": failures,
        "rss_after_mib": round(after["VmRSS"] / 1024, 1),
        "rss_peak_mib": round(after["VmHWM"] / 1024, 1),
    }
    print(f"  {row}", file=sys.stderr)
    return row


def table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'workers':>7} {'start s':>8} {'RSS start MiB':>14} {'req/s':>7} {'RSS after MiB':>14} {'peak MiB':>9}"]
    lines += [
        f"{row['workers']:>7} {row['startup_s']:8.2f} {row['rss_start_mib']:14.1f} {row['requests_per_s']:>7} "
        f"{row['rss_after_mib']:14.1f} {row['rss_peak_mib']:9.1f}"
        for row in rows
    ]
    return "\n".join(lines)


@click.command()
@click.option("--workers", "counts", default="1,100,1000", show_default=True, help="Project sizes, comma-separated.")
@click.option("--requests", default=10_000, show_default=True, type=click.IntRange(1), help="Requests per project.")
@click.option("--concurrency", default=16, show_default=True, type=click.IntRange(1))
@click.option("--output", default=str(DEFAULT_OUTPUT), show_default=True, type=click.Path(path_type=Path))
def main(counts: str, requests: int, concurrency: int, output: Path) -> None:
    """Start wws on generated projects; print start-up time and memory; write the JSON."""
    with tempfile.TemporaryDirectory(prefix="wws-scale-bench-") as temporary:
        folder = Path(temporary)
        native_module = compile_c(WORKERS / "hello_reactor.c", folder / "hello.wasm", "-mexec-model=reactor")
        # Build the engines once (a first Python request on a new machine compiles its engine) outside the measures.
        measure(folder, len(LANGUAGES), len(LANGUAGES), 1, native_module)
        rows = [measure(folder, int(count), requests, concurrency, native_module) for count in counts.split(",")]
    largest = max(rows, key=lambda row: row["workers"])
    met = largest["workers"] < 1000 or largest["startup_s"] <= START_TARGET_SECONDS
    click.echo(table(rows))
    click.echo(
        f"\n{'ok  ' if met else 'MISS'} {largest['workers']} workers started in {largest['startup_s']:.2f} s"
        f" (goal for 1000: <= {START_TARGET_SECONDS} s)"
    )
    result = {"requests": requests, "concurrency": concurrency, "rows": rows, "start_target_s": START_TARGET_SECONDS}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    click.echo(f"written to {output}")


if __name__ == "__main__":
    main()
