"""The pipelines of a served project over HTTP, under `/_wws/pipelines`: start runs, read them, follow their events.

    GET  /_wws/pipelines                          the plans, valid or not (with their problems)
    POST /_wws/pipelines/{id}/runs                start a run (body: its input, JSON): 202, Location
    GET  /_wws/pipelines/{id}/runs?status=&limit= the runs of a pipeline, newest first
    GET  /_wws/pipelines/runs/{run_id}            a run's record
    GET  /_wws/pipelines/runs/{run_id}/events     its events, as Server-Sent Events (Last-Event-ID resumes)
    POST /_wws/pipelines/runs/{run_id}/cancel     stop it: no new step starts, running ones are cancelled
    POST /_wws/pipelines/runs/{run_id}/steps/{step}/resolve   give a waiting wait step its data (the body)
    POST /_wws/pipelines/runs/{run_id}/rerun      run a finished run again from a step: {"from": "b"}
    GET  /_wws/pipelines/outputs/{digest}         a large step output, stored aside (see `outputs.py`)

JSON in and out; bad input gets a 4xx whose `error` says what is wrong, and starts nothing. These routes start and
steer work, so they are closed by default: without a token only loopback clients may call them (403 for others);
with one (`[pipelines] token = "$NAME"` in `wws.toml`, or `wws serve --pipelines-token-env NAME`), every request
must carry `Authorization: Bearer <token>` (401 otherwise), from wherever it comes.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from wws.config.model import PipelinesSettings
from wws.errors import ApiError, IdempotencyConflict, UnknownPipeline, WwsError
from wws.kv.base import KVStore
from wws.outbound import Fetcher
from wws.pipelines.catalog import CatalogEntry, PlanCatalog
from wws.pipelines.durable import PipelineRuns
from wws.pipelines.plan import StepType
from wws.pipelines.runner import WorkerSteps
from wws.pipelines.scheduler import RUN_STATUSES, StepStatus
from wws.pipelines.secrets import resolve as resolve_secrets
from wws.runtimes.registry import RuntimeRegistry
from wws.sandbox.engine import Sandbox

log = logging.getLogger(__name__)

MAX_IDEMPOTENCY_KEY = 255
DEFAULT_LIST_LIMIT = 50
MAX_LIST_LIMIT = 1000
MIN_TOKEN_LENGTH = 16
KEEP_ALIVE_SECONDS = 15.0
MAX_CONTROL_BYTES = 64 * 1024
"""Bodies that steer a run (a rerun's) are small."""
OUTAGE_RETRY_SECONDS = 2
"""`Retry-After` of the API's answers while the runs' database does not answer."""
OUTAGE_CHECK_SECONDS = 0.1
"""How often a request that reads looks whether the database stopped answering while it waits for it."""
RETRY_MS = 1000
"""How long an SSE client waits before it reconnects (with its Last-Event-ID)."""
_SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


class PipelinesService:
    """A project's pipelines while it is served: its plans, its durable runs and the workers of their steps."""

    def __init__(
        self,
        project: Path,
        *,
        registry: RuntimeRegistry,
        settings: PipelinesSettings,
        kv: KVStore | None = None,
        sandbox: Sandbox | None = None,
        fetcher: Fetcher | None = None,
    ):
        self.project = project.resolve()
        self.settings = settings
        self.token = _token(settings)
        self.catalog = PlanCatalog(self.project, registry)
        self.steps = WorkerSteps(self.project, kv=kv, sandbox=sandbox, fetcher=fetcher)
        self.runs = PipelineRuns(
            self.project,
            self.steps,
            database_url=settings.database,
            large_output_bytes=settings.large_output_bytes,
            runs_per_process=settings.runs_per_process,
        )
        self.started = False

    async def start(self) -> None:
        """Launch the durable runs (resuming those a dead process left unfinished) and report the plans."""
        await asyncio.to_thread(self.runs.launch)
        self.started = True
        await asyncio.to_thread(self.catalog.log_problems)

    async def stop(self) -> None:
        if self.started:
            self.started = False
            await asyncio.to_thread(self.runs.close)
        self.steps.close()

    def routes(self, base: str) -> list[BaseRoute]:
        """The routes under `base` (e.g. `/_wws/pipelines`), behind the access rule."""
        routes = [
            self._route("/", "GET", self.list_pipelines),
            self._route("/runs/{run_id}", "GET", self.show_run),
            self._route("/runs/{run_id}/events", "GET", self.run_events),
            self._route("/runs/{run_id}/cancel", "POST", self.cancel_run),
            self._route("/runs/{run_id}/steps/{step}/resolve", "POST", self.resolve_step),
            self._route("/runs/{run_id}/rerun", "POST", self.rerun),
            self._route("/outputs/{digest}", "GET", self.large_output),
            self._route("/{pipeline}/runs", "POST", self.start_run),
            self._route("/{pipeline}/runs", "GET", self.list_runs),
        ]
        index = Router([self._route(base, "GET", self.list_pipelines)])
        return [
            Route(base, AccessGuard(index, self.token)),
            Mount(base, AccessGuard(Router(routes, default=_not_found), self.token)),
        ]

    def _route(self, path: str, method: str, handler: Callable[[Request], Awaitable[Response]]) -> Route:
        """`handler` at `path`, answering 503 until the runs are launched, and its `ApiError`s as JSON."""

        async def endpoint(request: Request) -> Response:
            if not self.started:
                return _error(503, "pipelines are not running in this server yet")
            outage = self.runs.database_outage()
            if outage is not None:  # nothing started, nothing read: the client tries again later
                return _outage(outage)
            try:
                if request.method == "GET":
                    return await self._unless_outage(handler(request))
                return await handler(request)  # what it changes may be done: it is waited for, however long
            except ApiError as exc:
                return _error(exc.code, exc.message, **exc.extra)

        return Route(path, endpoint, methods=[method])

    async def _unless_outage(self, reading: Awaitable[Response]) -> Response:
        """What a request that reads answers, unless the database stops answering meanwhile: then 503 at once
        (DBOS would wait for it to come back; its thread does, the client does not)."""
        task = asyncio.ensure_future(reading)
        while True:
            done, _ = await asyncio.wait({task}, timeout=OUTAGE_CHECK_SECONDS)
            if done:
                return task.result()
            outage = self.runs.database_outage()
            if outage is not None:
                task.cancel()
                return _outage(outage)

    def _relative(self, text: str) -> str:
        return text.replace(f"{self.project}/", "")

    async def list_pipelines(self, request: Request) -> Response:
        entries = await asyncio.to_thread(self.catalog.entries)
        return JSONResponse({"pipelines": [self._describe(entry) for entry in entries]})

    def _describe(self, entry: CatalogEntry) -> dict[str, Any]:
        described: dict[str, Any] = {"id": entry.id, "file": self._relative(str(entry.file))}
        if entry.plan is not None:
            described.update(valid=True, steps=[step.id for step in entry.plan.steps])
        else:
            assert entry.error is not None
            described.update(valid=False, errors=[self._relative(problem) for problem in entry.error.problems])
        return described

    async def start_run(self, request: Request) -> Response:
        entry = await self._valid_plan(request.path_params["pipeline"])
        assert entry.plan is not None
        key = request.headers.get("idempotency-key")
        if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
            raise ApiError(400, f"the Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
        run_input = await _json_body(request, entry.plan.max_state_bytes, "the run's input")
        try:
            resolve_secrets(entry.plan, self.project)
        except WwsError as exc:
            log.error("%s", exc.format_message())
            raise ApiError(422, self._relative(exc.format_message())) from None
        try:
            started = await asyncio.to_thread(self.runs.start, entry.plan, entry.text, run_input, None, key)
        except IdempotencyConflict as exc:
            raise ApiError(409, exc.format_message(), run_id=exc.run_id) from None
        headers = {"location": f"{request.scope.get('root_path', '')}/runs/{started.run_id}"}
        if not started.created:
            headers["idempotent-replayed"] = "true"
        answer = {"run_id": started.run_id, "pipeline": entry.id, "status": started.status}
        return JSONResponse(answer, status_code=202, headers=headers)

    async def _valid_plan(self, pipeline_id: str) -> CatalogEntry:
        try:
            entry = await asyncio.to_thread(self.catalog.get, pipeline_id)
        except UnknownPipeline:
            raise ApiError(404, f"no pipeline '{pipeline_id}' (no pipelines/{pipeline_id}.json or .toml)") from None
        if entry.error is not None:
            errors = [self._relative(problem) for problem in entry.error.problems]
            raise ApiError(422, f"the plan of the pipeline '{pipeline_id}' is not valid", errors=errors)
        return entry

    async def show_run(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        record = await asyncio.to_thread(self.runs.show, run_id)
        if record is None:
            raise ApiError(404, f"no run '{run_id}'")
        return JSONResponse(record)

    async def run_events(self, request: Request) -> Response:
        """Server-Sent Events: every event of the run numbered above `Last-Event-ID` (or `?after=`), as they come;
        the stream ends after the run's last one."""
        run_id = request.path_params["run_id"]
        after_text = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
        if not after_text.isdigit():
            raise ApiError(400, f"Last-Event-ID (or ?after=) must be an event number, not {after_text!r}")
        if not await asyncio.to_thread(self.runs.exists, run_id):
            raise ApiError(404, f"no run '{run_id}'")
        events = self.runs.follow(run_id, int(after_text), KEEP_ALIVE_SECONDS)
        return StreamingResponse(_server_sent(events), media_type="text/event-stream", headers=_SSE_HEADERS)

    async def cancel_run(self, request: Request) -> Response:
        """Stop a running run: cancelled at once, wherever it runs (see `PipelineRuns.cancel`)."""
        run_id = request.path_params["run_id"]
        await self._running(run_id)
        await asyncio.to_thread(self.runs.cancel, run_id)
        record = await asyncio.to_thread(self.runs.show, run_id)
        status = record["status"] if record else "unknown"
        if status != "cancelled":
            raise ApiError(409, f"the run ended ({status}) before it could be cancelled", status=status)
        return JSONResponse({"run_id": run_id, "status": "cancelled"})

    async def resolve_step(self, request: Request) -> Response:
        """Give a waiting wait step its data (the body, JSON): the run goes on from it."""
        run_id, step_id = request.path_params["run_id"], request.path_params["step"]
        record = await self._running(run_id)
        plan = await asyncio.to_thread(self.runs.plan_of, run_id)
        step = next((step for step in plan.steps if step.id == step_id), None) if plan else None
        if plan is None or step is None:
            raise ApiError(404, f"the run '{run_id}' has no step '{step_id}'")
        if step.type is not StepType.WAIT:
            raise ApiError(409, f"the step '{step_id}' is not a wait step: it runs its handler")
        status = record["steps"][step_id]["status"]
        if status != StepStatus.WAITING.value:
            raise ApiError(409, f"the step '{step_id}' is not waiting: it is {status}", status=status)
        data = await _json_body(request, plan.max_state_bytes, "the step's data")
        await asyncio.to_thread(self.runs.resolve, run_id, step_id, data)
        return JSONResponse({"run_id": run_id, "step": step_id, "status": "resolved"}, status_code=202)

    async def rerun(self, request: Request) -> Response:
        """Run a finished run again from a step (`{"from": "b"}`): that step and the steps below it run again, with
        a higher attempt; the others keep their outputs; the events go on with the next number."""
        run_id = request.path_params["run_id"]
        record = await asyncio.to_thread(self.runs.show, run_id)
        if record is None:
            raise ApiError(404, f"no run '{run_id}'")
        if record["status"] == "running":
            raise ApiError(409, "the run is still running: cancel it, or wait for its end", status="running")
        body = await _json_body(request, MAX_CONTROL_BYTES, "the rerun request")
        if not isinstance(body, dict) or not isinstance(body.get("from"), str) or set(body) != {"from"}:
            raise ApiError(400, 'the body must be {"from": "<step id>"}: the step to run again from')
        if body["from"] not in record["steps"]:
            raise ApiError(422, f"the run has no step '{body['from']}' (it has: {', '.join(record['steps'])})")
        plan = await asyncio.to_thread(self.runs.plan_of, run_id)
        assert plan is not None
        try:
            resolve_secrets(plan, self.project)
        except WwsError as exc:
            log.error("%s", exc.format_message())
            raise ApiError(422, self._relative(exc.format_message())) from None
        await asyncio.to_thread(self.runs.rerun, run_id, body["from"])
        headers = {"location": f"{request.scope.get('root_path', '')}/runs/{run_id}"}
        answer = {"run_id": run_id, "status": "running", "rerun": {"from": body["from"]}}
        return JSONResponse(answer, status_code=202, headers=headers)

    async def large_output(self, request: Request) -> Response:
        """The data a large-output reference (`{"$wws_output": digest}`) stands for."""
        digest = request.path_params["digest"]
        try:
            content = await asyncio.to_thread(self.runs.outputs.read, digest)
        except FileNotFoundError:
            raise ApiError(404, f"no stored output '{digest}'") from None
        return Response(content, media_type="application/json")

    async def _running(self, run_id: str) -> dict[str, Any]:
        """The record of a run still running; 404 for an unknown run, 409 for a finished one."""
        record = await asyncio.to_thread(self.runs.show, run_id)
        if record is None:
            raise ApiError(404, f"no run '{run_id}'")
        if record["status"] != "running":
            raise ApiError(409, f"the run is already {record['status']}", status=record["status"])
        return record

    async def list_runs(self, request: Request) -> Response:
        pipeline_id = request.path_params["pipeline"]
        status = request.query_params.get("status") or None
        if status is not None and status not in RUN_STATUSES:
            raise ApiError(400, f"status must be one of {', '.join(RUN_STATUSES)}, not {status!r}")
        limit_text = request.query_params.get("limit", str(DEFAULT_LIST_LIMIT))
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIST_LIMIT:
            raise ApiError(400, f"limit must be an integer from 1 to {MAX_LIST_LIMIT}, not {limit_text!r}")
        if pipeline_id not in await asyncio.to_thread(self.catalog.ids):
            raise ApiError(404, f"no pipeline '{pipeline_id}' (no pipelines/{pipeline_id}.json or .toml)")
        runs = await asyncio.to_thread(self.runs.list, pipeline_id, status, int(limit_text))
        return JSONResponse({"runs": runs})


class AccessGuard:
    """Lets a request through to `app` when its client may steer pipelines: any client with the bearer `token`,
    or, without a token, loopback clients only."""

    def __init__(self, app: ASGIApp, token: str | None):
        self.app = app
        self._token = token.encode() if token is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refused = self.refusal(scope)
            if refused is not None:
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope) -> Response | None:
        if self._token is None:
            if _loopback(scope):
                return None
            return _error(403, "the pipelines API answers loopback clients only, unless the server has a token")
        given = b""
        for name, value in scope["headers"]:
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                given = value[7:].strip()
        if hmac.compare_digest(given, self._token):
            return None
        response = _error(401, "this request needs the pipelines token: Authorization: Bearer <token>")
        response.headers["www-authenticate"] = 'Bearer realm="wws pipelines"'
        return response


def _loopback(scope: Scope) -> bool:
    client = scope.get("client")
    if not client:
        return False
    try:
        address = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _token(settings: PipelinesSettings) -> str | None:
    """The token the routes require, from the environment variable the settings name (None: none required)."""
    if settings.token_env is None:
        return None
    token = os.environ.get(settings.token_env, "")
    if not token:
        raise WwsError(f"the pipelines token variable {settings.token_env} is not set (or empty)")
    if len(token) < MIN_TOKEN_LENGTH:
        raise WwsError(
            f"the pipelines token in {settings.token_env} is shorter than {MIN_TOKEN_LENGTH} characters: "
            "anyone could guess it"
        )
    return token


async def _json_body(request: Request, limit: int, what: str) -> Any:
    """The request's body as JSON (None when empty); `ApiError` as soon as it is over `limit` bytes, or if it is
    not JSON."""
    too_large = ApiError(413, f"{what} is over the plan's max_state_bytes ({limit} bytes)")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, f"the body ({what}) is not JSON: {exc}") from None


async def _server_sent(events: AsyncIterator[dict[str, Any] | None]) -> AsyncIterator[str]:
    """Events in the Server-Sent Events format (a comment when there are none for a while, so that proxies and
    clients keep the connection)."""
    yield f"retry: {RETRY_MS}\n\n"
    async for event in events:
        if event is None:
            yield ": keep-alive\n\n"
            continue
        data = json.dumps(event["data"], ensure_ascii=False, separators=(",", ":"))
        yield f"id: {event['id']}\nevent: {event['event']}\ndata: {data}\n\n"


def _outage(cause: str) -> JSONResponse:
    """The answer while the runs' database does not answer: nothing was done, the client may try again."""
    message = f"the pipelines database does not answer ({cause}): nothing was done, retry later"
    response = _error(503, message, retry_after=OUTAGE_RETRY_SECONDS)
    response.headers["retry-after"] = str(OUTAGE_RETRY_SECONDS)
    return response


def _error(code: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=code)


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    await _error(404, "no such pipelines route")(scope, receive, send)
