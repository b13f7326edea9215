"""Find the handler files of a project: every file whose extension a runtime claims, minus the ignored paths."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from wws.errors import LoadError
from wws.routing.router import Route, route_for

IGNORED_FOLDERS = {"public", ".wws", "node_modules", "pipelines"}
"""Top-level folders that hold no routes: static files, wws's own, npm's, pipeline plans and their steps."""


def discover_routes(root: Path, extensions: Iterable[str], ignore: Iterable[str] = ()) -> list[Route]:
    """Routes for every handler under `root`. Ignored: `public/`, `.wws/`, `node_modules/`, `pipelines/`, any part
    starting with `_` or `.`, and paths matching an `ignore` glob. Two files for one route is an error naming both."""
    wanted = {extension.lower() for extension in extensions}
    globs = list(ignore)
    found: dict[str, Route] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or path.suffix.lower() not in wanted:
            continue
        if relative.parts[0] in IGNORED_FOLDERS or any(part.startswith(("_", ".")) for part in relative.parts):
            continue
        if any(fnmatch.fnmatch(relative.as_posix(), pattern) for pattern in globs):
            continue
        pattern = route_for(PurePosixPath(relative.as_posix()))
        if pattern in found:
            raise LoadError(path, f"route {pattern} is also served by {found[pattern].file}")
        found[pattern] = Route(pattern, path)
    return list(found.values())
