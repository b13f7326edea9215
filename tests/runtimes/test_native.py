"""Native workers: the original wws protocol both ways, a clean load error for modules that cannot run."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.conftest import MakeWorker
from wws.errors import BadGuestOutput, GuestTrap, LoadError
from wws.messages import WorkerRequest


def echo(make_worker: MakeWorker, request: WorkerRequest) -> dict[str, object]:
    response = make_worker("echo").handle(request)
    received: dict[str, object] = json.loads(response.body)
    return received


def test_native_module_receives_the_request_in_the_original_protocol(make_worker: MakeWorker) -> None:
    request = WorkerRequest(
        url="http://localhost:8080/items/42?sort=asc",
        method="PUT",
        headers=(("content-type", "application/json"), ("accept", "a/b"), ("accept", "c/d")),
        body='{"name": "café"}'.encode(),
        params={"id": "42"},
        kv={"visits": "3"},
    )
    received = echo(make_worker, request)
    assert received == {
        "url": "http://localhost:8080/items/42?sort=asc",
        "method": "PUT",
        "headers": {"content-type": "application/json", "accept": "a/b, c/d"},
        "body": '{"name": "café"}',
        "params": {"id": "42"},
        "kv": {"visits": "3"},
    }


def test_native_binary_body_reaches_the_module_base64_flagged(make_worker: MakeWorker) -> None:
    body = bytes(range(256))
    received = echo(make_worker, WorkerRequest(url="http://x/", method="POST", body=body))
    assert received["body_base64"] is True
    assert base64.b64decode(str(received["body"])) == body


def test_native_response_status_headers_cookies_kv_and_base64_body(make_worker: MakeWorker) -> None:
    response = make_worker("echo").handle(WorkerRequest(url="http://x/"))
    assert response.status == 201
    assert response.header("content-type") == "application/json"
    assert response.header("x-echo") == "yes"
    assert [value for name, value in response.headers if name == "set-cookie"] == ["a=1", "b=2"]
    assert response.kv == {"seen": "1"}
    assert json.loads(response.body)["url"] == "http://x/"


def test_native_guest_sees_only_declared_env_vars(make_worker: MakeWorker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOST_SECRET", "do-not-leak")
    monkeypatch.setenv("GREETING_SOURCE", "from the host")
    config = '[vars]\nMESSAGE = "hi"\nFROM_HOST = "$GREETING_SOURCE"\nDEFAULTED = "${UNSET_VAR_X:-fallback}"\n'
    body = make_worker("env", config).handle(WorkerRequest(url="http://x/")).body.decode()
    assert sorted(body.splitlines()) == ["DEFAULTED=fallback", "FROM_HOST=from the host", "MESSAGE=hi"]


def test_native_files_outside_the_folder_and_declared_mounts_are_refused(
    make_worker: MakeWorker, tmp_path: Path
) -> None:
    data = tmp_path / "_data"
    data.mkdir()
    (data / "in.txt").write_text("input")
    worker = make_worker("escape", '[[folders]]\nfrom = "./_data"\nto = "/data"\n')
    report = dict(line.split() for line in worker.handle(WorkerRequest(url="http://x/")).body.decode().splitlines())
    assert report == {
        "own-source": "ok",
        "etc-passwd": "refused",
        "dotdot": "refused",
        "relative-dotdot": "refused",
        "write-src": "refused",
        "read-data": "ok",
        "write-data": "refused",
    }
    assert not (data / "out.txt").exists()
    assert not any(path.name == "new.txt" for path in tmp_path.rglob("*"))


def test_native_writable_mount_accepts_writes(make_worker: MakeWorker, tmp_path: Path) -> None:
    data = tmp_path / "_data"
    data.mkdir()
    worker = make_worker("escape", '[[folders]]\nfrom = "./_data"\nto = "/data"\nwritable = true\n')
    report = worker.handle(WorkerRequest(url="http://x/")).body.decode()
    assert "write-data ok" in report
    assert "write-src refused" in report
    assert (data / "out.txt").read_text() == "written"


def test_native_exit_code_zero_through_proc_exit_is_a_normal_end(make_worker: MakeWorker) -> None:
    response = make_worker("exit_zero").handle(WorkerRequest(url="http://x/"))
    assert (response.status, response.body) == (200, b"bye")


def test_native_nonzero_exit_is_an_error_naming_the_file_and_stderr(make_worker: MakeWorker) -> None:
    worker = make_worker("fail_exit")
    with pytest.raises(GuestTrap) as failure:
        worker.handle(WorkerRequest(url="http://x/"))
    assert failure.value.status == 500
    assert "fail_exit.wasm" in str(failure.value)
    assert "exited with code 3" in str(failure.value)
    assert "cannot connect to the database" in str(failure.value)
    assert "database" not in failure.value.public_message


def test_native_trap_is_a_500_naming_the_trap(make_worker: MakeWorker) -> None:
    with pytest.raises(GuestTrap) as failure:
        make_worker("trap").handle(WorkerRequest(url="http://x/"))
    assert "unreachable" in str(failure.value)
    assert "trap.wasm" in str(failure.value)


def test_native_output_that_is_not_a_response_is_a_502(make_worker: MakeWorker) -> None:
    with pytest.raises(BadGuestOutput) as failure:
        make_worker("bad_output").handle(WorkerRequest(url="http://x/"))
    assert failure.value.status == 502
    assert "not JSON" in str(failure.value)


def test_native_host_refuses_guest_pointers_outside_its_memory(make_worker: MakeWorker) -> None:
    response = make_worker("wild_pointer").handle(WorkerRequest(url="http://x/"))
    assert response.body == b"errno=21"  # EFAULT, and the host read nothing


@pytest.mark.parametrize(
    ("module", "reason"),
    [
        ("no_entry", "exports neither '_start' nor 'wws_handle'"),
        ("bad_import", "launch_missiles"),
    ],
)
def test_native_module_that_cannot_run_fails_at_load(make_worker: MakeWorker, module: str, reason: str) -> None:
    worker = make_worker(module)
    with pytest.raises(LoadError) as failure:
        worker.load()
    assert reason in str(failure.value)
    assert f"{module}.wasm" in str(failure.value)


def test_native_file_that_is_not_wasm_fails_at_load(make_worker: MakeWorker, tmp_path: Path) -> None:
    worker = make_worker("echo")
    worker.path.write_bytes(b"this is not a module")
    with pytest.raises(LoadError, match="not a valid WebAssembly module"):
        worker.load()
