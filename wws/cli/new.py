"""`wws new NAME --lang js|py|rust [--route PATH]`: start a worker from a template that serves as it is."""

from __future__ import annotations

from pathlib import Path

import click

from wws.scaffold import LANGUAGES, build_rust, plan, write


@click.command()
@click.argument("name")
@click.option("--lang", "language", type=click.Choice(sorted(LANGUAGES)), required=True, help="The worker's language.")
@click.option("--route", default=None, help="The URL path it serves, e.g. '/api/users/[id]' (default: /NAME).")
@click.option(
    "--dir",
    "project",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    show_default=True,
    help="The project folder (the one you serve).",
)
def new(name: str, language: str, route: str | None, project: Path) -> None:
    """Create a worker and its config; a Rust worker is built at once (its crate goes to _src/NAME/)."""
    scaffold = plan(name, language, route)
    for path in write(project, scaffold):
        click.echo(f"created {path}")
    if scaffold.crate is not None:
        click.echo(f"building {scaffold.crate} with cargo (the first build takes about 20 s)...")
        build_rust(project, scaffold.crate)
        click.echo(f"built {project / scaffold.handler}; after an edit, run {project / scaffold.crate / 'build.sh'}")
    click.echo(f"serve it: wws serve {project}, then open http://127.0.0.1:8080{route or '/' + name}")
