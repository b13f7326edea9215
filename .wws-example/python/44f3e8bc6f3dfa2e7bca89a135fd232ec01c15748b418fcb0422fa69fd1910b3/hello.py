# The original wws style: `worker(request)` returns a Response; Request, Response and Cache need no import.
import os


def worker(request):
    name = request.url.split("name=", 1)[1] if "name=" in request.url else "world"
    return Response(f"{os.environ['GREETING']}, {name}! (Python)")
