"""Hot reload, with real files and a real server: every kind of change is served without a restart, a broken save
leaves the previous version serving, and requests in flight finish on the version they started with."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import running
from wws.messages import WorkerRequest
from wws.sandbox.engine import Sandbox
from wws.server.app import create_app
from wws.server.project import Project
from wws.server.reload import ProjectWatcher
from wws.worker.prepare import STATE_FOLDER
from wws.worker.worker import Worker

TIMEOUT = 15.0


def js_worker(text: str) -> str:
    return f"export default {{ fetch(request, env) {{ return new Response({text}); }} }};\n"


def eventually(probe: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {TIMEOUT} s: {what}")
        time.sleep(0.02)


class Served:
    """A project served by uvicorn with reload on."""

    def __init__(self, root: Path, url: str, project: Project):
        self.root = root
        self.url = url
        self.project = project

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=TIMEOUT)

    def text(self, path: str) -> str:
        return self.get(path).text

    def serves(self, path: str, text: str) -> None:
        eventually(lambda: self.get(path).text == text, f"{path} answers {text!r}")

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def versions(self, language: str) -> set[str]:
        folder = self.root / STATE_FOLDER / language
        return {item.name for item in folder.iterdir() if not item.name.startswith(".")} if folder.is_dir() else set()


@pytest.fixture
def served(tmp_path: Path, sandbox: Sandbox) -> Iterator[Served]:
    root = tmp_path / "project"
    root.mkdir()
    (root / "hello.js").write_text(js_worker("'v1'"))
    app = create_app(root, watch=True, sandbox=sandbox, kv="memory")
    with running(app) as url:
        yield Served(root, url, app.state.project)


def test_a_changed_handler_serves_its_new_version(served: Served) -> None:
    assert served.text("/hello") == "v1"
    served.write("hello.js", js_worker("'v2'"))
    served.serves("/hello", "v2")


def test_a_new_version_is_loaded_before_it_takes_traffic(served: Served) -> None:
    assert served.text("/hello") == "v1"
    old = served.project.workers["/hello"]
    served.write("hello.js", js_worker("'v2'"))
    eventually(lambda: served.project.workers["/hello"] is not old, "the new version replaces the old")
    assert served.project.workers["/hello"].prepared is not None, "prepared and loaded before any request"
    assert served.text("/hello") == "v2"


def test_added_renamed_and_deleted_handlers_change_the_routes(served: Served) -> None:
    served.write("api/items.js", js_worker("'items'"))
    served.serves("/api/items", "items")
    (served.root / "api" / "items.js").rename(served.root / "api" / "things.js")
    served.serves("/api/things", "items")
    assert served.get("/api/items").status_code == 404
    versions = served.versions("javascript")
    (served.root / "api" / "things.js").unlink()
    eventually(lambda: served.get("/api/things").status_code == 404, "a deleted handler is no longer served")
    eventually(lambda: len(served.versions("javascript")) < len(versions), "its prepared folders are removed")
    assert served.text("/hello") == "v1", "the others keep serving"


def test_a_config_change_reloads_the_worker(served: Served) -> None:
    served.write("hello.js", js_worker("env.GREETING ?? 'none'"))
    served.serves("/hello", "none")
    served.write("hello.toml", '[vars]\nGREETING = "hi"\n')
    served.serves("/hello", "hi")


def test_a_changed_helper_reloads_the_worker_that_imports_it(served: Served) -> None:
    served.write("_lib/words.js", "export const word = 'first';\n")
    served.write("greet.js", "import { word } from './_lib/words.js';\n" + js_worker("word"))
    served.serves("/greet", "first")
    served.write("_lib/words.js", "export const word = 'second';\n")
    served.serves("/greet", "second")


@pytest.fixture(scope="module")
def python_engine(tmp_path_factory: pytest.TempPathFactory, sandbox: Sandbox) -> None:
    """Build the Python engine (once per machine, about 15 s) before the timed waits of a reload."""
    handler = tmp_path_factory.mktemp("python-engine") / "warm.py"
    handler.write_text("def worker(request):\n    return None\n")
    worker = Worker(handler, sandbox=sandbox)
    try:
        worker.load()
    finally:
        worker.close()


@pytest.mark.usefixtures("python_engine")
def test_a_python_worker_and_its_helper_package_reload(served: Served) -> None:
    served.write("_py/words.py", "WORD = 'snake'\n")
    served.write(
        "py.py",
        "from workers import Response\nfrom _py.words import WORD\n\ndef on_fetch(request, env):\n"
        "    return Response(WORD)\n",
    )
    served.serves("/py", "snake")
    served.write("_py/words.py", "WORD = 'python'\n")
    served.serves("/py", "python")


def test_a_save_that_fails_to_load_leaves_the_previous_version_serving(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    served.write("hello.js", js_worker("'v2'"))
    served.serves("/hello", "v2")
    served.write("hello.js", "export default { fetch() { return new Response('broken' }\n")
    eventually(lambda: "previous version keeps serving" in caplog.text, "the failure is logged")
    assert "hello.js:1" in caplog.text, "the log names the file and the line"
    assert served.text("/hello") == "v2"
    served.write("hello.js", js_worker("'fixed'"))
    served.serves("/hello", "fixed")


def test_a_malformed_config_leaves_the_previous_version_serving(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    served.write("hello.toml", '[vars]\nGREETING = "hi"\n')
    served.write("hello.js", js_worker("env.GREETING"))
    served.serves("/hello", "hi")
    served.write("hello.toml", "[vars\n")
    eventually(lambda: "invalid TOML" in caplog.text, "the config error is logged")
    assert "hello.toml" in caplog.text
    assert served.text("/hello") == "hi"
    served.write("hello.toml", '[vars]\nGREETING = "hello again"\n')
    served.serves("/hello", "hello again")


def test_public_files_are_served_as_they_change(served: Served) -> None:
    served.write("public/page.html", "<p>one</p>")
    served.serves("/page.html", "<p>one</p>")
    served.write("public/page.html", "<p>two</p>")
    served.serves("/page.html", "<p>two</p>")


def test_a_request_in_flight_finishes_on_the_version_it_started_with(served: Served) -> None:
    slow = "(() => { const end = Date.now() + 700; while (Date.now() < end) {} return 'old'; })()"
    served.write("slow.js", js_worker(slow))
    served.serves("/slow", "old")
    answers: list[str] = []
    request = threading.Thread(target=lambda: answers.append(served.text("/slow")))
    request.start()
    time.sleep(0.2)
    served.write("slow.js", js_worker("'new'"))
    served.serves("/slow", "new")
    request.join()
    assert answers == ["old"]


def test_only_the_current_and_previous_prepared_folders_are_kept(served: Served) -> None:
    assert served.text("/hello") == "v1"
    for version in ("v2", "v3", "v4"):
        served.write("hello.js", js_worker(f"'{version}'"))
        served.serves("/hello", version)
    assert len(served.versions("javascript")) == 2


def test_a_burst_of_writes_is_one_reload(tmp_path: Path, sandbox: Sandbox) -> None:
    (tmp_path / "hello.js").write_text(js_worker("'v1'"))
    project = Project(tmp_path, sandbox=sandbox, kv="memory")
    project.preload()
    watcher = ProjectWatcher(project, debounce=0.3)
    watcher.start()
    try:
        for version in range(2, 7):
            (tmp_path / "hello.js").write_text(js_worker(f"'v{version}'"))
        eventually(lambda: watcher.reloads > 0, "a reload")
        time.sleep(0.5)
        assert watcher.reloads == 1
        worker = project.workers["/hello"]
        assert worker.prepared is not None
        assert worker.handle(WorkerRequest(url="http://localhost/hello")).body == b"v6"
    finally:
        watcher.stop()
        project.close()
