"""The three KV backends behave the same: per-key changes, prefixes, namespaces apart, concurrent writers."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from wws.errors import WwsError
from wws.kv import KVStore, changes_between, open_kv


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KVStore]:
    spec = request.getfixturevalue("redis_url") if request.param == "redis" else request.param
    kv = open_kv(spec, tmp_path)
    yield kv
    kv.close()


@pytest.fixture
def namespace() -> str:
    """A namespace of its own per test (the Redis server is shared by the session)."""
    return f"test-{uuid.uuid4().hex[:8]}"


def test_kv_put_get_delete(store: KVStore, namespace: str) -> None:
    assert store.get(namespace, "a") is None
    store.put(namespace, "a", "1")
    store.put(namespace, "a", "2")
    assert store.get(namespace, "a") == "2"
    store.delete(namespace, "a")
    assert store.get(namespace, "a") is None
    store.delete(namespace, "never-there")


def test_kv_lists_keys_by_prefix_sorted(store: KVStore, namespace: str) -> None:
    for key in ["user:2", "user:1", "users", "session:1", "user%_"]:
        store.put(namespace, key, "x")
    assert store.keys(namespace, "user:") == ["user:1", "user:2"]
    assert store.keys(namespace, "user%") == ["user%_"]
    assert store.keys(namespace) == sorted(["user:2", "user:1", "users", "session:1", "user%_"])


def test_kv_namespaces_are_apart(store: KVStore, namespace: str) -> None:
    store.put(namespace, "k", "mine")
    store.put(namespace + "-other", "k", "theirs")
    assert store.items(namespace) == {"k": "mine"}
    assert store.items(namespace + "-other") == {"k": "theirs"}


def test_kv_apply_writes_and_deletes_per_key(store: KVStore, namespace: str) -> None:
    store.apply(namespace, {"keep": "1", "drop": "2", "change": "3"})
    store.apply(namespace, {"drop": None, "change": "4", "new": "5"})
    assert store.items(namespace) == {"keep": "1", "change": "4", "new": "5"}


def test_kv_keeps_unicode_and_empty_values(store: KVStore, namespace: str) -> None:
    store.put(namespace, "ключ", "värde ✓")
    store.put(namespace, "empty", "")
    assert store.get(namespace, "ключ") == "värde ✓"
    assert store.get(namespace, "empty") == ""


def test_kv_concurrent_writers_of_different_keys_all_persist(store: KVStore, namespace: str) -> None:
    barrier = threading.Barrier(8)

    def writer(index: int) -> None:
        barrier.wait()
        for round_ in range(25):
            store.apply(namespace, {f"w{index}:{round_}": str(round_)})

    threads = [threading.Thread(target=writer, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.items(namespace)) == 8 * 25


def test_sqlite_kv_survives_a_restart_and_creates_its_file_lazily(tmp_path: Path) -> None:
    kv = open_kv("sqlite", tmp_path)
    assert not (tmp_path / ".wws" / "kv.sqlite3").exists()
    kv.put("ns", "a", "1")
    kv.close()
    assert (tmp_path / ".wws" / "kv.sqlite3").is_file()
    again = open_kv("sqlite", tmp_path)
    assert again.get("ns", "a") == "1"
    again.close()


def test_sqlite_kv_path_is_relative_to_the_project(tmp_path: Path) -> None:
    kv = open_kv("sqlite:state/data.db", tmp_path)
    kv.put("ns", "a", "1")
    kv.close()
    assert (tmp_path / "state" / "data.db").is_file()


def test_open_kv_refuses_unknown_specs_and_unreachable_redis(tmp_path: Path) -> None:
    with pytest.raises(WwsError, match="expected 'sqlite'"):
        open_kv("postgres://x", tmp_path)
    with pytest.raises(WwsError, match="cannot reach Redis"):
        open_kv("redis://127.0.0.1:1/0", tmp_path)


@pytest.mark.parametrize(
    ("before", "after", "changes"),
    [
        ({"a": "1"}, {"a": "1"}, {}),
        ({"a": "1"}, {"a": "2"}, {"a": "2"}),
        ({"a": "1", "b": "2"}, {"a": "1"}, {}),
        ({"a": "1"}, {"a": None}, {"a": None}),
        ({}, {"gone": None}, {"gone": None}),
        ({}, {"new": "x"}, {"new": "x"}),
    ],
)
def test_changes_between_keeps_only_what_the_worker_changed(
    before: dict[str, str], after: dict[str, str | None], changes: dict[str, str | None]
) -> None:
    assert changes_between(before, after) == changes


def test_sqlite_kv_keeps_a_bounded_pool_however_many_threads_use_it(tmp_path: Path) -> None:
    kv = open_kv("sqlite", tmp_path)
    threads = [threading.Thread(target=kv.put, args=("ns", f"k{index}", "v")) for index in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(kv.items("ns")) == 60
    assert kv.open_connections <= 8  # type: ignore[attr-defined]
    kv.close()
