"""Outbound HTTP for workers: the allow-list rules, and the client's redirects, timeouts and size caps."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator

import pytest

from tests.origin import BIG_BYTES
from wws.config.model import HttpRequests
from wws.errors import FetchRefused, HostCallError
from wws.outbound import Fetcher, FetchRequest, check_allowed

LOCAL = HttpRequests(allowed_hosts=("127.0.0.1:*",), allow_http=True)


@pytest.mark.parametrize(
    ("hosts", "url"),
    [
        (("api.example.com",), "https://api.example.com/x"),
        (("API.example.com",), "https://api.EXAMPLE.com/x"),
        (("*.example.org",), "https://a.example.org/"),
        (("*.example.org",), "https://a.b.example.org/"),
        (("api.example.com:8443",), "https://api.example.com:8443/"),
        (("api.example.com:443",), "https://api.example.com/"),
        (("api.example.com",), "http://api.example.com:80/"),
        (("api.example.com:*",), "https://api.example.com:9999/"),
        (("*.example.org:8443",), "https://a.example.org:8443/"),
        (("[::1]:8080",), "https://[::1]:8080/"),
        (("[::1]",), "https://[::1]/"),
        (("*",), "https://anything.test/"),
    ],
)
def test_check_allowed_accepts_listed_hosts(hosts: tuple[str, ...], url: str) -> None:
    policy = HttpRequests(allowed_hosts=tuple(host.lower() for host in hosts), allow_http=True)
    assert check_allowed(policy, "GET", url).host


@pytest.mark.parametrize(
    ("policy", "method", "url", "reason"),
    [
        (HttpRequests(), "GET", "https://api.example.com/", "may not make HTTP requests"),
        (HttpRequests(allowed_hosts=("api.example.com",)), "GET", "https://evil.example.com/", "not in allowed_hosts"),
        (HttpRequests(allowed_hosts=("api.example.com",)), "GET", "https://api.example.com.evil.test/", "not in"),
        (HttpRequests(allowed_hosts=("*.example.org",)), "GET", "https://example.org/", "not in allowed_hosts"),
        (HttpRequests(allowed_hosts=("*.example.org",)), "GET", "https://badexample.org/", "not in allowed_hosts"),
        (HttpRequests(allowed_hosts=("api.example.com:8443",)), "GET", "https://api.example.com/", "not in"),
        (HttpRequests(allowed_hosts=("api.example.com",)), "GET", "https://api.example.com:6379/", "not in"),
        (HttpRequests(allowed_hosts=("[::1]:8080",)), "GET", "https://[::1]:9090/", "not in"),
        (HttpRequests(allowed_hosts=("*",)), "GET", "https://user@/", "only absolute http"),
        (HttpRequests(allowed_hosts=("api.example.com",)), "GET", "http://api.example.com/", "plain http"),
        (HttpRequests(allowed_hosts=("a.test",), allowed_methods=("GET",)), "POST", "https://a.test/", "POST"),
        (HttpRequests(allowed_hosts=("*",)), "GET", "file:///etc/passwd", "only absolute http"),
        (HttpRequests(allowed_hosts=("*",)), "GET", "/relative", "only absolute http"),
    ],
)
def test_check_allowed_refuses_with_the_rule(policy: HttpRequests, method: str, url: str, reason: str) -> None:
    with pytest.raises(FetchRefused, match=reason):
        check_allowed(policy, method, url)


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    client = Fetcher()
    yield client
    client.close()


def test_fetcher_returns_status_headers_and_body(fetcher: Fetcher, origin: str) -> None:
    response = fetcher.fetch(LOCAL, FetchRequest(f"{origin}/hello"), timeout_s=5, max_bytes=1000)
    assert (response.status, response.body) == (200, b"hello from the origin")
    assert ("x-origin", "yes") in response.headers


def test_fetcher_sends_method_body_and_headers_but_not_host_set_ones(fetcher: Fetcher, origin: str) -> None:
    request = FetchRequest(f"{origin}/echo", "PUT", (("x-token", "t"), ("host", "evil.test")), b"payload")
    response = fetcher.fetch(LOCAL, request, timeout_s=5, max_bytes=10_000)
    echo = json.loads(response.body)
    assert (echo["method"], echo["body"], echo["headers"]["x-token"]) == ("PUT", "payload", "t")
    assert echo["headers"]["host"].startswith("127.0.0.1")


def test_fetcher_follows_allowed_redirects(fetcher: Fetcher, origin: str) -> None:
    request = FetchRequest(f"{origin}/redirect?to=/echo&status=303", "POST", body=b"x")
    response = fetcher.fetch(LOCAL, request, timeout_s=5, max_bytes=10_000)
    assert json.loads(response.body)["method"] == "GET"
    assert response.url == f"{origin}/echo"


def test_fetcher_refuses_a_redirect_to_a_host_not_allowed(fetcher: Fetcher, origin: str) -> None:
    request = FetchRequest(f"{origin}/redirect?to=http://localhost:1/")
    with pytest.raises(FetchRefused, match="localhost is not in allowed_hosts"):
        fetcher.fetch(LOCAL, request, timeout_s=5, max_bytes=10_000)


def test_fetcher_caps_the_body(fetcher: Fetcher, origin: str) -> None:
    with pytest.raises(HostCallError, match="larger than"):
        fetcher.fetch(LOCAL, FetchRequest(f"{origin}/big"), timeout_s=5, max_bytes=BIG_BYTES // 2)


def test_fetcher_never_decompresses_so_a_bomb_stays_small(fetcher: Fetcher, origin: str) -> None:
    asked = json.loads(fetcher.fetch(LOCAL, FetchRequest(f"{origin}/echo"), timeout_s=5, max_bytes=10_000).body)
    assert asked["headers"]["accept-encoding"] == "identity"
    bomb = fetcher.fetch(LOCAL, FetchRequest(f"{origin}/gzip-bomb"), timeout_s=5, max_bytes=BIG_BYTES // 2)
    assert ("content-encoding", "gzip") in bomb.headers
    assert gzip.decompress(bomb.body) == b"\0" * BIG_BYTES
    assert len(bomb.body) < 100_000


@pytest.mark.parametrize("path", ["/slow?seconds=2", "/trickle"])
def test_fetcher_deadline_covers_the_whole_exchange(fetcher: Fetcher, origin: str, path: str) -> None:
    started = time.monotonic()
    with pytest.raises(HostCallError, match=r"timed out after 0\.5 s"):
        fetcher.fetch(LOCAL, FetchRequest(origin + path), timeout_s=0.5, max_bytes=1000)
    assert time.monotonic() - started < 2


def test_fetcher_reports_an_unreachable_host(fetcher: Fetcher) -> None:
    policy = HttpRequests(allowed_hosts=("127.0.0.1:1",), allow_http=True)
    with pytest.raises(HostCallError, match="ConnectError"):
        fetcher.fetch(policy, FetchRequest("http://127.0.0.1:1/"), timeout_s=2, max_bytes=1000)
