"""Outbound HTTP made by the host for workers (httpx): allowed only by the worker's `[features.http_requests]`.

Rules: the host must be in `allowed_hosts` (exact, `host:port`, `*.domain` for its subdomains, or `*` for any);
the method in `allowed_methods`; the scheme https unless `allow_http`. Redirects are followed (at most
`MAX_REDIRECTS`) and every hop is checked against the same rules. The whole exchange is bounded by a timeout and
the body by a size cap (after decompression, so a small gzip bomb cannot fill memory).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx

from wws.config.model import HttpRequests
from wws.errors import FetchRefused, HostCallError
from wws.messages import Headers

MAX_REDIRECTS = 5
_REDIRECTS = {301, 302, 303, 307, 308}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_SET_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade"}
"""Request headers the host sets itself: a guest must not steer them."""
_CREDENTIALS = {"authorization", "cookie", "proxy-authorization"}
_DECODED_HEADERS = {"content-encoding", "content-length", "transfer-encoding"}
"""Response headers that no longer describe the body once httpx has decoded it."""


@dataclass(frozen=True, slots=True)
class FetchRequest:
    url: str
    method: str = "GET"
    headers: Headers = ()
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class FetchResponse:
    status: int
    headers: Headers
    body: bytes
    url: str
    """Where the response came from, after redirects."""


def check_allowed(policy: HttpRequests, method: str, url: str) -> httpx.URL:
    """The parsed URL if the worker may send `method` to it; else `FetchRefused` saying which rule refused it."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise FetchRefused(f"invalid URL {url!r}: {exc}") from None
    if parsed.scheme not in _DEFAULT_PORTS or not parsed.host:
        raise FetchRefused(f"only absolute http(s) URLs can be fetched, not {url!r}")
    if parsed.scheme == "http" and not policy.allow_http:
        raise FetchRefused(f"{url}: plain http is not allowed (set allow_http = true in [features.http_requests])")
    if method.upper() not in policy.allowed_methods:
        allowed = ", ".join(policy.allowed_methods) or "none"
        raise FetchRefused(f"{method.upper()} is not an allowed method (allowed_methods: {allowed})")
    host = parsed.host.lower()
    port = parsed.port or _DEFAULT_PORTS[parsed.scheme]
    if not any(_host_matches(entry, host, port) for entry in policy.allowed_hosts):
        if not policy.allowed_hosts:
            raise FetchRefused(f"{host}: this worker may not make HTTP requests ([features.http_requests] is empty)")
        raise FetchRefused(f"{host} is not in allowed_hosts ({', '.join(policy.allowed_hosts)})")
    return parsed


def _host_matches(entry: str, host: str, port: int) -> bool:
    if entry == "*":
        return True
    name, _, wanted_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
    if wanted_port and wanted_port != str(port):
        return False
    if name.startswith("*."):
        return host.endswith(name[1:]) and host != name[2:]
    return host == name


class Fetcher:
    """Sends workers' outbound requests through one pooled httpx client (thread-safe, created on first use)."""

    def __init__(self) -> None:
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                # trust_env=False: no proxy or certificate settings from the host's environment reach guests.
                self._client = httpx.Client(follow_redirects=False, trust_env=False)
            return self._client

    def fetch(self, policy: HttpRequests, request: FetchRequest, *, timeout_s: float, max_bytes: int) -> FetchResponse:
        """Send `request` if `policy` allows it (and every redirect); raise `HostCallError` with a guest-readable
        reason when refused, unreachable, too slow or too large."""
        deadline = time.monotonic() + timeout_s
        method, url, body = request.method.upper(), request.url, request.body
        headers = [(name, value) for name, value in request.headers if name.lower() not in _HOST_SET_HEADERS]
        for _ in range(MAX_REDIRECTS + 1):
            target = check_allowed(policy, method, url)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HostCallError(f"fetch {url}: timed out after {timeout_s:g} s")
            try:
                outgoing = self._http().build_request(
                    method, target, headers=headers, content=body or None, timeout=remaining
                )
                response = self._http().send(outgoing, stream=True)
            except httpx.TimeoutException:
                raise HostCallError(f"fetch {url}: timed out after {timeout_s:g} s") from None
            except httpx.HTTPError as exc:
                raise HostCallError(f"fetch {url}: {type(exc).__name__}: {exc}") from None
            try:
                location = response.headers.get("location")
                if response.status_code in _REDIRECTS and location:
                    following = response.url.join(location)
                    if (following.scheme, following.host, following.port) != (target.scheme, target.host, target.port):
                        # Credentials are for the origin they were given to, as browsers' fetch does.
                        headers = [(name, value) for name, value in headers if name.lower() not in _CREDENTIALS]
                    url = str(following)
                    if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                        method, body = "GET", b""
                    continue
                content = _read_capped(response, url, deadline, timeout_s, max_bytes)
                kept = tuple(
                    (name.lower(), value)
                    for name, value in response.headers.multi_items()
                    if name.lower() not in _DECODED_HEADERS
                )
                return FetchResponse(response.status_code, kept, content, str(response.url))
            finally:
                response.close()
        raise HostCallError(f"fetch {request.url}: more than {MAX_REDIRECTS} redirects")

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


def _read_capped(response: httpx.Response, url: str, deadline: float, timeout_s: float, max_bytes: int) -> bytes:
    body = bytearray()
    try:
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise HostCallError(f"fetch {url}: response body is larger than {max_bytes} bytes")
            if time.monotonic() > deadline:
                raise HostCallError(f"fetch {url}: timed out after {timeout_s:g} s")
    except httpx.TimeoutException:
        raise HostCallError(f"fetch {url}: timed out after {timeout_s:g} s") from None
    except httpx.HTTPError as exc:
        raise HostCallError(f"fetch {url}: {type(exc).__name__}: {exc}") from None
    return bytes(body)
