"""`open_kv(spec, project_root)`: the backend named by `--kv` (`sqlite`, `sqlite:PATH`, `memory`, `redis://…`).

SQLite opens its file on first use (relative paths are relative to the project); Redis is reached at once, so a
wrong URL fails at start-up with the server's own message.
"""

from __future__ import annotations

from pathlib import Path

from wws.errors import WwsError
from wws.kv.base import KVStore
from wws.kv.memory import MemoryKV
from wws.kv.redis import RedisKV
from wws.kv.sqlite import SqliteKV

DEFAULT_KV = "sqlite"
SQLITE_FILE = Path(".wws") / "kv.sqlite3"


def open_kv(spec: str, project_root: Path) -> KVStore:
    """Open the KV backend `spec` for the project at `project_root`; raise `WwsError` with the reason if it can't."""
    if spec == "memory":
        return MemoryKV()
    if spec == "sqlite" or spec.startswith("sqlite:"):
        location = spec.partition(":")[2]
        path = Path(location) if location else project_root / SQLITE_FILE
        return SqliteKV(path if path.is_absolute() else project_root / path)
    if spec.startswith(("redis://", "rediss://", "unix://")):
        try:
            return RedisKV(spec)
        except Exception as exc:
            raise WwsError(f"--kv {spec}: cannot reach Redis: {exc}") from exc
    raise WwsError(f"--kv {spec!r}: expected 'sqlite', 'sqlite:PATH', 'memory' or 'redis://HOST:PORT/DB'")
