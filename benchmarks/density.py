"""Density (issue 43 of the second batch): the memory of `wws serve --workers 1` on a project of many hello workers,
as each is requested once and after they idle, and the first request's latency to a worker not yet loaded.

The project: `--js` JavaScript workers (half in request, half in instance isolation) and `--py` Python workers
(instance isolation). Measured, in order: start-up (the route table printed and a first answer), RSS at start, the
first request to each JavaScript worker (one at a time: each is a worker not yet loaded), RSS, the first request to
each Python worker, RSS, then RSS after `--idle-ms` without traffic plus the time the server needs to notice, and the
first request to a released worker. The compiled engines are built and cached before the measure.

Run: `python -m benchmarks.density` (`--help` for the options). Prints a table, checks the targets, writes JSON.
"""

from __future__ import annotations

import json
import statistics
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
from benchmarks.scale import memory_kib
from tests.server.conftest import free_port

DEFAULT_OUTPUT = Path(__file__).parents[1] / ".benchmarks" / "density.json"
RSS_TARGET_MIB = 1024
"""1,000 JavaScript and 100 Python workers, each requested once."""
IDLE_RSS_TARGET = 1.25
"""After idling: RSS at most this times the RSS at start plus the compiled engines (measured: a worker of each
language loaded, then released)."""
FIRST_REQUEST_TARGET_MS = {"javascript": 20.0, "python": 50.0}
START_TARGET_SECONDS = 3.0
WARM = 'isolation = "instance"\n'


def generate_project(root: Path, javascript: int, python: int) -> dict[str, list[str]]:
    """The workers, in folders of 100; returns each language's routes."""
    routes: dict[str, list[str]] = {"javascript": [], "python": []}
    for language, extension, count in (("javascript", "js", javascript), ("python", "py", python)):
        for index in range(count):
            relative = f"{extension}{index // 100:02d}/hello{index:04d}"
            handler = root / f"{relative}.{extension}"
            handler.parent.mkdir(parents=True, exist_ok=True)
            handler.write_text((WORKERS / f"hello.{extension}").read_text())
            if language == "python" or index % 2:
                handler.with_suffix(".toml").write_text(WARM)
            routes[language].append("/" + relative)
    return routes


def first_requests(client: httpx.Client, routes: Sequence[str]) -> list[float]:
    """One request to each route, one at a time; their latencies in ms (each must answer 200)."""
    latencies = []
    for route in routes:
        started = time.perf_counter()
        response = client.get(route)
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{route} answered {response.status_code}: {response.text[:200]}")
    return latencies


def rss_mib(pid: int) -> float:
    return round(memory_kib(pid)["VmRSS"] / 1024, 1)


def pss_mib(pid: int) -> float:
    """Proportional set size: each page shared with other mappings counted once in all, where RSS counts it in every
    mapping (each Python instance maps the engine's snapshot, which its pages share)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def measure(folder: Path, javascript: int, python: int, idle_ms: int) -> dict[str, Any]:
    """The whole scenario on a generated project; its figures."""
    project = folder / f"project-{javascript}-{python}"
    routes = generate_project(project, javascript, python)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        *(sys.executable, "-m", "wws", "serve", str(project)),
        *("--port", str(port), "--workers", "1", "--idle-ms", str(idle_ms), "--no-watch"),
    ]
    started = time.perf_counter()
    with serving(command, base, folder / "wws.log") as process, httpx.Client(base_url=base, timeout=120) as client:
        row: dict[str, Any] = {"javascript_workers": javascript, "python_workers": python, "idle_ms": idle_ms}
        row["startup_s"] = round(time.perf_counter() - started, 2)
        row["rss_start_mib"] = rss_mib(process.pid)
        loading = time.perf_counter()
        firsts = {language: first_requests(client, routes[language]) for language in ("javascript",)}
        row["rss_after_javascript_mib"] = rss_mib(process.pid)
        firsts["python"] = first_requests(client, routes["python"])
        row["rss_after_python_mib"] = rss_mib(process.pid)
        row["pss_after_python_mib"] = pss_mib(process.pid)
        row["loading_s"] = round(time.perf_counter() - loading, 1)
        if row["loading_s"] * 1000 >= idle_ms:
            raise click.ClickException(
                f"requesting every worker took {row['loading_s']} s, more than --idle-ms: the first ones were released"
                " before the memory was measured; give a longer --idle-ms"
            )
        time.sleep(idle_ms / 1000 + min(idle_ms / 2000, 5) + 1)  # the server looks every idle_ms / 2, 5 s at most
        row["rss_idle_mib"] = rss_mib(process.pid)
        released = {language: first_requests(client, routes[language][:20]) for language in firsts}
        for language, latencies in firsts.items():
            row[f"first_{language}_p50_ms"] = round(statistics.median(latencies), 1)
            row[f"released_{language}_p50_ms"] = round(statistics.median(released[language]), 1)
    print(f"  {row}", file=sys.stderr)
    return row


def verdicts(row: dict[str, Any], engines_mib: float) -> list[tuple[bool, str]]:
    """Each target of the issue: (met, what it says)."""
    idle_limit = IDLE_RSS_TARGET * (row["rss_start_mib"] + engines_mib)
    checks = [
        (
            row["rss_after_python_mib"] <= RSS_TARGET_MIB,
            f"RSS after each requested once {row['rss_after_python_mib']} MiB (goal <= {RSS_TARGET_MIB})",
        ),
        (
            row["rss_idle_mib"] <= idle_limit,
            f"RSS after idling {row['rss_idle_mib']} MiB (goal <= {idle_limit:.0f}: "
            f"{IDLE_RSS_TARGET} x (start {row['rss_start_mib']} + engines {engines_mib}))",
        ),
        (row["startup_s"] <= START_TARGET_SECONDS, f"start-up {row['startup_s']} s (goal <= {START_TARGET_SECONDS})"),
    ]
    for language, target in FIRST_REQUEST_TARGET_MS.items():
        for moment in ("first", "released"):
            value = row[f"{moment}_{language}_p50_ms"]
            checks.append((value <= target, f"{moment} request p50, {language}: {value} ms (goal <= {target})"))
    return checks


@click.command()
@click.option("--js", "javascript", default=1000, show_default=True, type=click.IntRange(2), help="JavaScript workers.")
@click.option("--py", "python", default=100, show_default=True, type=click.IntRange(1), help="Python workers.")
@click.option(
    "--idle-ms",
    default=60_000,
    show_default=True,
    type=click.IntRange(1),
    help="The project's idle_ms: longer than requesting every worker takes.",
)
@click.option("--output", default=str(DEFAULT_OUTPUT), show_default=True, type=click.Path(path_type=Path))
def main(javascript: int, python: int, idle_ms: int, output: Path) -> None:
    """Serve a generated project; print its memory and first-request latencies; check the targets; write JSON."""
    with tempfile.TemporaryDirectory(prefix="wws-density-bench-") as temporary:
        folder = Path(temporary)
        # The engines, built and cached once (a first Python worker on a new machine builds its engine); what stays
        # of a small project once its workers are released (the compiled engines) is the baseline of the idle target.
        engines = measure(folder, 2, 1, idle_ms)
        engines_mib = round(engines["rss_idle_mib"] - engines["rss_start_mib"], 1)
        row = measure(folder, javascript, python, idle_ms)
    checks = verdicts(row, engines_mib)
    for met, text in checks:
        click.echo(f"{'ok  ' if met else 'MISS'} {text}")
    result = {"row": row, "engines_mib": engines_mib, "met": all(met for met, _ in checks)}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    click.echo(f"written to {output}")


if __name__ == "__main__":
    main()
