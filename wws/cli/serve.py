"""`wws serve [PATH]`: serve every worker under PATH over HTTP (uvicorn), in one process or several."""

from __future__ import annotations

import dataclasses
import json
import os
import resource
from collections.abc import Sequence
from pathlib import Path

import click
from starlette.applications import Starlette

from wws.cli.arguments import database_url
from wws.config.loader import load_http_limits
from wws.kv import DEFAULT_KV
from wws.logs import LOG_FORMATS, LogFormat, configure_logging
from wws.pipelines.catalog import PIPELINES_FOLDER, PIPELINES_PATH, has_pipelines
from wws.server.app import create_app, normalise_prefix
from wws.server.http import exit_with_supervisor, run_server
from wws.server.project import Project

MAX_PROCESSES = 256

OPTIONS_VARIABLE = "WWS_SERVE_OPTIONS"
"""How `--workers N` hands the options to each server process (uvicorn starts them from an import string)."""
SUPERVISOR_VARIABLE = "WWS_SERVE_SUPERVISOR"
"""The process id of the process that starts them, so that they stop when it dies."""


def processes(value: str) -> int | None:
    """`--workers`: a number of processes, or None for `auto`."""
    if value == "auto":
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_PROCESSES:
        raise click.BadParameter(f"{value!r} is neither auto nor a number from 1 to {MAX_PROCESSES}")
    return int(value)


def usable_cores() -> int:
    """The cores this process may run on (its affinity, which containers and `taskset` narrow)."""
    return max(1, min(MAX_PROCESSES, len(os.sched_getaffinity(0))))


@click.command()
@click.argument("path", default=".", type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--prefix", default="", help="Serve everything under this URL path (e.g. /api).")
@click.option("--ignore", multiple=True, help="Glob of project paths not to serve (repeatable).")
@click.option("--cors", multiple=True, metavar="ORIGIN", help="Origin allowed from browsers, or * (repeatable).")
@click.option(
    "--workers",
    default="auto",
    show_default=True,
    callback=lambda _context, _parameter, value: processes(value),
    help="Server processes: a number (1 to 256), or auto: one per core (one with --kv memory).",
)
@click.option(
    "--kv",
    default=DEFAULT_KV,
    show_default=True,
    help="KV backend: sqlite, sqlite:PATH, memory or redis://HOST:PORT/DB.",
)
@click.option("--debug", is_flag=True, help="Show error details to clients (never in production).")
@click.option("--watch/--no-watch", default=True, show_default=True, help="Reload what changes on disk, no restart.")
@click.option("--log-format", type=click.Choice(LOG_FORMATS), default="text", show_default=True, help="Log lines.")
@click.option(
    "--max-header-bytes", type=click.IntRange(1), help="Request line and headers, at most (431 past it). [32768]"
)
@click.option("--header-timeout-ms", type=click.IntRange(1), help="Time for a request's headers (408). [10000]")
@click.option("--body-timeout-ms", type=click.IntRange(1), help="Time for a body, +1 s per 500 bytes received. [20000]")
@click.option("--keep-alive-timeout-ms", type=click.IntRange(1), help="Idle time a connection is kept. [5000]")
@click.option(
    "--idle-ms",
    type=click.IntRange(0),
    help="A worker idle this long gives its memory back, whatever its [limits] idle_ms (0: never). [60000]",
)
@click.option(
    "--pipelines-db",
    metavar="URL",
    callback=lambda _context, _parameter, value: database_url(value),
    help="Database of the pipelines' runs: postgresql://… to share them between processes and hosts. [.wws/]",
)
@click.option(
    "--pipelines-token-env",
    metavar="NAME",
    help="Variable holding the bearer token of /_wws/pipelines (default: loopback clients only).",
)
@click.pass_context
def serve(  # noqa: PLR0917 - click passes every option
    context: click.Context,
    path: Path,
    host: str,
    port: int,
    prefix: str,
    ignore: tuple[str, ...],
    cors: tuple[str, ...],
    workers: int | None,
    kv: str,
    debug: bool,
    watch: bool,
    log_format: LogFormat,
    max_header_bytes: int | None,
    header_timeout_ms: int | None,
    body_timeout_ms: int | None,
    keep_alive_timeout_ms: int | None,
    idle_ms: int | None,
    pipelines_token_env: str | None,
    pipelines_db: str | None,
) -> None:
    """Serve every worker under PATH (default: the current folder): each handler file is a route, `public/` holds
    static files.

    The HTTP limits default to the `[http]` table of PATH/wws.toml, then to the values shown."""
    verbose = bool(context.find_root().params.get("verbose"))
    configure_logging(log_format, verbose=verbose)
    _raise_open_files_limit()
    if not path.is_dir():
        raise click.ClickException(f"{path} is not a folder")
    if kv == "memory" and workers is not None and workers > 1:
        raise click.ClickException("--kv memory lives in one process: with --workers, use sqlite or redis://")
    if workers is None:
        workers = 1 if kv == "memory" else usable_cores()
    options = ServeOptions(
        str(path.resolve()),
        prefix,
        ignore,
        cors,
        kv,
        debug,
        watch,
        log_format,
        verbose,
        pipelines_token_env,
        pipelines_db,
        idle_ms,
    )
    app = options.create_app()
    project: Project = app.state.project
    if not project.workers and not project.public.folder.is_dir() and not has_pipelines(project.root):
        project.close()
        failed = f" ({len(project.failed)} could not load: see above)" if project.failed else ""
        raise click.ClickException(
            f"nothing to serve under {path}: no worker{failed}, no public/ folder, no pipelines/ folder"
        )
    _print_table(project, normalise_prefix(prefix), host, port)
    given = {
        "max_header_bytes": max_header_bytes,
        "header_timeout_ms": header_timeout_ms,
        "body_timeout_ms": body_timeout_ms,
        "keep_alive_timeout_ms": keep_alive_timeout_ms,
    }
    limits = dataclasses.replace(
        load_http_limits(path.resolve()), **{name: value for name, value in given.items() if value is not None}
    )
    if workers == 1:
        run_server(app, host=host, port=port, http_limits=limits)
        return
    project.close()  # each process opens its own project (and KV connection)
    os.environ[OPTIONS_VARIABLE] = json.dumps(dataclasses.asdict(options))
    os.environ[SUPERVISOR_VARIABLE] = str(os.getpid())
    run_server(f"{__name__}:app_from_environment", host=host, port=port, http_limits=limits, workers=workers)


OPEN_FILES = 65536
"""The open files a server process may have (if the hard limit allows): each loaded worker version holds its
prepared folder's lock file open (see `wws.worker.holds`), and the usual soft limit, 1024, is a few hundred
workers with their sockets."""


def _raise_open_files_limit() -> None:
    """Raise this process's soft limit of open files (its server processes inherit it) towards `OPEN_FILES`."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = OPEN_FILES if hard == resource.RLIM_INFINITY else min(OPEN_FILES, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


@dataclasses.dataclass(frozen=True)
class ServeOptions:
    """What each server process needs to build its app (JSON-able, for `--workers N`)."""

    path: str
    prefix: str
    ignore: Sequence[str]
    cors: Sequence[str]
    kv: str
    debug: bool
    watch: bool
    log_format: LogFormat
    verbose: bool
    pipelines_token_env: str | None = None
    pipelines_db: str | None = None
    idle_ms: int | None = None

    def create_app(self) -> Starlette:
        return create_app(
            Path(self.path),
            prefix=self.prefix,
            ignore=self.ignore,
            cors=self.cors,
            kv=self.kv,
            debug=self.debug,
            watch=self.watch,
            pipelines_token_env=self.pipelines_token_env,
            pipelines_db=self.pipelines_db,
            idle_ms=self.idle_ms,
        )


def app_from_environment() -> Starlette:
    """The app of one server process started by `--workers N`."""
    exit_with_supervisor(int(os.environ[SUPERVISOR_VARIABLE]))
    options = ServeOptions(**json.loads(os.environ[OPTIONS_VARIABLE]))
    configure_logging(options.log_format, verbose=options.verbose)
    return options.create_app()


def _print_table(project: Project, prefix: str, host: str, port: int) -> None:
    click.echo(f"Serving {project.root}")
    rows = []
    for route in project.router.routes:
        worker = project.workers[route.pattern]
        url = prefix + route.pattern if route.pattern != "/" or not prefix else prefix
        rows.append((url, worker.relative_path, worker.runtime.language))
    if project.public.folder.is_dir():
        rows.append((f"{prefix}/*", "public/", "static"))
    if has_pipelines(project.root):
        rows.append((f"{prefix}{PIPELINES_PATH}", f"{PIPELINES_FOLDER}/", "pipelines"))
    width = max((len(url) for url, _, _ in rows), default=0)
    for url, file, language in rows:
        click.echo(f"  {url:{width}}  -> {file} ({language})")
    click.echo(f"Listening on http://{host}:{port}{prefix or ''}")
