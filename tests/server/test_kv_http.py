"""KV through the server: namespaces shared by the workers naming them, per-key changes under concurrency, on
SQLite, memory and Redis."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from tests.server.conftest import Client, add_worker
from wws.sandbox.engine import Sandbox
from wws.server import create_app


@pytest.fixture
def namespace() -> str:
    return f"ns-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def project(tmp_path: Path, native_modules: dict[str, Path], namespace: str) -> Path:
    root = tmp_path / "project"
    config = f'[data.kv]\nnamespace = "{namespace}"\n'
    add_worker(root, native_modules["kv_writer"], "write.wasm", config)
    add_worker(root, native_modules["kv_writer"], "also.wasm", config)
    add_worker(root, native_modules["kv_writer"], "elsewhere.wasm", '[data.kv]\nnamespace = "other"\n')
    add_worker(root, native_modules["hostcall"], "host.wasm", config)
    return root


@pytest.fixture(params=["sqlite", "memory", "redis"])
def app(request: pytest.FixtureRequest, project: Path, sandbox: Sandbox) -> Iterator[Starlette]:
    kv = request.getfixturevalue("redis_url") if request.param == "redis" else request.param
    application = create_app(project, sandbox=sandbox, kv=kv)
    yield application
    application.state.project.close()


def namespace_seen(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    seen: dict[str, str] = json.loads(response.content)
    return seen


def test_kv_changes_persist_and_reach_the_next_request(app: Starlette) -> None:
    client = Client(app)
    assert namespace_seen(client.post("/write", content=b"a=1")) == {}
    assert namespace_seen(client.post("/write", content=b"b=2")) == {"a": "1"}
    assert namespace_seen(client.post("/write", content=b"a")) == {"a": "1", "b": "2"}  # "a" alone deletes it
    assert namespace_seen(client.post("/write", content=b"c=3")) == {"b": "2"}


def test_kv_namespace_is_shared_by_the_workers_naming_it_only(app: Starlette) -> None:
    client = Client(app)
    client.post("/write", content=b"shared=yes")
    assert namespace_seen(client.post("/also", content=b"x=1")) == {"shared": "yes"}
    assert namespace_seen(client.post("/elsewhere", content=b"y=1")) == {}


def test_kv_is_reachable_through_host_calls_too(app: Starlette) -> None:
    client = Client(app)
    client.post("/write", content=b"from-protocol=1")
    put = client.post("/host", content=json.dumps({"op": "kv.put", "key": "from-host", "value": "2"}))
    assert json.loads(put.content) == {"ok": True, "value": None}
    listed = client.post("/host", content=json.dumps({"op": "kv.list", "prefix": "from-"}))
    assert json.loads(listed.content)["value"] == ["from-host", "from-protocol"]
    assert namespace_seen(client.post("/write", content=b"z=1")) == {"from-protocol": "1", "from-host": "2"}


def test_kv_concurrent_requests_writing_different_keys_all_persist(app: Starlette) -> None:
    """Each request gets the namespace as it was and answers with it plus its own key: a host that overwrote the
    whole namespace with each answer would keep only some of the keys."""

    async def burst() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as session:
            responses = await asyncio.gather(
                *(session.post("/write", content=f"key{index}={index}".encode()) for index in range(24))
            )
        return [response.status_code for response in responses]

    assert asyncio.run(burst()) == [200] * 24
    final = namespace_seen(Client(app).post("/write", content=b"last=1"))
    assert final == {f"key{index}": str(index) for index in range(24)}


def test_sqlite_kv_survives_a_server_restart(project: Path, sandbox: Sandbox) -> None:
    first = create_app(project, sandbox=sandbox)
    Client(first).post("/write", content=b"durable=1")
    first.state.project.close()
    second = create_app(project, sandbox=sandbox)
    try:
        assert namespace_seen(Client(second).post("/write", content=b"x=1")) == {"durable": "1"}
    finally:
        second.state.project.close()
    assert (project / ".wws" / "kv.sqlite3").is_file()
