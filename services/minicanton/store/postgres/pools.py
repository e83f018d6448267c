"""Connection pools for stores whose connections keep no session state.

asyncpg resets a connection when it goes back to its pool (RESET ALL, UNLISTEN, closing
cursors, releasing session advisory locks): one more round trip on every use. Our stores
change no session state on pooled connections (settings are per transaction, LISTEN and
session advisory locks live on connections of their own), and asyncpg still rolls back a
transaction left open before it calls the reset, so the reset has nothing to undo.
"""

from __future__ import annotations

import asyncpg


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Nothing to undo (module docstring)."""


async def create_stateless_pool(dsn: str, *, min_size: int, max_size: int) -> asyncpg.Pool:
    return await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size,
                                     reset=_keep_session)
