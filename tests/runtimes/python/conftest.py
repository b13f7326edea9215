"""Python test workers: `py_worker(source, config=..., files={...})` writes a project and loads the worker."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runtimes.support import MakeWorker, get, get_json, source_workers
from wws.sandbox.engine import Sandbox

MakePyWorker = MakeWorker
__all__ = ["MakePyWorker", "get", "get_json"]


@pytest.fixture
def py_worker(tmp_path: Path, sandbox: Sandbox) -> Iterator[MakePyWorker]:
    """py_worker(source, config=None, name="index.py", files={"_lib/a.py": "..."}) → a loaded Worker.

    `source`, the files and the config are dedented, so tests can indent them with the test."""
    with source_workers(tmp_path, sandbox, "index.py", textwrap.dedent) as make:
        yield make
