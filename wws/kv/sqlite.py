"""The default KV backend: one SQLite file under the project's `.wws/`, in WAL mode, surviving restarts.

Each thread gets its own connection (SQLite connections are not shared across threads); WAL lets readers run while
one writer commits, and several server processes (`--workers N`) can share the file.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

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
    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._created = False

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection; the first one creates the file (a project without KV workers never has one)."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            with self._lock:
                if not self._created:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    with sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None) as first:
                        first.execute("PRAGMA journal_mode=WAL")
                        first.execute(_SCHEMA)
                    first.close()
                    self._created = True
            connection = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def get(self, namespace: str, key: str) -> str | None:
        row = (
            self._connection()
            .execute("SELECT value FROM kv WHERE namespace = ? AND key = ?", (namespace, key))
            .fetchone()
        )
        return None if row is None else str(row[0])

    def put(self, namespace: str, key: str, value: str) -> None:
        self.apply(namespace, {key: value})

    def delete(self, namespace: str, key: str) -> None:
        self.apply(namespace, {key: None})

    def keys(self, namespace: str, prefix: str = "") -> list[str]:
        # A range on the primary key, not LIKE (whose wildcards a prefix could contain).
        rows = self._connection().execute(
            "SELECT key FROM kv WHERE namespace = ? AND key >= ? AND substr(key, 1, ?) = ? ORDER BY key",
            (namespace, prefix, len(prefix), prefix),
        )
        return [str(row[0]) for row in rows]

    def items(self, namespace: str) -> dict[str, str]:
        rows = self._connection().execute("SELECT key, value FROM kv WHERE namespace = ?", (namespace,))
        return {str(key): str(value) for key, value in rows}

    def apply(self, namespace: str, changes: Changes) -> None:
        if not changes:
            return
        connection = self._connection()
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
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
