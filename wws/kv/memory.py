"""`--kv memory`: namespaces in this process's memory, gone at exit. For tests and throwaway runs."""

from __future__ import annotations

import threading

from wws.kv.base import Changes


class MemoryKV:
    def __init__(self) -> None:
        self._data: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def get(self, namespace: str, key: str) -> str | None:
        with self._lock:
            return self._data.get(namespace, {}).get(key)

    def put(self, namespace: str, key: str, value: str) -> None:
        self.apply(namespace, {key: value})

    def delete(self, namespace: str, key: str) -> None:
        self.apply(namespace, {key: None})

    def keys(self, namespace: str, prefix: str = "") -> list[str]:
        with self._lock:
            return sorted(key for key in self._data.get(namespace, {}) if key.startswith(prefix))

    def items(self, namespace: str) -> dict[str, str]:
        with self._lock:
            return dict(self._data.get(namespace, {}))

    def apply(self, namespace: str, changes: Changes) -> None:
        with self._lock:
            table = self._data.setdefault(namespace, {})
            for key, value in changes.items():
                if value is None:
                    table.pop(key, None)
                else:
                    table[key] = value

    def close(self) -> None:
        """Nothing to release."""
