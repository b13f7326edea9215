"""Write .wws-example/: the folders wws prepares for examples/, which are all each worker's sandbox is given.

Run from the repository after building the examples:

    bash scripts/build-examples.sh && python scripts/wws-example.py

Each worker of examples/ is prepared (not loaded) as `wws serve` would, and its folder is copied to
`.wws-example/<language>/<blake3 of its inputs>/`. Text files are copied as they are. Binary files (compiled
modules) are listed in `.wws-example/README.md` by path, size and blake3 instead. Bytecode caches (`__pycache__`) are
left out: wws writes them when a worker loads, not when it is prepared. tests/test_examples.py renders the tree again
and fails when the copy in the repository is out of date.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import blake3

from wws.routing import discover_routes
from wws.runtimes.registry import default_registry
from wws.sandbox.engine import Sandbox
from wws.worker.worker import Worker

REPOSITORY = Path(__file__).resolve().parent.parent
REFRESH = "bash scripts/build-examples.sh && python scripts/wws-example.py"
ORIGIN_VARIABLE = "WWS_EXAMPLE_ORIGIN"
"""Read by the examples' configs (and hashed with them): left unset, so the tree does not depend on the shell."""
SKIPPED_FOLDERS = {"__pycache__"}


def render(project: Path, out: Path, sandbox: Sandbox) -> None:
    """Prepare every worker of `project` and write the tree of its prepared folders to `out` (replaced)."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    rows: list[str] = []
    binaries: list[str] = []
    for route in sorted(discover_routes(project, default_registry().extensions()), key=lambda item: str(item.file)):
        worker = Worker(route.file, root=project, sandbox=sandbox)
        try:
            prepared = worker.prepare()
        finally:
            worker.close()
        language = worker.runtime.language
        folder = f"{language}/{prepared.digest}"
        rows.append(f"| `{worker.relative_path}` | {language} | [`{folder[:32]}…`]({folder}/) |")
        for path in sorted(prepared.folder.rglob("*")):
            relative = path.relative_to(prepared.folder)
            if not path.is_file() or SKIPPED_FOLDERS.intersection(relative.parts):
                continue
            data = path.read_bytes()
            if _is_text(data):
                target = out / folder / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            else:
                digest = blake3.blake3(data).hexdigest()
                binaries.append(f"| `{folder[:32]}…/{relative.as_posix()}` | {len(data):,} | `{digest}` |")
    (out / "README.md").write_text(_readme(rows, binaries))


def _is_text(data: bytes) -> bool:
    if b"\0" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _readme(rows: list[str], binaries: list[str]) -> str:
    return "\n".join(
        [
            "# .wws-example: what each sandbox of examples/ is given",
            "",
            "Written by `scripts/wws-example.py`; do not edit. Refresh it with:",
            "",
            f"    {REFRESH}",
            "",
            "Before serving, wws prepares each worker into `.wws/<language>/<blake3 of its inputs>/` (its source, its",
            "language's glue, its libraries and a manifest). That folder is mounted read-only at `/src`, and it is",
            "all of the project the worker can see. This is that tree for `examples/`: text files as they are,",
            "binary files listed below by size and blake3.",
            "",
            "| worker | language | prepared folder |",
            "|---|---|---|",
            *rows,
            "",
            "## Binary files",
            "",
            "| file | bytes | blake3 |",
            "|---|---|---|",
            *binaries,
            "",
        ]
    )


def main() -> None:
    os.environ.pop(ORIGIN_VARIABLE, None)
    with tempfile.TemporaryDirectory() as cache:
        sandbox = Sandbox(cache_folder=Path(cache))
        try:
            render(REPOSITORY / "examples", REPOSITORY / ".wws-example", sandbox)
        finally:
            sandbox.close()
    print(f"wrote {REPOSITORY / '.wws-example'}", file=sys.stderr)


if __name__ == "__main__":
    main()
