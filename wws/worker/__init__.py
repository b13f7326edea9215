"""Workers: a handler file + its config → a prepared folder → `handle(request) -> response`."""

from wws.messages import WorkerRequest, WorkerResponse
from wws.worker.worker import Worker

__all__ = ["Worker", "WorkerRequest", "WorkerResponse"]
