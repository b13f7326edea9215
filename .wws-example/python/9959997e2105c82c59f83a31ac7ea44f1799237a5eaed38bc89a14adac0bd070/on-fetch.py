# Cloudflare's Python Workers style: `async def on_fetch(request, env)`, and `env` holds this worker's [vars].
from urllib.parse import parse_qs

from workers import Response


async def on_fetch(request, env):
    name = parse_qs(request.query).get("name", ["world"])[0]
    return Response.json({"style": "on_fetch", "method": request.method, "greeting": f"{env.GREETING}, {name}!"})
