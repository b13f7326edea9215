# Cloudflare Python Workers, in the style of their docs: the `@handler` decorator, a header that may be absent,
# and the request's `cf` properties.
import json

from workers import Response, handler


@handler
async def on_fetch(request, env):
    cookie = request.headers["Cookie"]
    session = request.headers.get("Cookie")
    return Response(
        json.dumps(
            {
                "cookie": cookie,
                "session": session,
                "country": request.cf.country,
                "httpProtocol": request.cf.httpProtocol,
                "clientAddress": request.cf["clientAddress"],
            }
        ),
        headers={"content-type": "application/json"},
    )
