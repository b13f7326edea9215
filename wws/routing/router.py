"""The pure router: route patterns from file paths, and which route a request path matches.

Rules of the original Wasm Workers Server: `index` maps to its folder; `[id]` matches one segment; `[...slug]`
matches the rest ("a/b/c"). Priority: static > dynamic (same depth; the leftmost static segment wins) > catch-all
(the deeper wins). A root catch-all also matches `/`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath


@dataclass(frozen=True, slots=True)
class Route:
    pattern: str
    """The URL pattern, e.g. `/api/[id]` or `/docs/[...slug]`."""
    file: Path
    segments: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "segments", tuple(part for part in self.pattern.split("/") if part))

    @property
    def catch_all(self) -> bool:
        return bool(self.segments) and _is_catch_all(self.segments[-1])

    def priority(self) -> tuple[int, int, tuple[int, ...]]:
        """Smaller wins: non-catch-all first, deeper catch-all first, then static segments from the left."""
        shape = tuple(0 if not _is_param(part) else 1 for part in self.segments)
        return (1, -len(self.segments), shape) if self.catch_all else (0, 0, shape)

    def match(self, parts: list[str]) -> dict[str, str] | None:
        """The params if `parts` (the request path split on '/') matches this route, else None."""
        params: dict[str, str] = {}
        fixed = self.segments[:-1] if self.catch_all else self.segments
        if self.catch_all:
            rest = parts[len(fixed) :]
            if len(parts) < len(fixed) or (not rest and fixed):
                return None
        elif len(parts) != len(fixed):
            return None
        for part, segment in zip(parts, fixed, strict=False):
            if _is_param(segment):
                params[segment[1:-1]] = part
            elif part != segment:
                return None
        if self.catch_all:
            params[self.segments[-1][4:-1]] = "/".join(parts[len(fixed) :])
        return params


def route_for(relative: PurePosixPath) -> str:
    """`api/[id].js` → `/api/[id]`; `blog/index.py` → `/blog`; `index.wasm` → `/`."""
    parts = [*relative.parent.parts, relative.stem]
    if parts[-1] == "index":
        parts.pop()
    return "/" + "/".join(part for part in parts if part not in ("", "."))


class Router:
    """Routes sorted once by priority; `match` walks them in that order, after one look-up among the routes without
    parameters: a route that is all static segments and matches a path wins over every other (a project of a
    thousand files pays no walk for its static routes)."""

    def __init__(self, routes: list[Route]):
        self.routes = sorted(routes, key=Route.priority)
        self._static = {route.segments: route for route in self.routes if not any(map(_is_param, route.segments))}

    def match(self, path: str) -> tuple[Route, dict[str, str]] | None:
        parts = [part for part in path.split("/") if part]
        static = self._static.get(tuple(parts))
        if static is not None:
            return static, {}
        for route in self.routes:
            params = route.match(parts)
            if params is not None:
                return route, params
        return None


def _is_param(segment: str) -> bool:
    return segment.startswith("[") and segment.endswith("]")


def _is_catch_all(segment: str) -> bool:
    return segment.startswith("[...") and segment.endswith("]")
