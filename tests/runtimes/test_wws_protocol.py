"""The JSON protocol of native modules: what the host sends, and what it accepts back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wws.errors import BadGuestOutput
from wws.messages import WorkerRequest
from wws.runtimes import wws_protocol
from wws.runtimes.wws_protocol import decode_response, encode_request

WORKER = Path("worker.wasm")


def test_encode_joins_repeated_headers_and_cookies_as_http_does() -> None:
    request = WorkerRequest(
        "http://h/", headers=(("accept", "a"), ("accept", "b"), ("cookie", "x=1"), ("cookie", "y=2"))
    )
    headers = json.loads(encode_request(request))["headers"]
    assert headers == {"accept": "a, b", "cookie": "x=1; y=2"}


def test_decode_accepts_header_lists_and_kv_deletions() -> None:
    output = json.dumps({"status": 204, "headers": {"Set-Cookie": ["a=1", "b=2"]}, "kv": {"gone": None, "k": "v"}})
    response = decode_response(output.encode(), WORKER)
    assert response.status == 204
    assert response.headers == (("set-cookie", "a=1"), ("set-cookie", "b=2"))
    assert dict(response.kv) == {"gone": None, "k": "v"}


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ({"status": 101}, "status must be an integer from 200 to 599"),
        ({"status": 600}, "status must be"),
        ({"status": "200"}, "status must be"),
        ({"headers": {"x-a\n": "1"}}, "not a valid HTTP token"),
        ({"headers": {"x-a": "1\r\nx-injected: 1"}}, "line break"),
        ({"headers": {"x-a": "snow ☃"}}, "characters HTTP cannot carry"),
        ({"headers": {"x-a": {"nested": 1}}}, "must be a string"),
        ({"kv": {"k": 1}}, "kv must be an object of string values"),
        ({"base64": True, "data": "***"}, "not valid base64"),
        ({"data": 5}, "data must be a string"),
    ],
)
def test_decode_refuses_invalid_answers_saying_why(message: dict[str, object], reason: str) -> None:
    with pytest.raises(BadGuestOutput, match=reason):
        decode_response(json.dumps(message).encode(), WORKER)


def test_a_header_answered_before_is_kept_as_written_and_a_new_value_is_still_checked() -> None:
    ok = json.dumps({"headers": {"X-Trace": "abc"}}).encode()
    for _ in range(2):  # the second time from the headers already found valid
        assert decode_response(ok, WORKER).headers == (("x-trace", "abc"),)
    with pytest.raises(BadGuestOutput, match="line break"):
        decode_response(json.dumps({"headers": {"X-Trace": "abc\r\nx-injected: 1"}}).encode(), WORKER)


def test_the_headers_found_valid_are_bounded() -> None:
    for index in range(wws_protocol.MAX_CHECKED_HEADERS + 10):
        decode_response(json.dumps({"headers": {"x-id": str(index)}}).encode(), WORKER)
    assert 0 < len(wws_protocol._CHECKED_HEADERS) <= wws_protocol.MAX_CHECKED_HEADERS
