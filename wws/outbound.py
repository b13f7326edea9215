"""Outbound HTTP made by the host for workers (httpx): allowed only by the worker's `[features.http_requests]`.

Rules: the host must be in `allowed_hosts`: `host` (the scheme's default port), `host:port`, `host:*` (any port),
`*.domain` (its subdomains, not the domain itself; ports as for a host), or `*` (anything); the method in
`allowed_methods`; the scheme https unless `allow_http`. Redirects are followed (at most `MAX_REDIRECTS`) and every
hop is checked against the same rules; credentials are dropped when a redirect changes origin.

Bounds: the whole exchange (connect, headers, body, redirects) has one deadline, enforced by cancelling it on the
fetcher's event loop, so a server that trickles bytes cannot hold a request thread. Bodies are asked for and
returned undecoded (`accept-encoding: identity`) and capped as they arrive, so a small compressed bomb cannot fill
host memory.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from wws.config.model import HttpRequests
from wws.errors import FetchRefused, HostCallError
from wws.messages import Headers

T = TypeVar("T")

MAX_REDIRECTS = 5
_REDIRECTS = {301, 302, 303, 307, 308}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_SET_HEADERS = {
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "accept-encoding",
}
"""Request headers the host sets itself: a guest must not steer them."""
_CREDENTIALS = {"authorization", "cookie", "proxy-authorization"}
_HOP_BY_HOP = {"transfer-encoding", "connection", "keep-alive"}


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
    if not any(_host_matches(entry, host, port, parsed.scheme) for entry in policy.allowed_hosts):
        if not policy.allowed_hosts:
            raise FetchRefused(f"{host}: this worker may not make HTTP requests ([features.http_requests] is empty)")
        raise FetchRefused(f"{host} is not in allowed_hosts ({', '.join(policy.allowed_hosts)})")
    return parsed


def _host_matches(entry: str, host: str, port: int, scheme: str) -> bool:
    if entry == "*":
        return True
    name, wanted_port = _split_entry(entry)
    if wanted_port == "" and port != _DEFAULT_PORTS[scheme]:
        return False
    if wanted_port not in ("", "*", str(port)):
        return False
    if name.startswith("*."):
        return host.endswith(name[1:]) and host != name[2:]
    return host == name


def _split_entry(entry: str) -> tuple[str, str]:
    """`host`, `host:port`, `host:*`, `[v6]`, `[v6]:port` → (host without brackets, port text or "")."""
    if entry.startswith("["):
        name, _, rest = entry[1:].partition("]")
        return name, rest.removeprefix(":")
    if entry.count(":") == 1:
        name, _, port = entry.partition(":")
        return name, port
    return entry, ""


class Fetcher:
    """Sends workers' outbound requests through one pooled httpx client on its own event-loop thread.

    Thread-safe: any request thread may call `fetch`, which blocks that thread (never the server's loop) until the
    answer, the deadline or a refusal. The loop and client start on first use.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: httpx.AsyncClient | None = None
        self._lock = threading.Lock()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=loop.run_forever, name="wws-fetch", daemon=True)
                self._thread.start()
                self._loop = loop
            loop = self._loop
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:  # only ever touched on the loop's thread
            # trust_env=False: no proxy or certificate settings from the host's environment reach guests.
            self._client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        return self._client

    def fetch(self, policy: HttpRequests, request: FetchRequest, *, timeout_s: float, max_bytes: int) -> FetchResponse:
        """Send `request` if `policy` allows it (and every redirect); raise `HostCallError` with a guest-readable
        reason when refused, unreachable, too slow or too large."""
        target = check_allowed(policy, request.method, request.url)  # refused at once, without the event loop
        return self._run(self._fetch_within(policy, request, target, timeout_s, max_bytes))

    async def _fetch_within(
        self, policy: HttpRequests, request: FetchRequest, target: httpx.URL, timeout_s: float, max_bytes: int
    ) -> FetchResponse:
        try:
            async with asyncio.timeout(timeout_s):
                return await self._fetch(policy, request, target, max_bytes)
        except TimeoutError:
            raise HostCallError(f"fetch {request.url}: timed out after {timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            raise HostCallError(f"fetch {request.url}: {type(exc).__name__}: {exc}") from None

    async def _fetch(
        self, policy: HttpRequests, request: FetchRequest, target: httpx.URL, max_bytes: int
    ) -> FetchResponse:
        """Send to `target` (already checked), following redirects, each checked before it is sent."""
        method, url, body = request.method.upper(), request.url, request.body
        headers = [(name, value) for name, value in request.headers if name.lower() not in _HOST_SET_HEADERS]
        headers.append(("accept-encoding", "identity"))
        for _ in range(MAX_REDIRECTS + 1):
            outgoing = self._http().build_request(method, target, headers=headers, content=body or None)
            response = await self._http().send(outgoing, stream=True)
            try:
                location = response.headers.get("location")
                if response.status_code in _REDIRECTS and location:
                    following = response.url.join(location)
                    if (following.scheme, following.host, following.port) != (target.scheme, target.host, target.port):
                        # Credentials are for the origin they were given to, as browsers' fetch does.
                        headers = [(name, value) for name, value in headers if name.lower() not in _CREDENTIALS]
                    if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                        method, body = "GET", b""
                    url = str(following)
                    target = check_allowed(policy, method, url)
                    continue
                content = bytearray()
                async for chunk in response.aiter_raw():
                    content += chunk
                    if len(content) > max_bytes:
                        raise HostCallError(f"fetch {url}: response body is larger than {max_bytes} bytes")
                kept = tuple(
                    (name.lower(), value)
                    for name, value in response.headers.multi_items()
                    if name.lower() not in _HOP_BY_HOP
                )
                return FetchResponse(response.status_code, kept, bytes(content), str(response.url))
            finally:
                await response.aclose()
        raise HostCallError(f"fetch {request.url}: more than {MAX_REDIRECTS} redirects")

    def close(self) -> None:
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None or thread is None:
            return
        if self._client is not None:
            asyncio.run_coroutine_threadsafe(self._client.aclose(), loop).result()
            self._client = None
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
