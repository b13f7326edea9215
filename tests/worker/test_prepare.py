"""Prepared folders: `.wws/<language>/<blake3 of inputs>/`, reused for the same inputs, garbage-collected."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import MakeWorker
from wws.messages import WorkerRequest
from wws.worker.holds import lock_path
from wws.worker.prepare import find_project_root


def test_prepare_writes_the_source_and_a_manifest_under_the_inputs_hash(
    make_worker: MakeWorker, tmp_path: Path
) -> None:
    worker = make_worker("echo", name="api/echo.wasm")
    prepared = worker.prepare()
    assert prepared.folder == tmp_path / ".wws" / "native" / prepared.digest
    assert len(prepared.digest) == 64
    assert int(prepared.digest, 16) >= 0
    assert (prepared.folder / "echo.wasm").read_bytes() == worker.path.read_bytes()
    manifest = json.loads((prepared.folder / "wws-worker.json").read_text())
    assert manifest == {
        "worker": "api/echo.wasm",
        "language": "native",
        "source": "echo.wasm",
        "inputs": prepared.digest,
    }
    assert not prepared.reused


def test_prepare_reuses_the_folder_when_inputs_are_unchanged(make_worker: MakeWorker) -> None:
    worker = make_worker("echo")
    first = worker.prepare()
    marker = first.folder / "echo.wasm"
    before = marker.stat().st_mtime_ns
    second = worker.prepare()
    assert second.reused
    assert second.folder == first.folder
    assert marker.stat().st_mtime_ns == before


def test_prepare_changes_folder_when_the_source_or_the_config_changes(
    make_worker: MakeWorker, native_modules: dict[str, Path]
) -> None:
    worker = make_worker("echo")
    original = worker.prepare().digest
    worker.path.write_bytes(native_modules["counter"].read_bytes())
    changed_source = worker.prepare().digest
    configured = make_worker("echo", "[limits]\ntimeout_ms = 5\n", name="configured/echo.wasm").prepare().digest
    plain_copy = make_worker("echo", name="plain/echo.wasm").prepare().digest
    assert len({original, changed_source, configured, plain_copy}) == 4


def test_prepare_keeps_the_current_and_previous_versions_only(make_worker: MakeWorker) -> None:
    worker = make_worker("echo")
    folders = []
    for version in range(3):
        worker.path.write_bytes(worker.path.read_bytes() + bytes([version]))  # a new version (never loaded)
        folders.append(worker.prepare().folder)
    assert not folders[0].exists()
    assert folders[1].is_dir()
    assert folders[2].is_dir()


def test_prepared_folder_is_what_the_guest_sees_at_src(make_worker: MakeWorker) -> None:
    report = make_worker("escape").handle(WorkerRequest(url="http://x/")).body.decode()
    assert "own-source ok" in report


def test_project_root_is_the_nearest_folder_with_wws_toml(tmp_path: Path) -> None:
    (tmp_path / "wws.toml").write_text("")
    handler = tmp_path / "api" / "v1" / "x.wasm"
    handler.parent.mkdir(parents=True)
    handler.write_bytes(b"")
    assert find_project_root(handler) == tmp_path
    assert find_project_root(tmp_path / "elsewhere" / "y.wasm") == tmp_path


def test_a_version_a_process_still_uses_is_not_removed_by_others_preparing_theirs(
    make_worker: MakeWorker, tmp_path: Path
) -> None:
    """The cause of "failed to add preopen dir" with several processes: one handler whose `[vars]` differ by
    process (`PROC = "$PROC"`) is one version per process; a third one made the first one's folder the oldest of
    the worker's record, and removed it while the first process still made instances from it."""
    config = '[vars]\nPROC = "{}"\n'
    first = make_worker("echo", config.format(1))
    first.handle(WorkerRequest(url="http://x/"))
    for process in (2, 3, 4):
        other = make_worker("echo", config.format(process))
        other.handle(WorkerRequest(url="http://x/"))
    assert first.prepared is not None
    assert first.prepared.folder.is_dir()
    assert first.handle(WorkerRequest(url="http://x/")).status == 201  # the echo module's answer
    record = json.loads(next((tmp_path / ".wws" / "workers").glob("*.json")).read_text())
    assert first.prepared.digest in record["versions"], "held, so still listed for a later collection"


def test_a_folder_no_process_holds_any_more_is_removed_at_the_next_collection(make_worker: MakeWorker) -> None:
    config = '[vars]\nPROC = "{}"\n'
    workers = [make_worker("echo", config.format(process)) for process in range(4)]
    folders = [worker.prepare().folder for worker in workers]
    assert all(folder.is_dir() for folder in folders)
    workers[0].close()
    workers[1].close()
    make_worker("echo", config.format(4)).prepare()
    assert not folders[0].exists()
    assert not folders[1].exists()
    assert not lock_path(folders[0]).exists()
    assert folders[2].is_dir(), "held"
    assert folders[3].is_dir()


HOLDER = """
import sys, time
from pathlib import Path
from wws.worker.worker import Worker
worker = Worker(Path(sys.argv[1]))
worker.prepare()
print(worker.prepared.folder, flush=True)
time.sleep(600)
"""


def test_another_process_holds_its_folder_until_it_dies(make_worker: MakeWorker, tmp_path: Path) -> None:
    """Between processes (the kernel's `flock`): a folder is held while its process lives, even killed with no
    chance to let go, and collected after."""
    config = '[vars]\nPROC = "{}"\n'
    make_worker("echo", config.format("holder"))
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "echo.wasm")], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None
        held = Path(holder.stdout.readline().decode().strip())
        assert held.is_dir()
        for process in range(3):
            make_worker("echo", config.format(process)).prepare().release()
        assert held.is_dir(), "removed while another process held it"
    finally:
        holder.kill()
        holder.communicate()
    make_worker("echo", config.format("after")).prepare()
    assert not held.exists()
