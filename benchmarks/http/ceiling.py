"""The ceiling of wws's server stack: a bare Starlette hello served as `wws serve` serves (uvicorn, its settings
and wws's HTTP protocol with its limits).

Run: `python -m benchmarks.http.ceiling PORT [PROCESSES]` (PROCESSES: a number or auto, as `wws serve --workers`).
"""

from __future__ import annotations

import sys

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from wws.cli.serve import usable_cores
from wws.server.http import run_server


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("Hello, world!")


def make_app() -> Starlette:
    return Starlette(routes=[Route("/{path:path}", hello)])


if __name__ == "__main__":
    port = int(sys.argv[1])
    processes = sys.argv[2] if len(sys.argv) > 2 else "1"
    count = usable_cores() if processes == "auto" else int(processes)
    if count == 1:
        run_server(make_app(), host="127.0.0.1", port=port)
    else:
        run_server(
            "benchmarks.http.ceiling:make_app",
            host="127.0.0.1",
            port=port,
            workers=count,
        )
