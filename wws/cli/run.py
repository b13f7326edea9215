"""`wws run FILE [PATH]`: one request through one worker, printed. The quickest way to try a handler."""

from __future__ import annotations

import sys
from pathlib import Path, PurePosixPath

import click

from wws.cli.arguments import read_data
from wws.errors import WorkerError
from wws.kv import DEFAULT_KV, open_kv
from wws.messages import WorkerRequest
from wws.routing import Route, Router, route_for
from wws.worker.prepare import find_project_root
from wws.worker.worker import Worker


def _parse_header(text: str) -> tuple[str, str]:
    name, separator, value = text.partition(":")
    if not separator or not name.strip():
        raise click.BadParameter(f"expected 'Name: value', got {text!r}", param_hint="--header")
    return name.strip().lower(), value.strip()


def _params(worker: Worker, path: str) -> dict[str, str]:
    """The params the server would give: `api/[id].wasm` run with `/api/7` gets {"id": "7"}."""
    route = Route(route_for(PurePosixPath(worker.relative_path)), worker.path)
    matched = Router([route]).match(path.partition("?")[0])
    return matched[1] if matched else {}


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("path", default="/")
@click.option("-X", "--method", default=None, help="HTTP method (default GET, or POST with --data).")
@click.option("-H", "--header", "headers", multiple=True, help="A request header 'Name: value' (repeatable).")
@click.option("-d", "--data", default=None, help="Request body, or @FILE to read it from a file (@- for stdin).")
@click.option("--host", default="localhost:8080", show_default=True, help="Host of the URL the worker sees.")
@click.option("-i", "--include/--no-include", default=True, help="Print status and headers (the default).")
def run(  # noqa: PLR0917 - click passes every option
    file: Path,
    path: str,
    method: str | None,
    headers: tuple[str, ...],
    data: str | None,
    host: str,
    include: bool,
) -> None:
    """Run one request through the worker FILE and print its response.

    PATH is the request path with its query (default /). The exit code is 1 when the worker fails.
    """
    if not path.startswith("/"):
        path = "/" + path
    body = b"" if data is None else read_data(data, "--data")
    header_pairs = tuple(_parse_header(header) for header in headers)
    if not any(name == "host" for name, _ in header_pairs):
        header_pairs = (("host", host), *header_pairs)
    root = find_project_root(file.resolve())
    kv = open_kv(DEFAULT_KV, root)  # the project's own store, as `wws serve` uses it
    worker = Worker(file, root=root, kv=kv)
    try:
        request = WorkerRequest(
            url=f"http://{host}{path}",
            method=(method or ("POST" if data is not None else "GET")).upper(),
            headers=header_pairs,
            body=body,
            params=_params(worker, path),
        )
        response = worker.handle(request)
    except WorkerError as exc:
        raise click.ClickException(f"{exc}\n(the client would get HTTP {exc.status})") from exc
    finally:
        worker.close()
        kv.close()
    if include:
        click.echo(f"HTTP {response.status}")
        for name, value in response.headers:
            click.echo(f"{name}: {value}")
        click.echo("")
    sys.stdout.flush()
    sys.stdout.buffer.write(response.body)
    if response.body and not response.body.endswith(b"\n") and sys.stdout.isatty():
        sys.stdout.buffer.write(b"\n")
    sys.stdout.flush()
