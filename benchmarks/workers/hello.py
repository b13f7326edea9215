def worker(request):
    return Response("Hello, world!")
