"""Key-value namespaces shared by the workers naming them: one protocol, three backends (SQLite, memory, Redis)."""

from wws.kv.base import Changes, KVStore, changes_between
from wws.kv.open import DEFAULT_KV, open_kv

__all__ = ["DEFAULT_KV", "Changes", "KVStore", "changes_between", "open_kv"]
