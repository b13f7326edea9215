"""The ceiling of wws's server stack: a bare Starlette hello served as `wws serve` serves (uvicorn, its settings
and wws's HTTP protocol with its limits).

Run: `python -m benchmarks.http.ceiling PORT`
"""

from __future__ import annotations

import sys

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from wws.server.http import run_server


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("Hello, world!")


app = Starlette(routes=[Route("/{path:path}", hello)])

if __name__ == "__main__":
    run_server(app, host="127.0.0.1", port=int(sys.argv[1]))
