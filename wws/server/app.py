"""`create_app(path)`: an ASGI application (Starlette) serving every worker under `path`, for any ASGI server.

Guest code runs in the thread pool, never on the event loop. A worker that fails to load is logged and not served;
the others are. A failing request gets the status its error deserves and a message without host details.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route as StarletteRoute

from wws.errors import LoadError, WorkerError, WwsError
from wws.messages import WorkerRequest
from wws.routing import Router, discover_routes
from wws.runtimes.registry import RuntimeRegistry, default_registry
from wws.sandbox.engine import Sandbox
from wws.worker.worker import Worker

log = logging.getLogger(__name__)
access_log = logging.getLogger("wws.access")

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class Project:
    """The workers of one folder and the router over them."""

    def __init__(
        self,
        root: Path,
        *,
        sandbox: Sandbox | None = None,
        registry: RuntimeRegistry | None = None,
        ignore: Iterable[str] = (),
    ):
        if not root.is_dir():
            raise LoadError(root, "not a folder")
        self.root = root.resolve()
        registry = registry or default_registry()
        self.workers: dict[str, Worker] = {}
        routes = []
        for route in discover_routes(self.root, registry.extensions(), ignore):
            try:
                self.workers[route.pattern] = Worker(route.file, root=self.root, sandbox=sandbox, registry=registry)
            except WwsError as exc:
                log.error("not serving %s: %s", route.file, exc.format_message())
                continue
            routes.append(route)
        self.router = Router(routes)

    def close(self) -> None:
        for worker in self.workers.values():
            worker.close()


def create_app(
    path: Path | str, *, sandbox: Sandbox | None = None, debug: bool = False, ignore: Iterable[str] = ()
) -> Starlette:
    """The ASGI app for the project at `path`. Discovers routes now; prepares and loads each worker on first use."""
    project = Project(Path(path), sandbox=sandbox, ignore=ignore)

    async def endpoint(request: Request) -> Response:
        request_id = uuid.uuid4().hex[:12]
        started = time.perf_counter()
        response, worker_name = await _serve(project, request, request_id, debug)
        access_log.info(
            "%s %s %s %d %.1fms %s",
            request_id,
            request.method,
            request.url.path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
            worker_name,
        )
        return response

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        project.close()  # stores alive at interpreter exit upset wasmtime

    app = Starlette(routes=[StarletteRoute("/{path:path}", endpoint, methods=METHODS)], lifespan=lifespan)
    app.state.project = project
    return app


async def _serve(project: Project, request: Request, request_id: str, debug: bool) -> tuple[Response, str]:
    matched = project.router.match(request.url.path)
    if matched is None:
        return PlainTextResponse("Not Found", status_code=404), "-"
    route, params = matched
    worker = project.workers[route.pattern]
    worker_request = WorkerRequest(
        url=str(request.url),
        method=request.method,
        headers=tuple((name.decode("latin-1").lower(), value.decode("latin-1")) for name, value in request.headers.raw),
        body=await request.body(),
        params=params,
    )
    try:
        result = await run_in_threadpool(worker.handle, worker_request)
    except WorkerError as exc:
        log.error("%s %s", request_id, exc.format_message())
        text = exc.format_message() if debug else exc.public_message
        return PlainTextResponse(text, status_code=exc.status), worker.relative_path
    except LoadError as exc:
        log.error("%s %s", request_id, exc.format_message())
        text = exc.format_message() if debug else "Internal Server Error: the worker failed to load"
        return PlainTextResponse(text, status_code=500), worker.relative_path
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in result.headers]
    response = Response(result.body, status_code=result.status)
    response.raw_headers = [*headers, (b"content-length", str(len(result.body)).encode())]
    return response, worker.relative_path
