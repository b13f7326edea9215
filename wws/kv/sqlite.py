"""The default KV backend: one SQLite file under the project's `.wws/`, in WAL mode, surviving restarts.

Connections come from a small pool, one operation at a time; WAL lets readers run while one writer commits, and
several server processes (`--workers N`) can share the file.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from wws.errors import KVUnavailable
from wws.kv.base import Changes

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID
"""
BUSY_TIMEOUT_MS = 5000


class SqliteKV:
    def __init__(self, path: Path, pool_size: int = 8):
        self.path = path
        self._pool_size = pool_size
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._created = False

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection for one operation, from a small pool: request threads come and go (the thread pool retires
        idle ones), so connections are not tied to threads. The first one creates the file. SQLite's operational
        failures (locked past `BUSY_TIMEOUT_MS`, a file that cannot be opened or written) are `KVUnavailable`."""
        try:
            with self._pooled() as connection:
                yield connection
        except sqlite3.OperationalError as exc:
            raise KVUnavailable(f"the SQLite file {self.path}: {exc}") from exc

    @contextlib.contextmanager
    def _pooled(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            connection = self._idle.pop() if self._idle else None
            if connection is None and not self._created:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                first = self._connect()
                first.execute("PRAGMA journal_mode=WAL")
                first.execute(_SCHEMA)
                connection, self._created = first, True
        if connection is None:
            connection = self._connect()
        try:
            yield connection
        finally:
            with self._lock:
                keep = len(self._idle) < self._pool_size and not connection.in_transaction
                if keep:
                    self._idle.append(connection)
            if not keep:
                connection.close()

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection

    def get(self, namespace: str, key: str) -> str | None:
        with self._connection() as connection:
            row = connection.execute(
                "SELECT value FROM kv WHERE namespace = ? AND key = ?", (namespace, key)
            ).fetchone()
        return None if row is None else str(row[0])

    def put(self, namespace: str, key: str, value: str) -> None:
        self.apply(namespace, {key: value})

    def delete(self, namespace: str, key: str) -> None:
        self.apply(namespace, {key: None})

    def keys(self, namespace: str, prefix: str = "") -> list[str]:
        # A range on the primary key, not LIKE (whose wildcards a prefix could contain).
        with self._connection() as connection:
            rows = connection.execute(
                "SELECT key FROM kv WHERE namespace = ? AND key >= ? AND substr(key, 1, ?) = ? ORDER BY key",
                (namespace, prefix, len(prefix), prefix),
            ).fetchall()
        return [str(row[0]) for row in rows]

    def items(self, namespace: str) -> dict[str, str]:
        with self._connection() as connection:
            rows = connection.execute("SELECT key, value FROM kv WHERE namespace = ?", (namespace,)).fetchall()
        return {str(key): str(value) for key, value in rows}

    def apply(self, namespace: str, changes: Changes) -> None:
        if not changes:
            return
        with self._connection() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                for key, value in changes.items():
                    if value is None:
                        connection.execute("DELETE FROM kv WHERE namespace = ? AND key = ?", (namespace, key))
                    else:
                        connection.execute(
                            "INSERT INTO kv (namespace, key, value) VALUES (?, ?, ?) "
                            "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value",
                            (namespace, key, value),
                        )
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise

    @property
    def open_connections(self) -> int:
        """Idle connections kept (for tests: the pool stays bounded however many threads used it)."""
        with self._lock:
            return len(self._idle)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
