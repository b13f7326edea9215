"""A broken save never replaces a working version, in any process of a project: a process that never loaded the
worker (another of `--workers N`, one started after the save) serves the worker's last version that loaded, as its
record in `.wws/workers/` and its prepared folder say, and says so in the log; the next save that loads is served
by every process."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import serving
from tests.server.test_reload import eventually
from wws.errors import LoadError
from wws.messages import WorkerRequest
from wws.sandbox.engine import Sandbox
from wws.server.project import Project


@dataclass(frozen=True)
class Language:
    """A worker's file in one language: `write(folder, version)` saves version `version` ("broken": one that cannot
    load), and the text version `version` answers."""

    name: str
    route: str
    write: Callable[[Path, str], Path]


def js(folder: Path, version: str) -> Path:
    text = "export default { fetch( };\n" if version == "broken" else (
        f"export default {{ fetch() {{ return new Response('{version}'); }} }};\n")  # fmt: skip
    (folder / "hello.js").write_text(text)
    return folder / "hello.js"


def python(folder: Path, version: str) -> Path:
    text = "def worker(request:\n" if version == "broken" else (
        f"def worker(request):\n    return Response('{version}')\n")  # fmt: skip
    (folder / "hello.py").write_text(text)
    return folder / "hello.py"


def native_writer(modules: dict[str, Path]) -> Callable[[Path, str], Path]:
    """Native versions: the fixture `whoami`, answering its `[vars] ROUTE` (the version) on its first line."""

    def write(folder: Path, version: str) -> Path:
        target = folder / "hello.wasm"
        if version == "broken":
            target.write_bytes(target.read_bytes()[:100])  # a save cut short
        else:
            shutil.copyfile(modules["whoami"], target)
            target.with_suffix(".toml").write_text(f'[vars]\nROUTE = "{version}"\n')
        return target

    return write


@pytest.fixture(params=["javascript", "python", "native"])
def language(request: pytest.FixtureRequest, native_modules: dict[str, Path]) -> Language:
    if request.param == "javascript":
        return Language("javascript", "/hello", js)
    if request.param == "python":
        return Language("python", "/hello", python)
    return Language("native", "/hello", native_writer(native_modules))


@pytest.fixture
def projects(tmp_path: Path, sandbox: Sandbox) -> Iterator[Callable[[], Project]]:
    """Each call opens the project in `tmp_path` as another server process would (they share only the files)."""
    opened: list[Project] = []

    def open_project() -> Project:
        project = Project(tmp_path, sandbox=sandbox, kv="memory")
        opened.append(project)
        return project

    yield open_project
    for project in opened:
        project.close()


def answer(project: Project, route: str) -> str:
    """The first line of what `route` answers (all a test worker says, or a native one's version)."""
    response = project.workers[route].handle(WorkerRequest(url=f"http://localhost{route}"))
    assert response.status == 200, response.body
    return response.body.decode().split("\n", 1)[0]


def test_a_process_that_never_loaded_the_worker_serves_its_last_version_that_loaded(
    language: Language, projects: Callable[[], Project], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    language.write(tmp_path, "v1")
    first = projects()
    assert answer(first, language.route) == "v1"
    handler = language.write(tmp_path, "broken")
    first.refresh([handler])
    assert answer(first, language.route) == "v1", "the process that had it keeps it"
    caplog.set_level(logging.WARNING)
    other = projects()  # never loaded the worker: its files cannot load
    assert answer(other, language.route) == "v1"
    assert "serving its last version that loaded in this project" in caplog.text
    assert handler.name in caplog.text
    language.write(tmp_path, "v2")
    for project in (first, other):
        project.refresh([handler])
        assert answer(project, language.route) == "v2"


def test_a_broken_config_is_served_by_the_last_version_that_loaded_with_its_config(
    projects: Callable[[], Project], tmp_path: Path
) -> None:
    (tmp_path / "hello.js").write_text(
        "export default { fetch(request, env) { return new Response(env.MESSAGE); } };\n"
    )
    (tmp_path / "hello.toml").write_text('[vars]\nMESSAGE = "from v1"\n')
    assert answer(projects(), "/hello") == "from v1"
    (tmp_path / "hello.toml").write_text("[vars\nMESSAGE = 'half a save'\n")
    other = projects()
    assert answer(other, "/hello") == "from v1"
    assert not other.failed
    (tmp_path / "hello.toml").write_text('[vars]\nMESSAGE = "from v2"\n')
    other.refresh([tmp_path / "hello.toml"])
    assert answer(other, "/hello") == "from v2"


def test_with_no_version_that_ever_loaded_a_broken_worker_still_answers_its_error(
    projects: Callable[[], Project], tmp_path: Path
) -> None:
    js(tmp_path, "broken")
    worker = projects().workers["/hello"]
    with pytest.raises(LoadError, match="cannot load"):
        worker.handle(WorkerRequest(url="http://localhost/hello"))


@pytest.mark.slow
def test_a_broken_save_is_never_served_by_any_process_of_a_default_server(
    tmp_path: Path, native_modules: dict[str, Path]
) -> None:
    """`wws serve` with its default `--workers auto` (a process per core): a worker loaded by one of them, then
    saved broken, is answered by its working version whichever process gets each request, in every language."""
    writers = {"hello.js": js, "hello.py": python, "hello.wasm": native_writer(native_modules)}
    routes = {"hello.js": "/js", "hello.py": "/py", "hello.wasm": "/native"}
    for name, write in writers.items():
        folder = tmp_path / routes[name].strip("/")
        folder.mkdir()
        write(folder, "v1")
    with serving(tmp_path) as (base, process):
        for route in routes.values():
            assert httpx.get(f"{base}{route}/hello", timeout=60).status_code == 200  # one process loads it
        for name, write in writers.items():
            write(tmp_path / routes[name].strip("/"), "broken")
        time.sleep(1)  # every process's reload has seen the save
        for route in routes.values():
            statuses = [httpx.get(f"{base}{route}/hello", timeout=60).status_code for _ in range(15)]
            assert statuses == [200] * 15, (route, statuses)
        for name, write in writers.items():
            write(tmp_path / routes[name].strip("/"), "v2")
        for route in routes.values():
            eventually(
                lambda route=route: all(
                    httpx.get(f"{base}{route}/hello", timeout=60).text.split("\n", 1)[0] == "v2" for _ in range(10)
                ),
                f"every process serves v2 at {route}",
            )
        process.terminate()
        _, log = process.communicate(timeout=20)
    broken = [line for line in log.splitlines() if "cannot load" in line]
    assert all(any(name in line for line in broken) for name in writers), log
