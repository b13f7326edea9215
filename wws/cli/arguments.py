"""Option values the commands share: text given inline, or `@FILE` to read it from a file (`@-` for stdin)."""

from __future__ import annotations

import sys
from pathlib import Path

import click


def read_data(value: str, param_hint: str) -> bytes:
    """`value` as bytes, or the contents of the file it names with `@FILE` (`@-`: stdin)."""
    if not value.startswith("@"):
        return value.encode()
    source = value[1:]
    try:
        return sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise click.BadParameter(f"cannot read {source}: {exc.strerror}", param_hint=param_hint) from exc
