"""`--kv redis://…`: namespaces as Redis hashes, for several server processes or machines sharing state.

A Redis that does not answer (stopped, restarting, unreachable) raises `KVUnavailable` at once, after one retry on
a new connection (a connection of the pool may have died with a restart): the request that needed it answers 503,
and the next one reconnects. No request waits out redis-py's default backoff.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import redis
import redis.backoff
import redis.exceptions
import redis.retry

from wws.errors import KVUnavailable
from wws.kv.base import Changes

KEY_PREFIX = "wws:kv:"
CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = 5


class RedisKV:
    def __init__(self, url: str):
        self.url = url
        self._client: Any = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=READ_TIMEOUT_SECONDS,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
            retry=redis.retry.Retry(redis.backoff.NoBackoff(), 1),
        )
        self._client.ping()  # fail at start, with the server's own message, rather than on the first request

    @contextlib.contextmanager
    def _answering(self) -> Iterator[None]:
        """Redis's connection failures as `KVUnavailable`."""
        try:
            yield
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise KVUnavailable(f"Redis: {exc}") from exc

    @staticmethod
    def _hash(namespace: str) -> str:
        return KEY_PREFIX + namespace

    def get(self, namespace: str, key: str) -> str | None:
        with self._answering():
            value = self._client.hget(self._hash(namespace), key)
        return None if value is None else str(value)

    def put(self, namespace: str, key: str, value: str) -> None:
        with self._answering():
            self._client.hset(self._hash(namespace), key, value)

    def delete(self, namespace: str, key: str) -> None:
        with self._answering():
            self._client.hdel(self._hash(namespace), key)

    def keys(self, namespace: str, prefix: str = "") -> list[str]:
        with self._answering():
            keys = self._client.hkeys(self._hash(namespace))
        return sorted(str(key) for key in keys if str(key).startswith(prefix))

    def items(self, namespace: str) -> dict[str, str]:
        with self._answering():
            found = self._client.hgetall(self._hash(namespace))
        return {str(key): str(value) for key, value in found.items()}

    def apply(self, namespace: str, changes: Changes) -> None:
        if not changes:
            return
        name = self._hash(namespace)
        puts = {key: value for key, value in changes.items() if value is not None}
        deletes = [key for key, value in changes.items() if value is None]
        with self._answering(), self._client.pipeline(transaction=True) as pipeline:
            if puts:
                pipeline.hset(name, mapping=puts)
            if deletes:
                pipeline.hdel(name, *deletes)
            pipeline.execute()

    def close(self) -> None:
        self._client.close()
