"""Which files a JavaScript worker is made of: its handler and the local modules it imports, transitively.

Only static, relative specifiers count (`import x from "./lib.js"`, `export * from "../_shared/a.js"`,
`import("./lazy.js")`): a worker may import files beside it and from `_`-prefixed folders. The scan is lexical, so a
specifier inside a comment or a string may add a file that is never imported: harmless (it is only copied). A
specifier that leaves the worker's folder, or names no file, is left for the engine to report when it loads.
"""

from __future__ import annotations

import re
from pathlib import Path

_SPECIFIER = re.compile(r"""(?:\bfrom|\bimport)\s*\(?\s*(["'])(\.{1,2}/[^"'\n]+)\1""")
MAX_FILES = 1000
"""A worker made of more files than this is refused: a cycle of generated files should not fill the disk."""


def local_imports(handler: Path) -> list[Path]:
    """The handler, then every file under its folder reachable from it by relative imports (in discovery order)."""
    root = handler.parent.resolve()
    found = [handler]
    seen = {handler.resolve()}
    queue = [handler]
    while queue:
        current = queue.pop(0)
        try:
            text = current.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for match in _SPECIFIER.finditer(text):
            target = (current.parent / match.group(2)).resolve()
            if target in seen or not target.is_file() or not target.is_relative_to(root):
                continue
            seen.add(target)
            found.append(handler.parent / target.relative_to(root))
            queue.append(target)
            if len(found) > MAX_FILES:
                raise ValueError(f"imports more than {MAX_FILES} files")
    return found
