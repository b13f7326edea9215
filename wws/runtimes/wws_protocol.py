"""The JSON protocol of the original Wasm Workers Server, spoken by native modules over stdin/stdout.

Request: {"url", "method", "headers": {name: value}, "body", "params", "kv"}; a body that is not UTF-8 is sent
base64-encoded with "body_base64": true (the original dropped it). Repeated request headers are joined with ", ".
Response: {"data", "headers", "status", "kv", "base64"}; a header value may also be a list of strings (several
`Set-Cookie`s), which the original could not express. In "kv", a key set to null is deleted; the host applies only
the keys whose value changed (see `wws.kv.changes_between`). Repeated `Cookie` headers are joined with "; ".
The JavaScript and Python glue speak it too, with "kv" empty: they reach the namespace through host calls.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wws.errors import BadGuestOutput
from wws.messages import WorkerRequest, WorkerResponse

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FORBIDDEN_VALUE = re.compile(r"[\r\n\0]")
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode
"""One encoder for every request: `json.dumps` with separators builds a new one per call (1.5 µs)."""
_CHECKED_HEADERS: set[tuple[str, str]] = set()
"""Response headers already found valid, as the guest wrote them: a worker answers the same few again and again."""
MAX_CHECKED_HEADERS = 1024
_CHECKED_VALUE_LENGTH = 256


def encode_request(request: WorkerRequest, extra: Mapping[str, Any] | None = None, *, cf: bool = False) -> bytes:
    """The request as the guest reads it; `extra` adds runtime-specific fields (the JavaScript glue's `env`), `cf`
    the request's `cf` object (see `request_cf`)."""
    headers: dict[str, str] = {}
    for name, value in request.headers:
        previous = headers.get(name)
        headers[name] = value if previous is None else f"{previous}{'; ' if name == 'cookie' else ', '}{value}"
    message: dict[str, Any] = {
        "url": request.url,
        "method": request.method,
        "headers": headers,
        "params": dict(request.params),
        "kv": dict(request.kv),
    }
    try:
        message["body"] = request.body.decode("utf-8")
    except UnicodeDecodeError:
        message["body"] = base64.b64encode(request.body).decode("ascii")
        message["body_base64"] = True
    if cf:
        message["cf"] = request_cf(request)
    if extra:
        message.update(extra)
    return _ENCODE(message).encode()


def request_cf(request: WorkerRequest) -> dict[str, str]:
    """Cloudflare's `request.cf`, with what a self-hosted server honestly knows: the HTTP version and the client's
    address. Cloudflare's edge fields (`country`, `colo`, `asn`, …) are absent, so reading them gives `undefined`
    (JavaScript) or `None` (Python), as on a request that Cloudflare could not place."""
    cf = {"httpProtocol": f"HTTP/{request.http_version}"}
    if request.client:
        cf["clientAddress"] = request.client
    return cf


def decode_response(output: bytes, worker: Path) -> WorkerResponse:
    """Parse and validate the guest's stdout; anything off is a `BadGuestOutput` that says what."""

    def bad(reason: str) -> BadGuestOutput:
        return BadGuestOutput(worker, f"invalid response: {reason}")

    if not output.strip():
        raise bad("the module wrote nothing to stdout")
    try:
        message = json.loads(output)
    except ValueError as exc:
        raise bad(f"stdout is not JSON ({exc}); starts with {output[:80]!r}") from None
    if not isinstance(message, dict):
        raise bad(f"expected a JSON object, got {type(message).__name__}")
    status = message.get("status", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599:
        raise bad(f"status must be an integer from 200 to 599, not {status!r}")
    data = message.get("data", "")
    if data is None:
        data = ""
    if not isinstance(data, str):
        raise bad(f"data must be a string, not {type(data).__name__}")
    if message.get("base64", False):
        try:
            body = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise bad("base64 is true but data is not valid base64") from None
    else:
        body = data.encode("utf-8")
    return WorkerResponse(
        status=status,
        headers=_headers(message.get("headers"), bad),
        body=body,
        kv=_kv(message.get("kv"), bad),
    )


def _headers(raw: Any, bad: Any) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise bad("headers must be an object")
    pairs = []
    for name, value in raw.items():
        if type(value) is str and (name, value) in _CHECKED_HEADERS:
            pairs.append((name.lower(), value))
            continue
        if not _TOKEN.fullmatch(name):
            raise bad(f"header name {name!r} is not a valid HTTP token")
        values = value if isinstance(value, list) else [value]
        for item in values:
            if not isinstance(item, str | int | float) or isinstance(item, bool):
                raise bad(f"header {name!r} must be a string or a list of strings")
            text = str(item)
            if _FORBIDDEN_VALUE.search(text):
                raise bad(f"header {name!r} contains a line break or NUL")
            if not text.isascii() and not _latin1(text):
                raise bad(f"header {name!r} has characters HTTP cannot carry (use ASCII, or percent-encode)")
            pairs.append((name.lower(), text))
        if type(value) is str and len(value) <= _CHECKED_VALUE_LENGTH:
            if len(_CHECKED_HEADERS) >= MAX_CHECKED_HEADERS:
                _CHECKED_HEADERS.clear()
            _CHECKED_HEADERS.add((name, value))
    return tuple(pairs)


def _kv(raw: Any, bad: Any) -> dict[str, str | None]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(value is None or isinstance(value, str) for value in raw.values()):
        raise bad("kv must be an object of string values (or null to delete a key)")
    return raw


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True
