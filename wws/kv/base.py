"""The KV protocol every backend implements, and how a worker's answer becomes a set of per-key changes.

Values are text. Changes are applied per key, never as a whole-namespace overwrite, so two requests writing
different keys at the same time both persist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

Changes = Mapping[str, str | None]
"""Key → new value, or None to delete the key."""


class KVStore(Protocol):
    """A namespaced key-value store. Thread-safe: workers call it from the request thread pool."""

    def get(self, namespace: str, key: str) -> str | None: ...

    def put(self, namespace: str, key: str, value: str) -> None: ...

    def delete(self, namespace: str, key: str) -> None: ...

    def keys(self, namespace: str, prefix: str = "") -> list[str]:
        """The keys starting with `prefix`, sorted."""
        ...

    def items(self, namespace: str) -> dict[str, str]:
        """The whole namespace (what the original wws protocol hands a worker with each request)."""
        ...

    def apply(self, namespace: str, changes: Changes) -> None:
        """Write and delete several keys at once, atomically where the backend can."""
        ...

    def close(self) -> None: ...


def changes_between(before: Mapping[str, str], after: Changes) -> dict[str, str | None]:
    """What a worker changed: the keys of `after` whose value differs from `before`, and every key it set to None
    (JSON null: delete it).

    A key the worker left out is not touched: workers of the original wws answer with the namespace they were given,
    and one that answers with nothing must not wipe it.
    """
    return {key: value for key, value in after.items() if value is None or before.get(key) != value}
