# A library from requirements.txt (beside this file): a pure-Python wheel, installed by pip when the worker is
# prepared. This one is built from examples/_src/slugkit by scripts/build-examples.sh.
from slugkit import slugify


def worker(request):
    title = request.url.split("title=", 1)[1] if "title=" in request.url else "Hello, Wasm World"
    return Response(slugify(title.replace("%20", " ").replace("+", " ")))
