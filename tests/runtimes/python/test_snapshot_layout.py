"""The snapshot keeps what the request path runs together, so a fresh instance touches few pages to run it."""

from __future__ import annotations

from tests.runtimes.python.conftest import MakePyWorker, get_json

REQUEST_PATH_SPAN = 256 * 1024
"""The request path's code is about 30 objects of a few KiB each: side by side, they fit well within this."""


def test_the_code_of_the_request_path_lies_together_and_other_code_does_not(py_worker: MakePyWorker) -> None:
    worker = py_worker(
        """
        import json, json.decoder, random, sys, textwrap
        import workers
        from workers import Response

        app = sys.modules["_wws_app"]
        REQUEST_PATH = {
            "glue: _respond": app._respond, "glue: _encode": app._encode, "glue: handle": app.WitWorld.handle,
            "workers: Request": workers.Request.__init__, "workers: Response": workers.Response.__init__,
            "JSONDecoder.raw_decode": json.decoder.JSONDecoder.raw_decode,
            "JSONEncoder.encode": json.JSONEncoder.encode, "Random.seed": random.Random.seed,
        }

        def worker(request):
            return Response(json.dumps({
                "compacted": app._COMPACTED,
                "request_path": {name: id(function.__code__) for name, function in REQUEST_PATH.items()},
                "elsewhere": id(textwrap.dedent.__code__),
            }))
        """
    )
    answer = get_json(worker)
    addresses = answer["request_path"]
    assert answer["compacted"] >= len(addresses)
    low, high = min(addresses.values()), max(addresses.values())
    assert high - low < REQUEST_PATH_SPAN, {name: hex(address) for name, address in addresses.items()}
    assert not low - REQUEST_PATH_SPAN < answer["elsewhere"] < high + REQUEST_PATH_SPAN


GLUE_WINDOW = 1024 * 1024
GLUE_TOGETHER = 0.8
"""The share of the glue's classes and functions that lie within one window of this size. Not all: a block that
the import freed below the held holes can take one of them (without the held holes, the best window held 4 of 10)."""


def test_the_glue_classes_and_functions_lie_together(py_worker: MakePyWorker) -> None:
    worker = py_worker(
        """
        import json, sys
        import _wws_host, workers
        from workers import Response

        app = sys.modules["_wws_app"]
        GLUE = {
            "Request": workers.Request, "Response": workers.Response, "Headers": workers.Headers,
            "Cache": workers.Cache, "Env": workers.Env, "fetch": workers.fetch, "LogStream": _wws_host.LogStream,
            "EventLoop": _wws_host.EventLoop, "WitWorld": app.WitWorld, "_load": app._load, "_respond": app._respond,
            "_encode": app._encode,
        }

        def worker(request):
            return Response(json.dumps({name: id(obj) for name, obj in GLUE.items()}))
        """
    )
    addresses = get_json(worker)
    ordered = sorted(addresses.values())
    most_in_a_window = max(sum(1 for address in ordered if start <= address < start + GLUE_WINDOW) for start in ordered)
    assert most_in_a_window >= GLUE_TOGETHER * len(ordered), {name: hex(address) for name, address in addresses.items()}
