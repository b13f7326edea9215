"""JavaScript test workers: `js_worker(source, config=..., files={...})` writes a project and loads the worker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.runtimes.requests import get, get_json
from wws.config.loader import load_worker_config
from wws.sandbox.engine import Sandbox
from wws.worker.worker import Worker

MakeJsWorker = Callable[..., Worker]
__all__ = ["MakeJsWorker", "get", "get_json"]


@pytest.fixture
def js_worker(tmp_path: Path, sandbox: Sandbox) -> Iterator[MakeJsWorker]:
    """js_worker(source, config=None, name="index.js", files={"_lib/a.js": "..."}) → a loaded Worker."""
    workers: list[Worker] = []

    def make(
        source: str, config: str | None = None, name: str = "index.js", files: dict[str, str] | None = None
    ) -> Worker:
        handler = tmp_path / name
        handler.parent.mkdir(parents=True, exist_ok=True)
        handler.write_text(source)
        for relative, text in (files or {}).items():
            (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / relative).write_text(text)
        if config is not None:
            handler.with_suffix(".toml").write_text(config)
        worker = Worker(handler, load_worker_config(handler, project_root=tmp_path), root=tmp_path, sandbox=sandbox)
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        worker.close()
