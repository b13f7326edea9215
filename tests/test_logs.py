"""The logs `wws serve` writes: the access line's short way writes what `logging` would, in both formats."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from wws import logs
from wws.logs import LogFormat, configure_logging, log_access

TEXT_LINE = re.compile(
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO wws\.access: 0123456789ab GET /api/7 201 1\.5ms api/\[id\]\.js"
)


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """The stream the logs go to, with the logging set-up as it was restored afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    written = io.StringIO()
    yield written
    logs.flush_access_lines()
    root.handlers[:] = handlers
    root.setLevel(level)
    logs._access_lines = None


def configure(log_format: LogFormat, stream: io.StringIO) -> logging.StreamHandler[io.StringIO]:
    """The logs as `wws serve` sets them up (without pytest's own handlers), writing to `stream`."""
    configure_logging(log_format)
    root = logging.getLogger()
    handler = next(handler for handler in root.handlers if handler.get_name() == "wws")
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    root.handlers[:] = [handler]
    return handler


def test_an_access_line_in_text_is_the_line_logging_writes(stream: io.StringIO) -> None:
    configure("text", stream)
    log_access("0123456789ab", method="GET", path="/api/7", status=201, duration_ms=1.5, worker="api/[id].js")
    short = stream.getvalue()
    logs._access_lines = None  # the same line through logging
    log_access("0123456789ab", method="GET", path="/api/7", status=201, duration_ms=1.5, worker="api/[id].js")
    through_logging = stream.getvalue()[len(short) :]
    assert TEXT_LINE.fullmatch(short.rstrip("\n")), short
    assert TEXT_LINE.fullmatch(through_logging.rstrip("\n")), through_logging


def test_an_access_line_in_json_has_the_fields_logging_writes_in_their_order(stream: io.StringIO) -> None:
    configure("json", stream)
    log_access("0123456789ab", method="POST", path="/ünï", status=500, duration_ms=12.3, worker=None)
    short = stream.getvalue()
    logs._access_lines = None
    log_access("0123456789ab", method="POST", path="/ünï", status=500, duration_ms=12.3, worker=None)
    through_logging = stream.getvalue()[len(short) :]
    for line in (short, through_logging):
        entry = json.loads(line)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry.pop("time"))
        assert list(entry.items()) == [
            ("level", "info"),
            ("logger", "wws.access"),
            ("message", "0123456789ab POST /ünï 500 12.3ms -"),
            ("request_id", "0123456789ab"),
            ("worker", None),
            ("method", "POST"),
            ("path", "/ünï"),
            ("status", 500),
            ("duration_ms", 12.3),
        ]
    assert "/ünï" in short  # as logging writes it: not escaped


def test_access_lines_on_the_event_loop_are_written_together_when_its_turn_ends(stream: io.StringIO) -> None:
    handler = configure("text", stream)
    writes: list[str] = []
    real_write = stream.write
    stream.write = lambda text: writes.append(text) or real_write(text)  # type: ignore[method-assign]

    async def serve_three() -> str:
        for number in range(3):
            log_access(f"{number:012x}", method="GET", path="/", status=200, duration_ms=0.1, worker="index.js")
        held = stream.getvalue()
        await asyncio.sleep(0)
        return held

    held = asyncio.run(serve_three())
    assert held == ""
    assert len(writes) == 1
    assert writes[0].count("\n") == 3
    assert [line.split()[4] for line in stream.getvalue().splitlines()] == [f"{n:012x}" for n in range(3)]
    assert handler.stream is stream


def test_access_lines_go_through_logging_when_another_handler_listens(
    stream: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    configure("text", stream)
    logging.getLogger().addHandler(caplog.handler)
    with caplog.at_level(logging.INFO, logger="wws.access"):
        log_access("0123456789ab", method="GET", path="/api/7", status=201, duration_ms=1.5, worker="api/[id].js")
    record = next(record for record in caplog.records if record.name == "wws.access")
    assert record.status == 201  # type: ignore[attr-defined]
    assert record.worker == "api/[id].js"  # type: ignore[attr-defined]
    assert TEXT_LINE.fullmatch(stream.getvalue().rstrip("\n"))


def test_held_access_lines_are_written_at_shutdown(stream: io.StringIO) -> None:
    configure("text", stream)

    async def serve_one() -> None:
        log_access("0123456789ab", method="GET", path="/api/7", status=201, duration_ms=1.5, worker="api/[id].js")
        logs.flush_access_lines()  # what the app's lifespan does as it ends, before the loop's turn is over

    asyncio.run(serve_one())
    assert TEXT_LINE.fullmatch(stream.getvalue().rstrip("\n"))
