# Outbound HTTP: the host sends the request, and only to the hosts fetch.toml allows.
from workers import Response, fetch


async def on_fetch(request, env):
    response = await fetch(f"{env.ORIGIN}/python/hello?name=fetch")
    return Response.json({"status": response.status, "body": await response.text()})
