"""The API of Python workers in wws: `from workers import Response, fetch` (or use the names directly).

Two styles run unchanged:
- the original Wasm Workers Server: `def worker(request): return Response("hi")`, with `Request`, `Response`,
  `Cache`, `kv` and `fetch` already in the handler's globals;
- Cloudflare's Python Workers: `async def on_fetch(request, env)`, or `class Default(WorkerEntrypoint)` with an
  `async def fetch(self, request)`, reading `self.env`.

Everything that reaches outside the sandbox (KV, outbound HTTP, logs) is a host call, checked by the host.
"""

import base64
import json as _json
from urllib.parse import urlsplit

from _wws_host import HostError, call

__all__ = [
    "Cache",
    "Context",
    "Env",
    "Headers",
    "HostError",
    "KVNamespace",
    "Request",
    "Response",
    "WorkerEntrypoint",
    "fetch",
    "handler",
    "kv",
]


class Headers(dict):
    """HTTP headers: a dict whose names are case-insensitive (kept lower-case). Repeated values are joined by ", "."""

    def __init__(self, headers=None):
        super().__init__()
        if headers:
            self.update(headers)

    def __getitem__(self, name):
        """The header's value, or None when it is absent (as in Cloudflare's Python Workers)."""
        return super().get(name.lower())

    def __setitem__(self, name, value):
        super().__setitem__(name.lower(), value)

    def __delitem__(self, name):
        super().__delitem__(name.lower())

    def __contains__(self, name):
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name, default=None):
        return super().get(name.lower(), default)

    def pop(self, name, *default):
        return super().pop(name.lower(), *default)

    def setdefault(self, name, default=None):
        return super().setdefault(name.lower(), default)

    def update(self, other=(), **more):
        pairs = other.items() if hasattr(other, "items") else other
        for name, value in [*pairs, *more.items()]:
            self[name] = value

    def set(self, name, value):
        self[name] = value

    def append(self, name, value):
        """Add a value; a header that exists already gets a list of values (several `Set-Cookie`s)."""
        name = name.lower()
        current = super().get(name)
        if current is None:
            self[name] = value
        elif isinstance(current, list):
            current.append(value)
        else:
            self[name] = [current, value]

    def delete(self, name):
        self.pop(name, None)

    def has(self, name):
        return name in self


class _Body:
    """The body of a request or response: `text()`, `json()` and `bytes()` (awaitable, as in Workers), and
    `body` (text) and `body_bytes` for synchronous code."""

    body_bytes = b""

    @property
    def body(self):
        return self.body_bytes.decode("utf-8", "replace")

    @body.setter
    def body(self, value):
        self.body_bytes = _body_bytes(value)

    async def text(self):
        return self.body

    async def json(self):
        return _json.loads(self.body_bytes)

    async def bytes(self):
        return self.body_bytes

    async def array_buffer(self):
        return self.body_bytes


class Properties:
    """`request.cf`: Cloudflare's request properties, here only what this server knows (`httpProtocol`,
    `clientAddress`). Any other name (`country`, `colo`, …) is None, by attribute or by item."""

    def __init__(self, values=None):
        self.__dict__.update(values or {})

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)

    def __getitem__(self, name):
        return self.__dict__.get(name)

    def get(self, name, default=None):
        return self.__dict__.get(name, default)

    def __contains__(self, name):
        return name in self.__dict__

    def __repr__(self):
        return f"Properties({self.__dict__})"


class Request(_Body):
    """An incoming HTTP request. `params` holds the values of a dynamic route (`[id].py` → `params["id"]`);
    `cf` the request's properties (see `Properties`)."""

    def __init__(self, url, method="GET", headers=None, body=b"", params=None, *, cf=None):
        self.url = url
        self.method = method.upper()
        self.headers = Headers(headers)
        self.body_bytes = body.encode() if isinstance(body, str) else bytes(body or b"")
        self.params = dict(params or {})
        self.cf = Properties(cf)

    @property
    def path(self):
        return urlsplit(self.url).path

    @property
    def query(self):
        return urlsplit(self.url).query

    def __repr__(self):
        return f"<Request {self.method} {self.url}>"


class Response(_Body):
    """An HTTP response: `Response(body, status=200, headers={})`. The body is text, bytes or None.

    The original wws style, `res = Response(body); res.status_code = 201; res.headers = {...}`, works too.
    """

    def __init__(self, body=None, status=200, headers=None, status_text="", *, url=""):
        self.body_bytes = _body_bytes(body)
        self.status = status
        self.status_text = status_text
        self.headers = Headers(headers)
        if isinstance(body, str) and "content-type" not in self.headers:
            self.headers["content-type"] = "text/plain;charset=UTF-8"
        self.url = url

    @property
    def status_code(self):
        return self.status

    @status_code.setter
    def status_code(self, value):
        self.status = value

    @property
    def ok(self):
        return 200 <= int(self.status) <= 299

    @classmethod
    def json(cls, data, status=200, headers=None):
        """A JSON response (as `Response.json` in Workers)."""
        merged = Headers({"content-type": "application/json"})
        merged.update(headers or {})
        return cls(_json.dumps(data), status=status, headers=merged)

    @classmethod
    def redirect(cls, url, status=302):
        return cls(None, status=status, headers={"location": str(url)})

    def __await__(self):
        """`await fetch(url)` and `fetch(url)` both give the response."""
        return self
        yield

    def __repr__(self):
        return f"<Response {self.status}>"


def _body_bytes(body):
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    raise TypeError(f"a response body must be str, bytes or None, not {type(body).__name__}")


def fetch(resource, method=None, headers=None, body=None):
    """Send an HTTP request through the host (only to the worker's `allowed_hosts`). Usable with or without
    `await`. Raises `HostError` when the host refuses it or it fails."""
    if isinstance(resource, Request):
        method = method or resource.method
        headers = headers if headers is not None else resource.headers
        body = body if body is not None else resource.body_bytes
        resource = resource.url
    if isinstance(body, dict | list):
        body = _json.dumps(body)
    data = _body_bytes(body)
    try:
        text, encoded = data.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(data).decode("ascii"), True
    answer = call(
        "http.fetch",
        url=str(resource),
        method=(method or "GET").upper(),
        headers=[[name, str(value)] for name, value in Headers(headers).items()],
        body=text,
        body_base64=encoded,
    )
    received = answer.get("body") or ""
    payload = base64.b64decode(received) if answer.get("body_base64") else received.encode("utf-8")
    response = Response(payload, status=answer["status"], url=answer.get("url", str(resource)))
    for name, value in answer.get("headers", []):
        response.headers.append(name, value)
    return response


class _KV:
    """The worker's KV namespace (`[data.kv] namespace = "…"` in its config), one host call per operation."""

    def get(self, key):
        """The value of `key`, or None."""
        return call("kv.get", key=str(key))

    def put(self, key, value):
        if isinstance(value, bytes | bytearray):
            value = bytes(value).decode("utf-8")
        if not isinstance(value, str):
            raise TypeError(f"KV values are text: {type(value).__name__} given (use str(), or json.dumps())")
        call("kv.put", key=str(key), value=value)

    def delete(self, key):
        call("kv.delete", key=str(key))

    def list(self, prefix=""):
        """The keys that start with `prefix`, sorted."""
        return sorted(call("kv.list", prefix=str(prefix)))


kv = _KV()


class KVNamespace:
    """The KV binding in `env` (Cloudflare's API, awaitable): `await env.KV.get("key")`."""

    async def get(self, key, type="text"):
        value = kv.get(key)
        if value is None or type == "text":
            return value
        if type == "json":
            return _json.loads(value)
        if type in ("bytes", "arrayBuffer"):
            return value.encode("utf-8")
        raise ValueError(f'KV get: unsupported type "{type}" (use "text", "json" or "bytes")')

    async def put(self, key, value):
        kv.put(key, value)

    async def delete(self, key):
        kv.delete(key)

    async def list(self, prefix="", limit=1000, cursor=""):
        names = kv.list(prefix)
        start = int(cursor or 0)
        limit = max(1, min(1000, int(limit)))
        page = names[start : start + limit]
        complete = start + limit >= len(names)
        return {
            "keys": [{"name": name} for name in page],
            "list_complete": complete,
            "cursor": "" if complete else str(start + limit),
        }


class Cache:
    """The key/value store of the original wws: reads go to the worker's KV namespace (host calls); writes are kept
    until the request succeeds, then applied at once. A request that fails changes nothing; without a namespace,
    `Cache` is empty and its writes go nowhere."""

    _writes = {}  # noqa: RUF012 - each request starts from a new dict (reset)
    _namespace = False

    @classmethod
    def get(cls, key):
        key = str(key)
        if key in cls._writes:
            return cls._writes[key]
        return call("kv.get", key=key) if cls._namespace else None

    @classmethod
    def set(cls, key, value):
        cls._writes[str(key)] = None if value is None else str(value)

    @classmethod
    def delete(cls, key):
        cls._writes[str(key)] = None

    @classmethod
    def reset(cls, namespace):
        cls._writes = {}
        cls._namespace = namespace

    @classmethod
    def flush(cls):
        """The request succeeded: apply its writes (None deletes a key)."""
        if cls._namespace and cls._writes:
            call("kv.apply", changes=cls._writes)
        cls._writes = {}


class Env:
    """`env`: the worker's `[vars]` and its KV binding, as attributes (`env.MESSAGE`) or items (`env["KV"]`)."""

    def __init__(self, values):
        self.__dict__.update(values)

    def __getitem__(self, name):
        return self.__dict__[name]

    def __contains__(self, name):
        return name in self.__dict__

    def get(self, name, default=None):
        return self.__dict__.get(name, default)

    def __repr__(self):
        return f"Env({sorted(self.__dict__)})"


class Context:
    """`ctx`: `wait_until(awaitable)` runs work after the response is ready (it still counts against the
    request's time limit)."""

    def __init__(self):
        self.pending = []

    def wait_until(self, awaitable):
        self.pending.append(awaitable)

    waitUntil = wait_until

    def pass_through_on_exception(self):
        pass


def handler(function):
    """`@handler` on `on_fetch` (Cloudflare's earlier Python Workers): marks the function as the fetch handler,
    whatever its name."""
    function.__wws_fetch__ = True
    return function


class WorkerEntrypoint:
    """Base class of `class Default(WorkerEntrypoint)` handlers: `self.env` and `self.ctx` are set for you."""

    def __init__(self, ctx, env):
        self.ctx = ctx
        self.env = env
