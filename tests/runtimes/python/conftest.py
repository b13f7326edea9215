"""Python test workers: `py_worker(source, config=..., files={...})` writes a project and loads the worker."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.runtimes.requests import get, get_json
from wws.config.loader import load_worker_config
from wws.sandbox.engine import Sandbox
from wws.worker.worker import Worker

MakePyWorker = Callable[..., Worker]
__all__ = ["MakePyWorker", "get", "get_json"]


@pytest.fixture
def py_worker(tmp_path: Path, sandbox: Sandbox) -> Iterator[MakePyWorker]:
    """py_worker(source, config=None, name="index.py", files={"_lib/a.py": "..."}) → a loaded Worker.

    `source` and the files are dedented, so tests can indent them with the test."""
    workers: list[Worker] = []

    def make(
        source: str, config: str | None = None, name: str = "index.py", files: dict[str, str] | None = None
    ) -> Worker:
        handler = tmp_path / name
        handler.parent.mkdir(parents=True, exist_ok=True)
        handler.write_text(textwrap.dedent(source))
        for relative, text in (files or {}).items():
            (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / relative).write_text(textwrap.dedent(text))
        if config is not None:
            handler.with_suffix(".toml").write_text(textwrap.dedent(config))
        worker = Worker(handler, load_worker_config(handler, project_root=tmp_path), root=tmp_path, sandbox=sandbox)
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        worker.close()
