"""JavaScript test workers: `js_worker(source, config=..., files={...})` writes a project and loads the worker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runtimes.support import MakeWorker, get, get_json, source_workers
from wws.sandbox.engine import Sandbox

MakeJsWorker = MakeWorker
__all__ = ["MakeJsWorker", "get", "get_json"]


@pytest.fixture
def js_worker(tmp_path: Path, sandbox: Sandbox) -> Iterator[MakeJsWorker]:
    """js_worker(source, config=None, name="index.js", files={"_lib/a.js": "..."}) → a loaded Worker."""
    with source_workers(tmp_path, sandbox, "index.js") as make:
        yield make
