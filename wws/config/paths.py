"""Where wws keeps files outside a project: the per-user cache of compiled engine modules."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """`$WWS_CACHE_DIR`, else `$XDG_CACHE_HOME/wws`, else `~/.cache/wws`.

    Per user rather than per project, so an engine compiled once (seconds for the bigger interpreters) serves
    every project on the machine.
    """
    env = os.environ if environ is None else environ
    if env.get("WWS_CACHE_DIR"):
        return Path(env["WWS_CACHE_DIR"])
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "wws"
