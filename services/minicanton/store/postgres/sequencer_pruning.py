"""Pruning the sequencer database without breaking any member's counters.

Counters are computed when reading (a member's n-th event is its n-th row in timestamp order),
so before rows go, every member gets a checkpoint at the pruning point: its counter there and
the timestamp of its last event. A later subscription resumes counting from that checkpoint,
and one asking for an earlier counter gets `CounterPruned`. The point never passes the safe
watermark, so only rows no instance can still change are removed.

Rows that expire on their own clock (send deduplication past its max sequencing time, auth
tokens, challenges) go on every run, whether or not the pruning point moved: one member that
never acknowledges holds events back, but must not let those tables grow (anyone can ask for
a challenge).
"""

from __future__ import annotations

import asyncpg

from minicanton.store.sequencer import PruneResult

PRUNE_LOCK_KEY = 0x50524E45  # "PRNE": one pruning at a time across instances

_CHECKPOINT = """
WITH last AS (
    SELECT counter, ts FROM sequencer_counter_checkpoints
    WHERE member = $1 AND ts <= $2 ORDER BY counter DESC LIMIT 1
), fresh AS (
    SELECT count(*) AS n, max(e.ts) AS ts
    FROM sequencer_events e JOIN sequencer_watermarks w ON w.node_index = e.node_index
    WHERE e.recipients @> ARRAY[$1::int] AND e.ts <= w.watermark_us AND e.ts <= $2
      AND e.ts > coalesce((SELECT ts FROM last), 0)
)
INSERT INTO sequencer_counter_checkpoints (member, counter, ts)
SELECT $1, coalesce((SELECT counter FROM last), -1) + fresh.n, fresh.ts FROM fresh
WHERE fresh.n > 0
ON CONFLICT DO NOTHING"""

_SAFE = """SELECT coalesce(min(watermark_us) FILTER (WHERE online), max(watermark_us), 0)
FROM sequencer_watermarks"""


async def prune(connection: asyncpg.Connection, before_us: int, now_us: int) -> PruneResult:
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", PRUNE_LOCK_KEY)
        await _expire(connection, now_us)
        lower = await connection.fetchval("SELECT lower_bound_us FROM sequencer_settings")
        point = min(before_us, await connection.fetchval(_SAFE))
        if point <= lower:
            return PruneResult(lower, 0)
        for number in await connection.fetch("SELECT number FROM sequencer_members"):
            await connection.execute(_CHECKPOINT, number["number"], point)
        removed = await connection.fetchval(
            "WITH gone AS (DELETE FROM sequencer_events WHERE ts <= $1 RETURNING 1) "
            "SELECT count(*) FROM gone", point)
        await connection.execute("UPDATE sequencer_settings SET lower_bound_us = $1", point)
        return PruneResult(point, int(removed))


async def _expire(connection: asyncpg.Connection, now_us: int) -> None:
    await connection.execute(
        "DELETE FROM sequencer_send_dedup WHERE max_sequencing_time_us < $1", now_us)
    await connection.execute(
        "DELETE FROM sequencer_auth_tokens WHERE expires_at_us < $1", now_us)
    await connection.execute(
        "DELETE FROM sequencer_auth_challenges WHERE expires_at_us < $1", now_us)
