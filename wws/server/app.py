"""`create_app(path, **options)`: the ASGI application (Starlette) serving a project, for any ASGI server.

The order in which a request is answered: a path that tries to leave the tree or names a source or config file gets
404; then a static route (`/about` → `about.wasm`) → a file of `public/` (GET and HEAD) → a dynamic or catch-all
route → `public/404.html` (status 404) or a plain 404. Guest code runs in the thread pool, never on the event loop.
A failing request gets the status its error deserves and a message without host details (unless `debug`); the
operator's log line names the worker, the request id and the cause.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.datastructures import URL
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from wws.config.loader import load_pipelines_settings
from wws.errors import ClientDisconnected, HostUnavailable, LoadError, RequestTooLarge, WorkerBusy, WorkerError
from wws.kv import DEFAULT_KV
from wws.logs import flush_access_lines
from wws.messages import WorkerRequest, WorkerResponse
from wws.pipelines.catalog import PIPELINES_PATH, has_pipelines
from wws.runtimes.registry import RuntimeRegistry, default_registry
from wws.sandbox.engine import Sandbox
from wws.server.access import log_access, logged, new_request_id
from wws.server.guests import GuestThreads
from wws.server.project import Project
from wws.server.reload import ProjectWatcher
from wws.server.static import request_path
from wws.worker import idle
from wws.worker.worker import Worker

if TYPE_CHECKING:
    from wws.pipelines.http import PipelinesService

log = logging.getLogger(__name__)

CLIENT_CLOSED_REQUEST = 499
"""What the access log says when the client left mid-request (nginx's convention); nobody receives it."""


_FRAMING_HEADERS = {"content-length", "transfer-encoding", "connection", "keep-alive"}
"""Headers a worker may not set: the server frames the response itself."""


def create_app(
    path: Path | str,
    *,
    prefix: str = "",
    ignore: Iterable[str] = (),
    cors: Iterable[str] = (),
    kv: str = DEFAULT_KV,
    debug: bool = False,
    watch: bool = False,
    sandbox: Sandbox | None = None,
    registry: RuntimeRegistry | None = None,
    pipelines_token_env: str | None = None,
    pipelines_db: str | None = None,
    idle_ms: int | None = None,
) -> Starlette:
    """The ASGI app for the project at `path`. Discovers routes and reads configs now; loads each worker on first use.

    `prefix` mounts everything (routes and public files) under a path; `cors` lists the origins allowed to call it
    from browsers (`*` for any); `kv` names the KV backend (`sqlite`, `memory`, `redis://…`); `watch` reloads what
    changes on disk while the app runs (see `wws.server.reload`). A project with a `pipelines/` folder also serves
    its pipelines under `<prefix>/_wws/pipelines` (see `wws.pipelines.http`; `pipelines_token_env` names the
    variable holding their token, overriding `[pipelines] token` in `wws.toml`; `pipelines_db` the database of their
    runs, overriding `[pipelines] database`). A worker with no request for its `[limits] idle_ms` gives its memory
    back (`idle_ms`, when given, applies to every worker instead; 0: never).
    """
    project = Project(Path(path), sandbox=sandbox, registry=registry, ignore=ignore, kv=kv)
    endpoint = ProjectEndpoint(project, prefix=normalise_prefix(prefix), debug=debug)
    routes: list[BaseRoute] = []
    pipelines = None
    if has_pipelines(project.root):
        try:
            pipelines = _pipelines_service(project, sandbox, registry, pipelines_token_env, pipelines_db)
        except BaseException:
            project.close()
            raise
        routes.extend(pipelines.routes(normalise_prefix(prefix) + PIPELINES_PATH))
    routes.append(Route("/{path:path}", endpoint))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        watcher = ProjectWatcher(project) if watch else None
        if watcher is not None:
            watcher.start()
        app.state.watcher = watcher
        releasing = asyncio.create_task(release_idle_workers(project, pipelines, idle_ms))
        try:
            if pipelines is not None:
                await pipelines.start()
            yield
        finally:
            releasing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await releasing
            if watcher is not None:
                watcher.stop()
            if pipelines is not None:
                await pipelines.stop()
            endpoint.threads.close()
            project.close()  # stores alive at interpreter exit upset wasmtime
            flush_access_lines()

    middleware = []
    origins = list(cors)
    if origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=origins,
                allow_methods=["*"],
                allow_headers=["*"],
                allow_credentials="*" not in origins,
                expose_headers=["*"],
            )
        )
    pipelines_path = normalise_prefix(prefix) + PIPELINES_PATH if pipelines is not None else None
    app = ProjectApp(
        None if origins else endpoint,
        pipelines_path,
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        debug=False,
    )
    app.state.project = project
    app.state.pipelines = pipelines
    return app


async def release_idle_workers(project: Project, pipelines: PipelinesService | None, idle_ms: int | None) -> None:
    """For as long as the app runs: now and then, let the workers idle for their `idle_ms` (the routes' and the
    pipeline steps') give their memory back (on a thread: closing many instances takes a while)."""

    def workers() -> list[Worker]:
        return [*project.workers.values(), *(pipelines.steps.workers() if pipelines is not None else ())]

    while True:
        await asyncio.sleep(idle.check_seconds(workers(), idle_ms))
        try:
            await asyncio.to_thread(idle.release_idle, workers(), idle_ms)
        except Exception:  # a release that failed leaves the worker loaded: never the end of the server
            log.exception("releasing idle workers failed")


def _pipelines_service(
    project: Project,
    sandbox: Sandbox | None,
    registry: RuntimeRegistry | None,
    token_env: str | None,
    database: str | None,
) -> PipelinesService:
    """The project's pipelines, sharing its KV store and fetcher (imported here: DBOS is slow to import, and only
    projects with pipelines need it)."""
    from wws.pipelines.http import PipelinesService  # noqa: PLC0415

    settings = load_pipelines_settings(project.root)
    if token_env is not None:
        settings = dataclasses.replace(settings, token_env=token_env)
    if database is not None:
        settings = dataclasses.replace(settings, database=database)
    return PipelinesService(
        project.root,
        registry=registry or default_registry(),
        settings=settings,
        kv=project.kv,
        sandbox=sandbox,
        fetcher=project.fetcher,
    )


class ProjectApp(Starlette):
    """The project's app, with a short way for the requests its endpoint answers (routes and public files): straight
    to the endpoint, past Starlette's middleware and router, which cost a hello ~20 µs of ~300 (HTTP profile).
    Lifespan events, the pipelines' routes and, when CORS is on, every request take Starlette's way."""

    def __init__(self, endpoint: ProjectEndpoint | None, pipelines_path: str | None, **settings: Any):
        super().__init__(**settings)
        self._endpoint = endpoint
        self._pipelines = pipelines_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self._endpoint
        if endpoint is not None and scope["type"] == "http" and not self._for_pipelines(scope["path"]):
            scope["app"] = self
            await endpoint(scope, receive, send)
            return
        if scope["type"] == "http" and self._for_pipelines(scope["path"]):
            await logged(super().__call__, scope, receive, send)  # the API's requests are logged as all others
            return
        await super().__call__(scope, receive, send)

    def _for_pipelines(self, path: str) -> bool:
        return self._pipelines is not None and _under(path, self._pipelines)


def normalise_prefix(prefix: str) -> str:
    """`api/` → `/api`; `/` and `` → `` (no prefix)."""
    return "/" + prefix.strip("/") if prefix.strip("/") else ""


class ProjectEndpoint:
    """The one ASGI endpoint behind every URL: finds the worker or file for a request and answers."""

    def __init__(self, project: Project, *, prefix: str, debug: bool):
        self.project = project
        self.prefix = prefix
        self.debug = debug
        self.threads = GuestThreads()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = new_request_id()
        started = time.perf_counter()
        response, worker = await self._answer(scope, receive, request_id)
        await response(scope, receive, send)
        log_access(request_id, scope, response.status_code, started, worker)

    async def _answer(self, scope: Scope, receive: Receive, request_id: str) -> tuple[Response, str | None]:
        project = self.project
        path = request_path(scope.get("raw_path") or scope["path"].encode())
        if path is not None and self.prefix:
            path = (path[len(self.prefix) :] or "/") if _under(path, self.prefix) else None
        if path is None or project.names_a_source(path):
            return project.public.not_found(), None
        served = project.served  # one table for the whole request, whatever a reload does meanwhile
        matched = served.router.match(path)
        if matched is None or matched[1] or matched[0].catch_all:
            if scope["method"] in ("GET", "HEAD"):
                found = project.public.find(path)
                if found is not None:
                    return project.public.response(found, scope), None
            if matched is None:
                return project.public.not_found(), None
        route, params = matched
        worker = served.workers[route.pattern]
        return await self._run(worker, scope, receive, params, request_id), worker.relative_path

    async def _run(
        self, worker: Worker, scope: Scope, receive: Receive, params: dict[str, str], request_id: str
    ) -> Response:
        try:
            body = await _read_body(scope, receive, worker)
            headers = tuple((key.decode("latin-1").lower(), value.decode("latin-1")) for key, value in scope["headers"])
            request = WorkerRequest(
                url=request_url(scope),
                method=scope["method"],
                headers=headers,
                body=body,
                params=params,
                request_id=request_id,
                client=client[0] if (client := scope.get("client")) else "",
                http_version=scope.get("http_version", "1.1"),
                deadline=time.monotonic() + worker.config.limits.timeout_ms / 1000,
            )
            result = await self.threads.handle(worker, request)
        except WorkerError as exc:
            level = logging.WARNING if isinstance(exc, WorkerBusy) else logging.ERROR  # busy: the server is fine
            log.log(level, "%s [%s] %s", worker.relative_path, request_id, exc.format_message())
            text = exc.format_message() if self.debug else f"{exc.public_message} (request {request_id})"
            retry = {"retry-after": str(exc.retry_after)} if isinstance(exc, WorkerBusy | HostUnavailable) else None
            return PlainTextResponse(text, status_code=exc.status, headers=retry)
        except LoadError as exc:
            log.error("%s [%s] %s", worker.relative_path, request_id, exc.format_message())
            public = f"Internal Server Error: the worker failed to load (request {request_id})"
            return PlainTextResponse(exc.format_message() if self.debug else public, status_code=500)
        except ClientDisconnected:
            log.info("%s [%s] the client left before sending its whole body", worker.relative_path, request_id)
            return PlainTextResponse("Client Closed Request", status_code=CLIENT_CLOSED_REQUEST)
        except Exception:  # a host-side failure (a KV backend down…) answers this request, never the server
            log.exception("%s [%s] the host failed to serve this request", worker.relative_path, request_id)
            return PlainTextResponse(f"Internal Server Error (request {request_id})", status_code=500)
        return _to_http(result, scope["method"])


_URLS: dict[tuple[Any, ...], str] = {}
MAX_REMEMBERED_URLS = 1024
"""Full URLs remembered by `request_url`: a project's busy routes, not every URL ever seen (the table is emptied when
full)."""
_REMEMBERED_URL_LENGTH = 512


def request_url(scope: Scope) -> str:
    """The request's full URL, as Starlette's `URL(scope=scope)` writes it (7 µs a hello: remembered for the URLs
    that come again, as a route's do)."""
    host = next((value for name, value in scope["headers"] if name == b"host"), None)
    key = (scope.get("scheme"), scope.get("server"), host, scope["path"], scope.get("query_string"))
    url = _URLS.get(key)
    if url is None:
        url = str(URL(scope=scope))
        if len(url) <= _REMEMBERED_URL_LENGTH:
            if len(_URLS) >= MAX_REMEMBERED_URLS:
                _URLS.clear()
            _URLS[key] = url
    return url


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


async def _read_body(scope: Scope, receive: Receive, worker: Worker) -> bytes:
    """The request body, refused with `RequestTooLarge` as soon as it is known to be over the worker's cap."""
    limit = worker.config.limits.max_body_bytes
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise RequestTooLarge(worker.path, f"request body of {int(value)} bytes is over the {limit}-byte limit")
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        body += message.get("body", b"")
        if len(body) > limit:
            raise RequestTooLarge(worker.path, f"request body is over the {limit}-byte limit")
        if not message.get("more_body", False):
            break
    return bytes(body)


class WorkerAnswer(Response):
    """A worker's answer as sent: a `Response` without the header defaults it would compute and we replace."""

    def __init__(self, status: int, raw_headers: list[tuple[bytes, bytes]], body: bytes):
        self.status_code = status
        self.raw_headers = raw_headers
        self.body = body
        self.background = None


def _to_http(result: WorkerResponse, method: str) -> Response:
    """The worker's answer as sent: its headers (minus framing), its body (none for HEAD, 1xx, 204 and 304)."""
    bodiless = result.status < 200 or result.status in (204, 304)
    headers = [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in result.headers
        if name not in _FRAMING_HEADERS
    ]
    if not bodiless:
        headers.append((b"content-length", str(len(result.body)).encode()))
    return WorkerAnswer(result.status, headers, b"" if method == "HEAD" or bodiless else result.body)
