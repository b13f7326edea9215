"""The `wws` click group."""

from __future__ import annotations

import click

from wws import __version__
from wws.cli.new import new
from wws.cli.pipeline import pipeline
from wws.cli.run import run
from wws.cli.serve import serve
from wws.logs import configure_logging


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wws")
@click.option("-v", "--verbose", is_flag=True, help="Log what wws does (loading, caching) as well as guest output.")
def cli(verbose: bool) -> None:
    """Serve a folder of JavaScript, Python and WebAssembly handlers, each in a WebAssembly sandbox."""
    configure_logging("text", verbose=verbose)


cli.add_command(new)
cli.add_command(pipeline)
cli.add_command(run)
cli.add_command(serve)


def main() -> None:
    cli(prog_name="wws")
