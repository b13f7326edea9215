"""Write the README's CLI reference from click: `python scripts/cli-reference.py`.

The block between the two markers in README.md is the `--help` of `wws` and of each command, as click prints it
80 columns wide. tests/cli/test_reference.py fails when the README's copy differs from what click prints.
"""

from __future__ import annotations

from pathlib import Path

import click

from wws.cli.main import cli

README = Path(__file__).resolve().parent.parent / "README.md"
START = "<!-- cli-reference: written by scripts/cli-reference.py -->"
END = "<!-- end of cli-reference -->"
WIDTH = 80


def render() -> str:
    """The reference: `wws --help`, then each command's `--help`, each in a code block."""
    blocks = [_help(cli, "wws")]
    for name in sorted(cli.commands):
        blocks.append(_help(cli.commands[name], f"wws {name}"))
    return "\n".join(blocks)


def _help(command: click.Command, path: str) -> str:
    settings = {**cli.context_settings, "terminal_width": WIDTH, "max_content_width": WIDTH}
    context = click.Context(command, info_name=path, **settings)
    return f"```\n$ {path} --help\n{command.get_help(context)}\n```\n"


def replace_block(text: str, block: str) -> str:
    before, start, rest = text.partition(START)
    _old, end, after = rest.partition(END)
    if not start or not end:
        raise SystemExit(f"README.md has no '{START}' ... '{END}' block")
    return f"{before}{START}\n{block}{END}{after}"


def main() -> None:
    README.write_text(replace_block(README.read_text(), render()))
    print(f"wrote the CLI reference into {README}")


if __name__ == "__main__":
    main()
