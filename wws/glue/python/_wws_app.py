"""The entry point of the Python engine: what the host calls (`compile-source`, `handle`) and what every instance
starts with.

componentize-py runs this module's top level once, when the engine is built, and snapshots the result: the
modules imported here cost nothing per request. Each request then runs in an instance of that snapshot (a fresh
one per request, or a warm one in `instance` isolation).
"""

# Pre-imported: in the snapshot, so free to every handler. The rest of the standard library loads from `/python`.
import asyncio  # noqa: F401
import base64
import collections  # noqa: F401
import dataclasses  # noqa: F401
import datetime  # noqa: F401
import decimal  # noqa: F401
import enum  # noqa: F401
import functools  # noqa: F401
import gc
import hashlib  # noqa: F401
import hmac  # noqa: F401
import html  # noqa: F401
import http  # noqa: F401
import importlib.util
import inspect
import itertools  # noqa: F401
import json
import logging
import marshal
import math  # noqa: F401
import random
import re  # noqa: F401
import string  # noqa: F401
import struct  # noqa: F401
import sys
import textwrap  # noqa: F401
import time  # noqa: F401
import traceback
import types
import typing  # noqa: F401
import urllib.parse  # noqa: F401
import uuid  # noqa: F401

import _wws_snapshot

_HOLES = _wws_snapshot.fill_holes()
"""Held while the glue loads: its classes, functions and constants are then allocated together."""

import _wws_host  # noqa: E402
import wit_world  # noqa: E402
import workers  # noqa: E402
from workers import Cache, Context, Env, KVNamespace, Request, Response  # noqa: E402

GUEST_ROOT = "/src"
STDLIB = "/python"
WORKER_MODULE = "__worker__"
_GLUE_PREFIXES = ("/0/", "/1/", "/world/", "/bundled/")
"""Where componentize-py put the glue when it built the engine: frames from there are not the user's."""

_loop = _wws_host.EventLoop()
_ANSWER_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_REQUEST_DECODER = json.JSONDecoder()
"""The host's request JSON has no surrounding whitespace: `raw_decode` reads it without `loads`'s checks."""
_loaded = {}
"""`worker`: (kind, handler, arity) of the handler, once this instance has loaded it."""


def _find_handler(module):
    """The handler the module defines, in the order Cloudflare's and the original wws's styles are tried; None for a
    module that defines only a pipeline step."""
    names = vars(module)
    default = names.get("Default")
    if isinstance(default, type) and callable(getattr(default, "fetch", None)):
        return ("entrypoint", default, 0)
    on_fetch = names.get("on_fetch")
    if not callable(on_fetch):
        on_fetch = next((value for value in names.values() if getattr(value, "__wws_fetch__", False)), None)
    if callable(on_fetch):
        return ("on_fetch", on_fetch, _arity(on_fetch))
    worker = names.get("worker")
    if callable(worker):
        return ("worker", worker, 1)
    if callable(names.get("step")):
        return None
    raise LookupError(
        "the handler defines no entry point: add `def worker(request)`, `async def on_fetch(request, env)`, "
        "or `class Default(WorkerEntrypoint)` with `async def fetch(self, request)` (or, for a pipeline step, "
        "`def step(state, env)`)"
    )


def _arity(function):
    """How many of (request, env, ctx) `function` takes."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return 2
    if any(parameter.kind is parameter.VAR_POSITIONAL for parameter in parameters):
        return 3
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return min(3, sum(1 for parameter in parameters if parameter.kind in positional))


def _load(code_text):
    code = marshal.loads(code_text.encode("latin-1"))
    module = types.ModuleType(WORKER_MODULE)
    module.__file__ = code.co_filename
    module.__dict__.update(Request=Request, Response=Response, Cache=Cache, kv=workers.kv, fetch=workers.fetch)
    sys.modules[WORKER_MODULE] = module
    exec(code, module.__dict__)
    _loaded["worker"] = _find_handler(module)
    step = vars(module).get("step")
    _loaded["step"] = (step, min(2, _arity(step))) if callable(step) else None


def _run(result):
    if isinstance(result, Response) or not inspect.isawaitable(result):
        return result
    return _loop.run(result)


def _env(message):
    values = dict(message.get("env") or {})
    if message.get("kv_binding"):
        values[message["kv_binding"]] = KVNamespace()
    return Env(values)


def _run_step(message):
    """One pipeline step: `step(state, env)` (or `async def`) on the state; its result, as JSON, under "state"."""
    if _loaded.get("step") is None:
        raise LookupError("the handler defines no step: add `def step(state, env)` (or `async def step`)")
    step, arity = _loaded["step"]
    Cache.reset(bool(message.get("kv_binding")))
    result = _run(step(*(message["step"], _env(message))[:arity]))
    try:
        text = json.dumps(result, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the step returned something JSON cannot hold: {exc}") from None
    Cache.flush()
    return '{"state":' + text + "}"


def _respond(message):
    if _loaded["worker"] is None:
        raise LookupError("the handler defines only a pipeline step (`step`): it cannot answer HTTP requests")
    raw = message.get("body") or ""
    body = base64.b64decode(raw) if message.get("body_base64") else raw.encode("utf-8")
    request = Request(
        message["url"], message["method"], message.get("headers"), body, message.get("params"), cf=message.get("cf")
    )
    Cache.reset(bool(message.get("kv_binding")))
    env, ctx = _env(message), Context()
    kind, handler, arity = _loaded["worker"]
    if kind == "entrypoint":
        response = _run(handler(ctx, env).fetch(request))
    else:
        response = _run(handler(*(request, env, ctx)[:arity]))
    answer = _encode(response, kind)
    for pending in ctx.pending:
        try:
            _run(pending)
        except Exception:
            _wws_host.log("error", "wait_until: " + "".join(_user_traceback(sys.exception())).rstrip())
    Cache.flush()
    return answer


def _encode(response, kind):
    if isinstance(response, (str, bytes)):
        response = Response(response)
    if not isinstance(response, Response):
        name = "fetch()" if kind == "entrypoint" else "on_fetch()" if kind == "on_fetch" else "worker()"
        raise TypeError(f"{name} returned {type(response).__name__}, not a Response")
    headers = {}
    for name, value in dict(response.headers or {}).items():
        values = [str(item) for item in value] if isinstance(value, (list, tuple)) else str(value)
        headers[str(name).lower()] = values
    data = response.body_bytes
    try:
        text, encoded = data.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(data).decode("ascii"), True
    answer = {"status": int(response.status), "headers": headers, "data": text, "base64": encoded}
    return _ANSWER_ENCODER.encode(answer)


def _user_traceback(exc):
    """The traceback without the glue's frames: the user's files and lines, and the standard library's."""
    report = traceback.TracebackException.from_exception(exc)
    for item in [report, *_chained(report)]:
        item.stack = traceback.StackSummary.from_list(
            [frame for frame in item.stack if not frame.filename.startswith(_GLUE_PREFIXES)]
        )
    return list(report.format())


def _chained(report):
    seen = []
    while report is not None:
        report = report.__cause__ or (None if report.__suppress_context__ else report.__context__)
        if report is not None:
            seen.append(report)
    return seen


def _failure(exc):
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    kind = "memory" if isinstance(exc, MemoryError) else "exception"
    try:
        text = "".join(_user_traceback(exc)).rstrip()
    except BaseException:  # out of memory again, most likely: say what we can
        text = f"{type(exc).__name__}: {exc}"
    return json.dumps({"error": text, "kind": kind})


class WitWorld(wit_world.WitWorld):
    def compile_source(self, source, path):
        try:
            code = compile(source, path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            message = "".join(traceback.format_exception_only(exc)).rstrip()
            return json.dumps({"error": message, "line": exc.lineno})
        except BaseException as exc:
            return json.dumps({"error": f"{type(exc).__name__}: {exc}"})
        source_hash = importlib.util.source_hash(source.encode("utf-8"))
        pyc = importlib._bootstrap_external._code_to_hash_pyc(code, source_hash, checked=False)
        answer = {"pyc": bytes(pyc).decode("latin-1"), "tag": sys.implementation.cache_tag}
        return json.dumps(answer, ensure_ascii=False)

    def handle(self, code, request):
        try:
            if code:
                _load(code)
            if not request:
                return '{"loaded":true}'
            message = _REQUEST_DECODER.raw_decode(request)[0]
            answer = _run_step(message) if "step" in message else _respond(message)
            sys.stdout.flush()
            sys.stderr.flush()
            return answer
        except BaseException as exc:  # an exception escaping an export would trap the instance
            return _failure(exc)


sys.stdout = _wws_host.LogStream("info")
sys.stderr = _wws_host.LogStream("error")
logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[_wws_host.LogHandler()], force=True)


def _warm_up():
    """Run the request path a few times before the snapshot, through the export the host calls: its bytecode is
    then specialised and its caches filled in every instance, instead of in each one's first request. That path
    includes `random.seed()`, which componentize-py calls at the first call of every instance (so that each one
    draws different numbers)."""
    source = "def worker(request):\n    return Response(f'{request.method} {request.url} {request.body}')\n"
    request = json.dumps(
        {
            "url": "http://localhost/warm?up=1",
            "method": "POST",
            "headers": {"accept": "*/*"},
            "body": "x",
            "params": {"id": "1"},
            "kv": {},
            "env": {"A": "b"},
            "kv_binding": None,
        }
    )
    code = marshal.dumps(compile(source, f"{GUEST_ROOT}/warm_up.py", "exec")).decode("latin-1")
    world = WitWorld()
    for _ in range(50):
        answer = world.handle(code, request)
        if answer.startswith('{"error"'):
            raise RuntimeError(f"the warm-up request failed: {answer}")
        random.seed()
    _loaded.clear()
    sys.modules.pop(WORKER_MODULE, None)
    Cache.reset(False)


del _HOLES
_COMPACTED = _wws_snapshot.compact(_warm_up)
"""How many code objects the request path runs, copied side by side (0: the heap could not be arranged)."""
_warm_up()
sys.path[:] = [STDLIB, GUEST_ROOT, f"{GUEST_ROOT}/libs"]
sys.path_importer_cache.clear()
_PINNED, _SNAPSHOT_TABLE = _wws_snapshot.pin()
gc.freeze()
