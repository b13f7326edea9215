"""The threads that run guest code. Guests never run on the event loop: a slow one would stall every request.

A plain `ThreadPoolExecutor`, not Starlette's `run_in_threadpool`: anyio's capacity limiter and cancel scopes cost
more than the hop itself (HTTP load benchmark: 11.1k against 16.8k req/s for a no-op call at 16 connections).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

DEFAULT_THREADS = 40
"""As many as anyio's default: guests that wait on the host (outbound HTTP, Redis) hold a thread meanwhile."""


class GuestThreads:
    """A pool of threads for guest calls, created lazily; `close()` lets the running calls finish."""

    def __init__(self, size: int = DEFAULT_THREADS):
        self._executor = ThreadPoolExecutor(size, thread_name_prefix="wws-guest")

    async def run(self, function: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
