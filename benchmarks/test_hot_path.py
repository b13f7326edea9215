"""The hot path, "instantiate and execute", against the floor of DESIGN.md, measured in one run.

Run: `pytest benchmarks --benchmark-columns=median,mean,stddev,rounds`
The last test prints the ratios to the floor and checks the targets of DESIGN.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime
from pytest_benchmark.fixture import BenchmarkFixture

from wws.messages import WorkerRequest
from wws.sandbox import _ffi
from wws.sandbox.engine import Sandbox
from wws.worker.worker import Worker

REQUEST = WorkerRequest(
    url="http://localhost:8080/hello", headers=(("host", "localhost:8080"), ("user-agent", "bench"))
)
TARGETS = {
    "native_fresh": 5.0,
    "native_warm": 3.0,
    "js_fresh": 10.0,
    "js_warm": 4.0,
    "python_fresh": 60.0,
    "python_warm": 15.0,
}


def record(benchmark: BenchmarkFixture, medians: dict[str, float], name: str) -> None:
    """Keep the median for the ratio check (absent with --benchmark-disable, where each body runs once)."""
    if benchmark.stats is not None:
        medians[name] = benchmark.stats.stats.median


def test_floor(benchmark: BenchmarkFixture, bench_sandbox: Sandbox, medians: dict[str, float]) -> None:
    """Store + InstancePre.instantiate of a minimal WASI module + one call of its no-op + drop."""
    module = wasmtime.Module(bench_sandbox.engine, (Path(__file__).parent / "workers" / "floor.wat").read_text())
    pre = bench_sandbox.linker.instantiate_pre(module)
    engine = bench_sandbox.engine

    def floor() -> None:
        store = wasmtime.Store(engine)
        store.set_epoch_deadline(1000)
        instance = pre.instantiate(store)
        _ffi.instance_export(store, instance, "noop")(store)
        store.close()

    benchmark(floor)
    record(benchmark, medians, "floor")


@pytest.mark.parametrize(
    ("name", "file"),
    [
        ("native_fresh", "hello.wasm"),
        ("native_warm", "hello_warm.wasm"),
        ("js_fresh", "hello_js.js"),
        ("js_warm", "hello_js_warm.js"),
        ("python_fresh", "hello_py.py"),
        ("python_warm", "hello_py_warm.py"),
    ],
)
def test_hello(  # noqa: PLR0917 - pytest fixtures
    benchmark: BenchmarkFixture,
    bench_sandbox: Sandbox,
    hello_project: Path,
    medians: dict[str, float],
    name: str,
    file: str,
) -> None:
    """Worker.handle: encode the request, get an instance (fresh or warm), run the guest, decode the response."""
    worker = Worker(hello_project / file, root=hello_project, sandbox=bench_sandbox)
    try:
        assert worker.handle(REQUEST).body == b"Hello, world!"
        response = benchmark(worker.handle, REQUEST)
    finally:
        worker.close()
    assert (response.status, response.body) == (200, b"Hello, world!")
    record(benchmark, medians, name)


def test_js_new_instance(benchmark: BenchmarkFixture, bench_sandbox: Sandbox, hello_project: Path) -> None:
    """For the record (no target): a JavaScript request on a brand-new instance (the engine's, overwritten with the
    worker's image), as when a burst needs more instances than were recycled; `js_fresh` is the usual case, a recycled
    instance reset to the image."""
    from wws.runtimes.javascript import JavaScriptInstance, JavaScriptProgram  # noqa: PLC0415

    worker = Worker(hello_project / "hello_js.js", root=hello_project, sandbox=bench_sandbox)
    program = worker.load()._program  # type: ignore[union-attr]
    assert isinstance(program, JavaScriptProgram)

    def cold() -> bytes:
        instance = JavaScriptInstance(program)
        try:
            return instance.handle(REQUEST).body
        finally:
            instance.drop()

    try:
        assert benchmark(cold) == b"Hello, world!"
    finally:
        worker.close()


def test_ratios_to_the_floor_meet_the_targets(medians: dict[str, float]) -> None:
    if not {"floor", *TARGETS} <= set(medians):
        pytest.skip("no timings to compare (run without --benchmark-disable, and the whole file)")
    floor = medians["floor"]
    ratios = {name: medians[name] / floor for name in TARGETS}
    report = ", ".join(
        f"{name} {medians[name] * 1e6:.0f} us = {ratio:.2f}x (target <= {TARGETS[name]}x)"
        for name, ratio in ratios.items()
    )
    print(f"\nfloor median {floor * 1e6:.1f} us; {report}")
    assert all(ratios[name] <= TARGETS[name] for name in TARGETS), report
