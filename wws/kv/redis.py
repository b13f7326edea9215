"""`--kv redis://…`: namespaces as Redis hashes, for several server processes or machines sharing state."""

from __future__ import annotations

from typing import Any

import redis

from wws.kv.base import Changes

KEY_PREFIX = "wws:kv:"


class RedisKV:
    def __init__(self, url: str):
        self.url = url
        self._client: Any = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5)
        self._client.ping()  # fail at start, with the server's own message, rather than on the first request

    @staticmethod
    def _hash(namespace: str) -> str:
        return KEY_PREFIX + namespace

    def get(self, namespace: str, key: str) -> str | None:
        value = self._client.hget(self._hash(namespace), key)
        return None if value is None else str(value)

    def put(self, namespace: str, key: str, value: str) -> None:
        self._client.hset(self._hash(namespace), key, value)

    def delete(self, namespace: str, key: str) -> None:
        self._client.hdel(self._hash(namespace), key)

    def keys(self, namespace: str, prefix: str = "") -> list[str]:
        return sorted(str(key) for key in self._client.hkeys(self._hash(namespace)) if str(key).startswith(prefix))

    def items(self, namespace: str) -> dict[str, str]:
        return {str(key): str(value) for key, value in self._client.hgetall(self._hash(namespace)).items()}

    def apply(self, namespace: str, changes: Changes) -> None:
        if not changes:
            return
        name = self._hash(namespace)
        puts = {key: value for key, value in changes.items() if value is not None}
        deletes = [key for key, value in changes.items() if value is None]
        with self._client.pipeline(transaction=True) as pipeline:
            if puts:
                pipeline.hset(name, mapping=puts)
            if deletes:
                pipeline.hdel(name, *deletes)
            pipeline.execute()

    def close(self) -> None:
        self._client.close()
