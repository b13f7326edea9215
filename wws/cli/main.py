"""The `wws` click group, and the one place where wws's errors become the command line's output and exit codes."""

from __future__ import annotations

from importlib import metadata
from typing import Any

import click

from wws import __version__
from wws.cli.new import new
from wws.cli.pipeline import pipeline
from wws.cli.run import run
from wws.cli.serve import serve
from wws.errors import WwsError
from wws.logs import configure_logging
from wws.runtimes.javascript import engine as javascript_engine
from wws.runtimes.python import engine as python_engine


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


def _print_version(ctx: click.Context, _option: click.Parameter, value: bool) -> None:
    """wws's version, wasmtime's, and each engine's version and sha256 (what a wheel carries, or what is built)."""
    if not value or ctx.resilient_parsing:
        return
    click.echo(f"wws {__version__}")
    click.echo(f"wasmtime {metadata.version('wasmtime')}")
    click.echo(f"JavaScript engine: {javascript_engine.provenance()}")
    click.echo(f"Python engine: {python_engine.provenance()}")
    ctx.exit()


@click.group(cls=WwsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version, wasmtime's and the engines' (with their sha256), and exit.",
)
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
