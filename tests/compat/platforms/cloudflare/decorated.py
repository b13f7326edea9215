# `@handler` on a function that is not named on_fetch still answers.
from workers import Response, handler


@handler
async def respond(request):
    return Response("decorated " + request.method)
