"""Test workers written from source into throwaway projects, and requests to them: shared by the language
runtimes' tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from wws.config.loader import load_worker_config
from wws.messages import WorkerRequest, WorkerResponse
from wws.sandbox.engine import Sandbox
from wws.worker.worker import Worker

MakeWorker = Callable[..., Worker]


@contextmanager
def source_workers(
    project: Path, sandbox: Sandbox, default_name: str, shape: Callable[[str], str] = str
) -> Iterator[MakeWorker]:
    """make(source, config=None, name=default_name, files={"_lib/a.js": "..."}) → a Worker in `project`, its
    texts passed through `shape` first; every worker made is closed at the end."""
    workers: list[Worker] = []

    def make(
        source: str, config: str | None = None, name: str = default_name, files: dict[str, str] | None = None
    ) -> Worker:
        handler = project / name
        handler.parent.mkdir(parents=True, exist_ok=True)
        handler.write_text(shape(source))
        for relative, text in (files or {}).items():
            (project / relative).parent.mkdir(parents=True, exist_ok=True)
            (project / relative).write_text(shape(text))
        if config is not None:
            handler.with_suffix(".toml").write_text(shape(config))
        worker = Worker(handler, load_worker_config(handler, project_root=project), root=project, sandbox=sandbox)
        workers.append(worker)
        return worker

    try:
        yield make
    finally:
        for worker in workers:
            worker.close()


def get(worker: Worker, url: str = "http://localhost/", **fields: Any) -> WorkerResponse:
    return worker.handle(WorkerRequest(url, **fields))


def get_json(worker: Worker, url: str = "http://localhost/", **fields: Any) -> Any:
    response = get(worker, url, **fields)
    assert response.status == 200, response.body
    return json.loads(response.body)
