"""Shared fixtures: test workers built from source (C with clang + wasi-libc, WAT with wasmtime), a sandbox whose
compiled-module cache lives in a temporary folder, and a factory for workers in throwaway projects."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import wasmtime

from wws.config.loader import load_worker_config
from wws.sandbox.engine import Sandbox
from wws.worker.worker import Worker

NATIVE_SOURCES = Path(__file__).parent / "fixtures" / "native"
DEBIAN_CARGO = Path("/usr/bin/cargo")


def compile_c(source: Path, output: Path, *extra: str) -> Path:
    clang = shutil.which("clang")
    if clang is None:
        pytest.fail(
            "clang is not installed: run `.ci/run` once, or `apt-get install clang lld wasi-libc "
            "libclang-rt-14-dev-wasm32`"
        )
    subprocess.run(
        [clang, "--target=wasm32-wasi", "-O2", *extra, str(source), "-o", str(output)],
        check=True,
        capture_output=True,
    )
    return output


def cargo_build(crate: Path, target_dir: Path, *arguments: str) -> Path:
    """Build a crate of the repository's Cargo workspace for wasm32-wasi with Debian's cargo, as
    scripts/build-examples.sh does (so the same bytes); returns the folder of the release artifacts."""
    if not DEBIAN_CARGO.exists():
        pytest.fail(
            "Debian's Rust is not installed: run `.ci/run` once, or `apt-get install rustc cargo "
            "libstd-rust-dev-wasm32 librust-serde-json-dev librust-base64-dev`"
        )
    environ = {**os.environ, "CARGO_TARGET_DIR": str(target_dir)}
    result = subprocess.run(
        [str(DEBIAN_CARGO), "build", "--release", "--quiet", *arguments],
        cwd=crate,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"cargo build failed in {crate}:\n{result.stderr}")
    return target_dir / "wasm32-wasi" / "release"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """One PostgreSQL server for the session (see `running_postgres`): its URL, without a database name."""
    with running_postgres() as url:
        yield url.rsplit("/", 1)[0]


@pytest.fixture
def postgres_url(postgres_server: str, request: pytest.FixtureRequest) -> str:
    """The URL of a database of its own for this test, on the session's server (DBOS creates it on first use)."""
    name = "t_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:50] + f"_{os.getpid()}"
    return f"{postgres_server}/{name}"


def postgres_binaries() -> Path | None:
    """The folder of Debian's PostgreSQL server programs (`initdb`, `pg_ctl`), the newest installed; None if none."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda path: int(path.parts[-3]))
    return found[-1].parent if found else None


@contextlib.contextmanager
def running_postgres() -> Iterator[str]:
    """A real PostgreSQL server (Debian's package) in a throwaway folder on a free port, trusting local connections,
    fsync off (a test loses nothing): its URL, for a database `wws` that DBOS creates on first use."""
    with postgres_instance() as server:
        yield server.url


@dataclass
class PostgresServer:
    """A PostgreSQL server of the tests', which a test may stop (as `pg_ctl stop -m fast` does) and start again."""

    url: str
    control: list[str]
    """`pg_ctl -D <data>` (as the server's user), to which `stop`/`start` add their arguments."""
    options: str
    log: Path

    def stop(self) -> None:
        subprocess.run([*self.control, "-m", "fast", "-w", "stop"], check=True, capture_output=True)

    def start(self) -> None:
        started = subprocess.run(
            [*self.control, "-o", self.options, "-l", str(self.log), "-w", "start"],
            check=False,
            capture_output=True,
            text=True,
        )
        if started.returncode != 0:
            pytest.fail(
                f"PostgreSQL did not start: {started.stderr}\n{self.log.read_text() if self.log.exists() else ''}"
            )


@contextlib.contextmanager
def postgres_instance() -> Iterator[PostgresServer]:
    """A real PostgreSQL server of its own (see `running_postgres`), stopped and removed at the end."""
    binaries = postgres_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; .ci/run installs it)")
    folder = Path(tempfile.mkdtemp(prefix="wws-postgres-"))
    # initdb refuses to run as root: then the server runs as Debian's `postgres` user, in a folder it owns.
    as_server = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    if as_server:
        shutil.chown(folder, "postgres", "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = folder / "data"
    subprocess.run(
        [*as_server, str(binaries / "initdb"), "-D", str(data), "-U", "wws", "--auth=trust", "-E", "UTF8", "--no-sync"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    server = PostgresServer(
        f"postgresql://wws@127.0.0.1:{port}/wws",
        [*as_server, str(binaries / "pg_ctl"), "-D", str(data)],
        options,
        folder / "server.log",
    )
    server.start()
    try:
        yield server
    finally:
        subprocess.run([*server.control, "-m", "immediate", "stop"], check=False, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def cargo_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cargo target folder for the session: the kit's dependencies compile once for every Rust test."""
    return tmp_path_factory.mktemp("cargo-target")


@pytest.fixture(scope="session")
def native_modules(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every fixture in tests/fixtures/native built once per session: name (without extension) → .wasm path."""
    out = tmp_path_factory.mktemp("native-modules")
    built = {}
    for source in sorted(NATIVE_SOURCES.iterdir()):
        target = out / f"{source.stem}.wasm"
        if source.suffix == ".c":
            reactor = ("-mexec-model=reactor",) if source.stem.endswith("_reactor") else ()
            built[source.stem] = compile_c(source, target, *reactor)
        elif source.suffix == ".wat":
            target.write_bytes(wasmtime.wat2wasm(source.read_text()))
            built[source.stem] = target
    return built


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    box = Sandbox(cache_folder=tmp_path_factory.mktemp("module-cache"))
    yield box
    box.close()


MakeWorker = Callable[..., Worker]


@pytest.fixture
def make_worker(tmp_path: Path, native_modules: dict[str, Path], sandbox: Sandbox) -> Iterator[MakeWorker]:
    """make_worker("echo", config="...toml...", name="api/echo.wasm") → a Worker in a fresh project folder."""
    workers: list[Worker] = []

    def make(module: str, config: str | None = None, name: str | None = None) -> Worker:
        handler = tmp_path / (name or f"{module}.wasm")
        handler.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(native_modules[module], handler)
        if config is not None:
            handler.with_suffix(".toml").write_text(config)
        worker = Worker(handler, load_worker_config(handler), root=tmp_path, sandbox=sandbox)
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        worker.close()


def pytest_configure(config: pytest.Config) -> None:
    """Keep the per-user compiled-module cache out of the tests: point it at a throwaway folder."""
    os.environ.setdefault("WWS_CACHE_DIR", tempfile.mkdtemp(prefix="wws-test-cache-"))


@contextlib.contextmanager
def running_redis(folder: Path, port: int | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real redis-server (Debian's package) on a free port (or `port`), with nothing saved to disk: (URL,
    process)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run installs it)")
    if port is None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    log = folder / "redis.log"
    process = subprocess.Popen([*command, "--dir", str(folder), "--logfile", str(log)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"redis-server did not start: {log.read_text() if log.exists() else 'no log'}")
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server for the session."""
    with running_redis(tmp_path_factory.mktemp("redis")) as (url, _):
        yield url


@pytest.fixture(scope="session")
def origin() -> Iterator[str]:
    """Base URL of a local HTTP origin (see tests/origin.py)."""
    from tests.origin import running_origin  # noqa: PLC0415 - only the tests that fetch need it

    with running_origin() as base:
        yield base
