"""Where a served request's time goes: `wws serve` on the hello project under wrk load, sampled by py-spy.

py-spy samples every thread of the server (100 samples/s by default; `--gil` keeps only the samples of the thread
holding the GIL, which is what one process can spend at most once per second). Each sample's stack is put in the
first bucket that claims one of its frames (see `BUCKETS`), and the table gives each bucket's share of the samples
and its microseconds per request (samples over requests served while sampling).

Run: `python -m benchmarks.http.profile --route /hello_js_warm [--gil] [--seconds 10] [--connections 16]`
(needs wrk, as `benchmarks/http/run.sh` installs it, and py-spy from PyPI; py-spy needs ptrace: run as root).
"""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import click
import httpx

from benchmarks.http.load import REPOSITORY, serving, wrk
from benchmarks.projects import hello_project
from tests.server.conftest import free_port

BUCKETS: list[tuple[str, tuple[str, ...]]] = [
    ("guest: wasm running (no GIL)", ("wasmtime_func_call_unchecked", "_call_unchecked", "component/_func.py")),
    ("guest: instantiate", ("instance_pre.py", "wasmtime_instance_pre_instantiate", "component/_linker.py")),
    ("guest: host functions (stdio, host calls, waits)", ("sandbox/stdio.py", "sandbox/hostcalls.py", "sandbox/waits")),
    ("guest: store set-up and teardown", ("sandbox/store.py", "sandbox/components.py", "_store.py", "_wasi.py")),
    ("guest: protocol (encode, decode)", ("wws_protocol.py", "runtimes/")),
    ("guest: worker and isolation", ("worker/",)),
    ("thread pool hand-off", ("concurrent/futures", "threading.py")),
    ("access and guest logs", ("logging/", "wws/logs.py")),
    ("HTTP protocol (uvicorn, httptools)", ("uvicorn/",)),
    ("app: wws endpoint", ("server/app.py", "server/guests.py", "server/static.py", "routing/")),
    ("app: Starlette", ("starlette/",)),
    ("event loop (asyncio, uvloop)", ("asyncio/", "uvloop")),
]


def bucket_of(stack: str) -> str:
    """The first bucket one of whose markers is in the sample's stack (innermost frames are last in py-spy's raw
    output, so a stack is searched from its end)."""
    frames = stack.split(";")
    for frame in reversed(frames):
        for name, markers in BUCKETS:
            if any(marker in frame for marker in markers):
                return name
    return "other"


def summarise(raw: str, requests: int, rate: int) -> list[tuple[str, int, float, float]]:
    """(bucket, samples, share, microseconds per request) for py-spy's raw (collapsed) output, largest first."""
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            counts[bucket_of(stack)] += int(count)
    total = sum(counts.values()) or 1
    return [
        (name, samples, samples / total, samples / rate / max(requests, 1) * 1e6)
        for name, samples in counts.most_common()
    ]


@click.command()
@click.option("--route", default="/hello_js_warm", show_default=True, help="A route of the hello project.")
@click.option("--seconds", default=10, show_default=True, type=click.IntRange(2))
@click.option("--connections", default=16, show_default=True, type=click.IntRange(1))
@click.option("--rate", default=250, show_default=True, help="py-spy samples per second.")
@click.option("--gil", is_flag=True, help="Only the samples of the thread holding the GIL.")
@click.option("--workers", default="1", show_default=True, help="wws serve --workers.")
@click.option("--raw", type=click.Path(path_type=Path), help="Keep py-spy's raw stacks in this file.")
def main(  # noqa: PLR0917 - click options
    route: str, seconds: int, connections: int, rate: int, gil: bool, workers: str, raw: Path | None
) -> None:
    if shutil.which("py-spy") is None or shutil.which("wrk") is None:
        raise click.ClickException("needs py-spy (pip install py-spy) and wrk (bash benchmarks/http/run.sh)")
    with tempfile.TemporaryDirectory() as folder:
        project = hello_project(Path(folder) / "project")
        port = free_port()
        url = f"http://127.0.0.1:{port}{route}"
        command = [sys.executable, "-m", "wws", "serve", str(project), "--port", str(port), "--workers", workers]
        with serving(command, url, Path(folder) / "wws.log", cwd=REPOSITORY) as server:
            if httpx.get(url, timeout=120).status_code != 200:
                raise click.ClickException(f"{url} does not answer 200")
            wrk(url, connections, 2)
            output = Path(folder) / "profile.txt"
            spy = [
                "py-spy", "record", "--pid", str(server.pid), "--duration", str(seconds), "--rate", str(rate),
                "--format", "raw", "--output", str(output), "--threads", "--nonblocking",
                *(["--gil"] if gil else []), *(["--subprocesses"] if workers != "1" else []),
            ]  # fmt: skip
            sampler = threading.Thread(target=subprocess.run, args=(spy,), kwargs={"capture_output": True})
            sampler.start()
            measure = wrk(url, connections, seconds)
            sampler.join()
            rows = summarise(output.read_text(), measure.requests, rate)
            if raw is not None:
                shutil.copyfile(output, raw)
    print(f"{route}: {measure.rps:.0f} req/s at {connections} connections, p50 {measure.p50_ms:.2f} ms")
    print(f"{'where (py-spy' + (', GIL holder only)' if gil else ', every busy thread)'):52} share   us/request")
    for name, _samples, share, per_request in rows:
        print(f"  {name:50} {share:6.1%} {per_request:9.1f}")


if __name__ == "__main__":
    main()
