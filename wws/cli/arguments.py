"""Option values the commands share: text given inline, or `@FILE` to read it from a file (`@-` for stdin); the URL
of a database."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from wws.config.loader import check_database_url


def read_data(value: str, param_hint: str) -> bytes:
    """`value` as bytes, or the contents of the file it names with `@FILE` (`@-`: stdin)."""
    if not value.startswith("@"):
        return value.encode()
    source = value[1:]
    try:
        return sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise click.BadParameter(f"cannot read {source}: {exc.strerror}", param_hint=param_hint) from exc


def database_url(value: str | None) -> str | None:
    """A `--…-db` option: a postgresql:// (or sqlite:///) URL, checked before anything starts."""
    if value is not None:
        check_database_url(value, click.BadParameter)
    return value
