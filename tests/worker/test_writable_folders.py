"""A folder a worker may write to (`[[folders]]` with `writable = true`) is never part of its source: what the
worker writes there neither makes a new version nor is copied into its prepared folder, however many files it
holds (a Python worker's `_`-prefixed folders are otherwise part of it)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runtimes.support import MakeWorker, get, source_workers
from wws.errors import LoadError
from wws.runtimes.python import MAX_HELPER_FILES
from wws.sandbox.engine import Sandbox

MakePyWorker = MakeJsWorker = MakeWorker


@pytest.fixture
def py_worker(tmp_path: Path, sandbox: Sandbox) -> Iterator[MakeWorker]:
    with source_workers(tmp_path, sandbox, "index.py", textwrap.dedent) as make:
        yield make


@pytest.fixture
def js_worker(tmp_path: Path, sandbox: Sandbox) -> Iterator[MakeWorker]:
    with source_workers(tmp_path, sandbox, "index.js") as make:
        yield make


WRITES_OUT = """
import os

def worker(request):
    name = request.url.rsplit("/", 1)[-1]
    with open(f"/out/{name}.txt", "w") as file:
        file.write(name)
    return Response(str(len(os.listdir("/out"))))
"""

OUT_WRITABLE = """
[[folders]]
from = "./_out"
to = "/out"
writable = true
"""


def test_what_a_python_worker_writes_neither_changes_its_version_nor_enters_its_folder(
    py_worker: MakePyWorker, tmp_path: Path
) -> None:
    worker = py_worker(WRITES_OUT, OUT_WRITABLE, files={"_out/seed.txt": "seed", "_lib/helper.py": "X = 1\n"})
    before, sources = worker.inputs()
    response = get(worker, "http://localhost/first")
    assert response.status == 200
    assert response.body == b"2"
    assert (tmp_path / "_out" / "first.txt").read_text() == "first"
    after, _ = worker.inputs()
    assert after == before, "a file written into the writable folder made a new version"
    assert tmp_path / "_lib" / "helper.py" in sources, "the other _-prefixed folders are still its source"
    assert not any(path.is_relative_to(tmp_path / "_out") for path in sources)
    assert worker.prepared is not None
    assert (worker.prepared.folder / "_lib" / "helper.py").is_file()
    assert not (worker.prepared.folder / "_out").exists(), "copied into the prepared folder"


def test_a_writable_folder_with_more_files_than_helpers_may_hold_does_not_stop_the_worker(
    py_worker: MakePyWorker, tmp_path: Path
) -> None:
    files = {f"_out/{index}.txt": str(index) for index in range(MAX_HELPER_FILES + 50)}
    worker = py_worker(WRITES_OUT, OUT_WRITABLE, files=files)
    response = get(worker, "http://localhost/one-more")
    assert response.status == 200
    assert response.body == str(MAX_HELPER_FILES + 51).encode()


def test_a_read_only_underscore_folder_is_still_part_of_the_source(py_worker: MakePyWorker) -> None:
    """The exclusion is for folders the worker writes to; a read-only mount of a `_` folder stays its source."""
    config = '[[folders]]\nfrom = "./_data"\nto = "/data"\n'
    worker = py_worker("def worker(request):\n    return Response(open('/data/a.txt').read())\n", config,
                       files={"_data/a.txt": "one"})  # fmt: skip
    first, _ = worker.inputs()
    (worker.path.parent / "_data" / "a.txt").write_text("two")
    second, _ = worker.inputs()
    assert first != second


def test_a_javascript_worker_may_not_import_code_from_a_folder_it_may_write_to(js_worker: MakeJsWorker) -> None:
    source = 'import { x } from "./_out/x.js";\nexport default { fetch() { return new Response(x); } };\n'
    worker = js_worker(source, OUT_WRITABLE, files={"_out/x.js": "export const x = 'x';\n"})
    with pytest.raises(LoadError, match=r"imports _out/x\.js, from a folder it may write to"):
        worker.load()
