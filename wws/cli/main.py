"""The `wws` click group, and the one place where wws's errors become the command line's output and exit codes."""

from __future__ import annotations

from typing import Any

import click

from wws import __version__
from wws.cli.new import new
from wws.cli.pipeline import pipeline
from wws.cli.run import run
from wws.cli.serve import serve
from wws.errors import WwsError
from wws.logs import configure_logging


class WwsGroup(click.Group):
    """A click group that shows a wws error raised by any of its commands as click shows its own: the message on
    stderr, the error's exit code, no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except WwsError as exc:
            failure = click.ClickException(exc.format_message())
            failure.exit_code = exc.exit_code
            raise failure from exc


@click.group(cls=WwsGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
