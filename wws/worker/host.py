"""The host API of one worker: KV, outbound HTTP, logs and config, with that worker's rights and limits.

Implemented once for every language. Native modules reach it through the `wws.host_call` import (JSON messages,
see `wws.sandbox.hostcalls`); the JavaScript and Python runtimes call the typed methods.

Messages (`"op"` and its arguments → the `"value"` of `{"ok": true, "value": …}`):
- `kv.get {key}` → string or null; `kv.put {key, value}`; `kv.delete {key}`; `kv.list {prefix}` → [keys];
  `kv.apply {changes: {key: value or null}}` writes and deletes several keys at once (the original wws `Cache`)
- `http.fetch {url, method, headers: {name: value} | [[name, value]…], body, body_base64}` →
  `{status, headers: [[name, value]…], body, body_base64, url}`
- `log {level, message}`; `config.get {name}` → string or null (the worker's `[vars]`)
- `crypto.digest {algorithm, data}` → the digest; `crypto.hmac {hash, key, data}` → the MAC (bytes as base64;
  hashlib and hmac of the standard library: JavaScript's `crypto.subtle`); `url.domain_to_ascii {domain}` → the
  host's ASCII form, or an error when the URL standard refuses it (JavaScript's `URL`, for non-ASCII hosts)
Failures answer `{"ok": false, "error": "…"}`: the guest decides what to do with them.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from wws.config.model import WorkerConfig
from wws.errors import HostCallError, HostUnavailable, KVUnavailable, WorkerError
from wws.kv.base import KVStore
from wws.logs import GUEST_LEVELS, log_guest
from wws.messages import Headers
from wws.outbound import Fetcher, FetchRequest, FetchResponse
from wws.sandbox.context import GuestContext, LogBudget
from wws.worker.domains import domain_to_ascii

log = logging.getLogger(__name__)

_DONE = b'{"ok":true,"value":null}'


class HostAPI:
    """What the guest of one worker may ask of the host. Thread-safe; one per worker version."""

    def __init__(self, name: str, config: WorkerConfig, kv: KVStore | None, fetcher: Fetcher):
        self.name = name
        self.config = config
        self.kv = kv
        self.fetcher = fetcher
        self._calls = threading.local()
        """Per thread: the host's fault during the guest call running on it (a guest calls the host on its thread)."""
        self._ops: dict[str, Callable[[dict[str, Any], str, float], Any]] = {
            "kv.get": lambda args, _id, _deadline: self.kv_get(_text(args, "key")),
            "kv.put": lambda args, _id, _deadline: self.kv_put(_text(args, "key"), _text(args, "value")),
            "kv.delete": lambda args, _id, _deadline: self.kv_delete(_text(args, "key")),
            "kv.list": lambda args, _id, _deadline: self.kv_list(_text(args, "prefix", "")),
            "kv.apply": lambda args, _id, _deadline: self.kv_apply(_changes(args)),
            "http.fetch": lambda args, _id, deadline: _fetch_answer(self.fetch(_fetch_request(args), deadline)),
            "log": lambda args, request_id, _deadline: self.log(
                _text(args, "level", "info"), _text(args, "message"), request_id
            ),
            "config.get": lambda args, _id, _deadline: self.config_get(_text(args, "name")),
            "crypto.digest": lambda args, _id, _deadline: _b64(
                hashlib.new(_hash(args, "algorithm"), _bytes(args, "data")).digest()
            ),
            "crypto.hmac": lambda args, _id, _deadline: _b64(
                hmac.digest(_bytes(args, "key"), _bytes(args, "data"), _hash(args, "hash"))
            ),
            "url.domain_to_ascii": lambda args, _id, _deadline: domain_to_ascii(_text(args, "domain")),
        }

    @contextlib.contextmanager
    def faults(self, worker: Path, request_id: str) -> Iterator[None]:
        """Around a guest call of `worker` on this thread: a KV store that does not answer is the host's fault,
        raised as `HostUnavailable` (503, retried in a pipeline), whether the host met it itself or the guest failed
        after its host call was refused for it. A guest that answered anyway keeps its answer."""
        self._calls.fault = None
        try:
            yield
        except (KVUnavailable, WorkerError) as exc:
            fault = exc if isinstance(exc, KVUnavailable) else self._calls.fault
            if fault is None:
                raise
            raise HostUnavailable(worker, "its KV store", str(fault)) from exc
        fault = self._calls.fault
        if fault is not None:
            log.warning("%s [%s] answered though its KV store is unavailable: %s", worker, request_id, fault)

    def _namespace(self) -> tuple[KVStore, str]:
        if self.kv is None or self.config.kv_namespace is None:
            raise HostCallError('this worker has no KV namespace (add [data.kv] namespace = "…" to its config)')
        return self.kv, self.config.kv_namespace

    def kv_get(self, key: str) -> str | None:
        store, namespace = self._namespace()
        return store.get(namespace, key)

    def kv_put(self, key: str, value: str) -> None:
        store, namespace = self._namespace()
        store.put(namespace, key, value)

    def kv_delete(self, key: str) -> None:
        store, namespace = self._namespace()
        store.delete(namespace, key)

    def kv_list(self, prefix: str = "") -> list[str]:
        store, namespace = self._namespace()
        return store.keys(namespace, prefix)

    def kv_apply(self, changes: dict[str, str | None]) -> None:
        store, namespace = self._namespace()
        store.apply(namespace, changes)

    def fetch(self, request: FetchRequest, deadline: float) -> FetchResponse:
        """Send an outbound request, bounded by `fetch_timeout_ms` and by what is left of the request's deadline."""
        limits = self.config.limits
        remaining = deadline - time.monotonic() if deadline else limits.fetch_timeout_ms / 1000
        timeout = min(limits.fetch_timeout_ms / 1000, remaining)
        if timeout <= 0:
            raise HostCallError(f"fetch {request.url}: the request is out of time")
        return self.fetcher.fetch(
            self.config.http_requests, request, timeout_s=timeout, max_bytes=limits.max_fetch_bytes
        )

    def log(self, level: str, message: str, request_id: str = "") -> None:
        log_guest(self.name, request_id, message, GUEST_LEVELS.get(level.lower(), logging.INFO))

    def config_get(self, name: str) -> str | None:
        return self.config.vars.get(name)

    def call(self, message: bytes, context: GuestContext) -> bytes:
        """Run one JSON host call (see the module docstring) for the guest call `context`; never raises. A `log`
        call past the call's log budget is dropped (answered as done), and the first drop is noted in the log."""
        request_id, deadline, log_budget = context.request_id, context.deadline, context.log_budget
        try:
            args = json.loads(message)
            if not isinstance(args, dict):
                raise HostCallError("a host call must be a JSON object")
            op = args.get("op")
            if op == "log" and not self._charge(log_budget, _size(args), request_id):
                return _DONE
            handler = self._ops.get(op) if isinstance(op, str) else None
            if handler is None:
                raise HostCallError(f"unknown host call {op!r} (known: {', '.join(sorted(self._ops))})")
            answer: dict[str, Any] = {"ok": True, "value": handler(args, request_id, deadline)}
        except HostCallError as exc:
            answer = {"ok": False, "error": exc.format_message()}
        except KVUnavailable as exc:  # the host's fault: noted, so that the request is not charged to the guest
            self._calls.fault = exc
            answer = {"ok": False, "error": "the KV store is unavailable"}
        except ValueError as exc:
            answer = {"ok": False, "error": f"a host call must be JSON: {exc}"}
        except Exception as exc:  # a host bug must not crash the guest's request: report it to both sides
            log.exception("%s [%s]: host call failed", self.name, request_id)
            answer = {"ok": False, "error": f"internal error in the host: {type(exc).__name__}"}
        return json.dumps(answer, separators=(",", ":")).encode()

    def _charge(self, budget: LogBudget, size: int, request_id: str) -> bool:
        """Whether a log line of `size` bytes fits what is left of the request's budget; the first line dropped
        is noted (once per request, whichever way the guest logged past the budget)."""
        if budget.fits(size):
            return True
        if budget.first_cut():
            self.log("warn", budget.note(self.config.limits.max_log_bytes), request_id)
        return False


def _size(args: dict[str, Any]) -> int:
    """What a `log` call's message costs of the log budget: its text in UTF-8 bytes."""
    message = args.get("message")
    return len(message.encode("utf-8", "replace")) if isinstance(message, str) else 0


def _text(args: dict[str, Any], name: str, default: str | None = None) -> str:
    value = args.get(name, default)
    if not isinstance(value, str):
        raise HostCallError(f"'{name}' must be a string")
    return value


_HASHES = {"SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512", "MD5": "md5"}
"""Web Crypto's digest names (and MD5, which Cloudflare's `crypto.subtle.digest` also offers) → hashlib's."""


def _hash(args: dict[str, Any], name: str) -> str:
    algorithm = _text(args, name).upper()
    if algorithm not in _HASHES:
        raise HostCallError(f"unsupported hash {algorithm!r} (supported: {', '.join(_HASHES)})")
    return _HASHES[algorithm]


def _bytes(args: dict[str, Any], name: str, default: str | None = None) -> bytes:
    """The bytes of base64 argument `name` (a required one unless `default` is given)."""
    try:
        return base64.b64decode(_text(args, name, default), validate=True)
    except (binascii.Error, ValueError):
        raise HostCallError(f"'{name}' is not valid base64") from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _changes(args: dict[str, Any]) -> dict[str, str | None]:
    changes = args.get("changes")
    if not isinstance(changes, dict) or not all(
        isinstance(key, str) and (value is None or isinstance(value, str)) for key, value in changes.items()
    ):
        raise HostCallError("'changes' must be an object of strings (or null to delete a key)")
    return changes


def _fetch_request(args: dict[str, Any]) -> FetchRequest:
    raw_headers = args.get("headers") or {}
    pairs = raw_headers.items() if isinstance(raw_headers, dict) else raw_headers
    headers: list[tuple[str, str]] = []
    for pair in pairs:
        if not (isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(item, str) for item in pair)):
            raise HostCallError("'headers' must be an object of strings or a list of [name, value] pairs")
        headers.append((pair[0].lower(), pair[1]))
    body = _bytes(args, "body", "") if args.get("body_base64") else _text(args, "body", "").encode()
    return FetchRequest(_text(args, "url"), _text(args, "method", "GET").upper(), tuple(headers), body)


def _fetch_answer(response: FetchResponse) -> dict[str, Any]:
    headers: Headers = response.headers
    answer: dict[str, Any] = {"status": response.status, "url": response.url}
    answer["headers"] = [list(pair) for pair in headers]
    try:
        answer["body"], answer["body_base64"] = response.body.decode("utf-8"), False
    except UnicodeDecodeError:
        answer["body"], answer["body_base64"] = _b64(response.body), True
    return answer
