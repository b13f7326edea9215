"""What survives between requests: nothing in `request` isolation (a fresh instance each time), module state in
`instance` isolation; and what differs between fresh instances."""

from __future__ import annotations

import pytest

from tests.runtimes.python.conftest import MakePyWorker, get_json

COUNTER = """
    import json
    import sys

    hits = []

    def worker(request):
        hits.append(1)
        sys.modules.setdefault("leftover", request.url)
        return Response(json.dumps({"hits": len(hits), "leftover": sys.modules["leftover"]}))
"""


def test_request_isolation_shares_nothing_between_requests(py_worker: MakePyWorker) -> None:
    worker = py_worker(COUNTER)
    answers = [get_json(worker, f"http://localhost/{index}") for index in range(3)]
    assert answers == [{"hits": 1, "leftover": f"http://localhost/{index}"} for index in range(3)]


def test_instance_isolation_keeps_module_state(py_worker: MakePyWorker) -> None:
    worker = py_worker(COUNTER, 'isolation = "instance"\n')
    answers = [get_json(worker, f"http://localhost/{index}") for index in range(3)]
    assert [answer["hits"] for answer in answers] == [1, 2, 3]
    assert {answer["leftover"] for answer in answers} == {"http://localhost/0"}


RANDOMNESS = """
    import os
    import random
    import secrets
    import uuid

    def worker(request):
        import json
        return Response(json.dumps({
            "random": random.random(), "uuid": str(uuid.uuid4()), "urandom": os.urandom(8).hex(),
            "token": secrets.token_hex(8), "hash": hash("same text"), "hash_int": hash(12345),
        }))
"""


@pytest.mark.parametrize("isolation", ["request", "instance"])
def test_randomness_differs_between_requests(py_worker: MakePyWorker, isolation: str) -> None:
    worker = py_worker(RANDOMNESS, f'isolation = "{isolation}"\n')
    answers = [get_json(worker) for _ in range(4)]
    for field in ("random", "uuid", "urandom", "token"):
        assert len({answer[field] for answer in answers}) == 4, field
    assert {answer["hash_int"] for answer in answers} == {12345}  # Python never randomises int hashes


def test_str_hash_is_stable_within_an_engine_build(py_worker: MakePyWorker) -> None:
    """Python salts str hashes per process; CPython computes its salt before the engine's snapshot is taken, so
    every instance of one engine build shares it (as the children of a fork do). This pins that documented
    behaviour: if it changes, the docs must change with it."""
    worker = py_worker(RANDOMNESS)
    assert len({get_json(worker)["hash"] for _ in range(3)}) == 1
