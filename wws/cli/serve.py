"""`wws serve [PATH]`: serve every worker under PATH over HTTP (uvicorn)."""

from __future__ import annotations

from pathlib import Path

import click
import uvicorn

from wws.server.app import create_app


@click.command()
@click.argument("path", default=".", type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@click.option("--ignore", multiple=True, help="Glob of project paths not to serve (repeatable).")
@click.option("--debug", is_flag=True, help="Show error details to clients (never in production).")
def serve(path: Path, host: str, port: int, ignore: tuple[str, ...], debug: bool) -> None:
    """Serve every worker under PATH (default: the current folder): each handler file is a route."""
    if not path.is_dir():
        raise click.ClickException(f"{path} is not a folder")
    app = create_app(path, debug=debug, ignore=ignore)
    project = app.state.project
    if not project.workers:
        raise click.ClickException(f"no worker to serve under {path}")
    click.echo(f"Serving {path.resolve()}")
    for route in project.router.routes:
        worker = project.workers[route.pattern]
        click.echo(f"  {route.pattern:30} -> {worker.relative_path} ({worker.runtime.language})")
    click.echo(f"Listening on http://{host}:{port}")
    uvicorn.run(app, host=host, port=port, log_level="warning")
