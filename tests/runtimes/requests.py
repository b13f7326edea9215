"""Requests to test workers, shared by the language runtimes' tests."""

from __future__ import annotations

import json
from typing import Any

from wws.messages import WorkerRequest, WorkerResponse
from wws.worker.worker import Worker


def get(worker: Worker, url: str = "http://localhost/", **fields: Any) -> WorkerResponse:
    return worker.handle(WorkerRequest(url, **fields))


def get_json(worker: Worker, url: str = "http://localhost/", **fields: Any) -> Any:
    response = get(worker, url, **fields)
    assert response.status == 200, response.body
    return json.loads(response.body)
