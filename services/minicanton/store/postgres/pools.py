"""Connection pools for stores whose connections keep no session state.

asyncpg resets a connection when it goes back to its pool (RESET ALL, UNLISTEN, closing
cursors, releasing session advisory locks): one more round trip on every use. Our stores
change no session state on pooled connections (settings are per transaction, LISTEN and
session advisory locks live on connections of their own), and asyncpg still rolls back a
transaction left open before it calls the reset, so the reset has nothing to undo.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

T = TypeVar("T")


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Nothing to undo (module docstring)."""


async def create_stateless_pool(dsn: str, *, min_size: int, max_size: int) -> asyncpg.Pool:
    return await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size,
                                     reset=_keep_session)


class HeldConnection:
    """One pooled connection kept between calls by a store's single hot writer, instead of
    taken from the pool and given back around every call (that bookkeeping costs more Python
    per batch than building the statement's arguments).

    Calls run one at a time (a lock, so a second caller waits rather than sharing the
    connection). After any failure, cancellation included, the connection goes back to the
    pool (which resets or replaces it) and the next call takes a fresh one, so a broken
    connection is never reused and a dropped server connection costs one failed call, not
    the writer. `close` gives it back; call it before closing the pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._connection: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()

    async def run(self, call: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        async with self._lock:
            if self._connection is None:
                self._connection = await self._pool.acquire()
            try:
                return await call(self._connection)
            except BaseException:
                await self._give_back()
                raise

    async def close(self) -> None:
        async with self._lock:
            await self._give_back()

    async def _give_back(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await self._pool.release(connection)
