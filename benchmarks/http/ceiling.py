"""The ceiling of wws's server stack: a bare Starlette hello on the uvicorn settings of `wws serve`.

Run: `python -m benchmarks.http.ceiling PORT`
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from wws.cli.serve import server_settings


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("Hello, world!")


app = Starlette(routes=[Route("/{path:path}", hello)])

if __name__ == "__main__":
    uvicorn.run(app, **server_settings("127.0.0.1", int(sys.argv[1])))
