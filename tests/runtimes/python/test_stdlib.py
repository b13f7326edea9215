"""The whole standard library is importable from a handler, including the modules the engine did not pre-import."""

from __future__ import annotations

from tests.runtimes.python.conftest import MakePyWorker, get, get_json

BREADTH = """
    import json

    def worker(request):
        import base64, csv, dataclasses, datetime, decimal, hashlib, io, random, re, typing, urllib.parse, uuid
        import zoneinfo

        @dataclasses.dataclass
        class Point:
            x: int
            y: int

        rows = list(csv.reader(io.StringIO("a,b\\n1,2\\n")))
        paris = datetime.datetime(2024, 7, 1, 12, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
        Pair = typing.NamedTuple("Pair", [("left", int), ("right", int)])
        return Response(json.dumps({
            "json": json.loads('{"a": [1, 2]}'),
            "re": re.findall(r"\\d+", "a1b22c333"),
            "datetime": datetime.date(2024, 2, 28).isoformat(),
            "decimal": str(decimal.Decimal("0.1") + decimal.Decimal("0.2")),
            "hashlib": hashlib.sha256(b"wws").hexdigest(),
            "base64": base64.b64encode(b"wws").decode(),
            "urllib": urllib.parse.urlencode({"q": "a b", "n": 1}),
            "uuid": uuid.UUID("12345678123456781234567812345678").version is None,
            "csv": rows,
            "random": random.Random(42).randint(1, 1000),
            "dataclasses": dataclasses.asdict(Point(1, 2)),
            "typing": Pair(1, 2)._asdict(),
            "zoneinfo": paris.utcoffset().total_seconds(),
        }))
"""


def test_stdlib_breadth(py_worker: MakePyWorker) -> None:
    answer = get_json(py_worker(BREADTH))
    import hashlib  # noqa: PLC0415 - the host computes the expected digest
    import random  # noqa: PLC0415

    assert answer == {
        "json": {"a": [1, 2]},
        "re": ["1", "22", "333"],
        "datetime": "2024-02-28",
        "decimal": "0.3",
        "hashlib": hashlib.sha256(b"wws").hexdigest(),
        "base64": "d3dz",
        "urllib": "q=a+b&n=1",
        "uuid": True,
        "csv": [["a", "b"], ["1", "2"]],
        "random": random.Random(42).randint(1, 1000),
        "dataclasses": {"x": 1, "y": 2},
        "typing": {"left": 1, "right": 2},
        "zoneinfo": 7200.0,
    }


def test_modules_not_pre_imported_load_from_the_stdlib_folder(py_worker: MakePyWorker) -> None:
    worker = py_worker(
        """
        import json
        import sys

        def worker(request):
            before = {name: name in sys.modules for name in ("fractions", "statistics", "xml.etree.ElementTree")}
            import fractions, statistics
            import xml.etree.ElementTree as tree
            return Response(json.dumps({
                "before": before,
                "fractions": str(fractions.Fraction(1, 3) + fractions.Fraction(1, 6)),
                "statistics": statistics.median([3, 1, 2]),
                "xml": tree.fromstring("<a><b>x</b></a>").find("b").text,
                "file": fractions.__file__,
                "version": list(sys.version_info[:2]),
            }))
        """
    )
    answer = get_json(worker)
    assert answer["before"] == {"fractions": False, "statistics": False, "xml.etree.ElementTree": False}
    assert (answer["fractions"], answer["statistics"], answer["xml"]) == ("1/2", 2, "x")
    assert answer["file"] == "/python/fractions.py"
    assert answer["version"] == [3, 14]


def test_the_stdlib_is_read_only(py_worker: MakePyWorker) -> None:
    worker = py_worker(
        """
        def worker(request):
            for path in ("/python/os.py", "/src/index.py", "/python/new.py"):
                try:
                    open(path, "a").close()
                except OSError:
                    continue
                return Response(f"wrote {path}", status=500)
            return Response("read-only")
        """
    )
    assert get(worker).body == b"read-only"
