from workers import Response


def worker(request):
    return Response("Hello, world!")
