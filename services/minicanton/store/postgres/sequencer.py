"""The sequencer store on PostgreSQL (asyncpg), shared by all instances of one domain.

Connections: a pool for reads and writes, of which the writer's `write` and the feed's
`read_events` (one caller each, and the two hottest statements) keep one connection each
between calls (`HeldConnection`: acquiring and releasing around every call cost more Python
than the call's own arguments); one dedicated connection that holds the node-index
advisory lock for the life of the instance (if it drops, the lock is gone and the instance
must stop: `on_lock_lost` fires); one that LISTENs for write and member notifications.
Writes are one call of the `sequencer_write_raising` SQL function (0002) so fencing, dedup,
events, our watermark, the raise of idle instances' watermarks and NOTIFY commit atomically in
a single round trip. Pool connections keep no session state (locks and LISTEN live on their
own connections), so the pool skips asyncpg's reset query (pools.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from minicanton.codec.sequencer import decode_stored_batch, encode_stored_envelopes
from minicanton.core.crypto.signing import SigningPublicKey
from minicanton.core.ids import MemberId
from minicanton.core.sequencing.errors import MemberDisabled, SequencerUnavailable, UnknownMember
from minicanton.core.sequencing.events import DeliverError
from minicanton.core.sequencing.members import MemberRecord
from minicanton.core.sequencing.ordering import InstanceWatermark, rejoin_timestamp
from minicanton.core.sequencing.stored import StoredEvent
from minicanton.core.sequencing.submission import PlannedEvent
from minicanton.store.migrations import apply_migrations
from minicanton.store.postgres.pools import HeldConnection, create_stateless_pool
from minicanton.store.postgres.sequencer_pruning import prune
from minicanton.store.sequencer import (
    CounterCheckpoint,
    EventPage,
    InstanceFenced,
    PruneResult,
    SettingsMismatch,
    StampedBelowWatermark,
    WriteResult,
)

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations" / "sequencer"
NODE_LOCK_KEY = 0x53455130  # "SEQ0": advisory locks are per database, so per domain
EVENTS_CHANNEL = "sequencer_events"
MEMBERS_CHANNEL = "sequencer_members"
SETTINGS_NOTICE = "*settings"  # on the members channel; no member id starts with "*"

_SAFE = """coalesce(min(watermark_us) FILTER (WHERE online), max(watermark_us))"""
_READ = f"""
WITH safe AS (SELECT {_SAFE} AS s FROM sequencer_watermarks)
SELECT safe.s AS safe, e.* FROM safe LEFT JOIN LATERAL (
    SELECT e.ts, e.node_index, e.sender, e.message_id, e.payload, e.error_id, e.error_reason
    FROM sequencer_events e JOIN sequencer_watermarks w ON w.node_index = e.node_index
    WHERE e.ts > $1 AND e.ts <= safe.s AND e.ts <= w.watermark_us {{member}}
    ORDER BY e.ts LIMIT $2
) e ON true"""
READ_EVENTS = _READ.format(member="")
READ_MEMBER_EVENTS = _READ.format(member="AND e.recipients @> ARRAY[$3::int]")
WRITE = ("SELECT written, shift_us, watermark_us FROM sequencer_write_raising("
         "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")


def _event(row: Any) -> StoredEvent:
    error = None
    if row["error_id"] is not None:
        error = DeliverError(row["message_id"], row["error_id"], row["error_reason"])
    # envelopes as their bytes: delivered as stored (sequencer/delivery.py)
    envelopes = decode_stored_batch(row["payload"]) if row["payload"] is not None else ()
    return StoredEvent(row["ts"], row["node_index"], row["sender"], row["message_id"],
                       envelopes, error)


def _page(rows: list[Any], after_us: int, limit: int) -> EventPage:
    safe = rows[0]["safe"] if rows else None
    events = [_event(row) for row in rows if row["ts"] is not None]
    if len(events) >= limit:
        return EventPage(events, events[-1].timestamp_us)
    return EventPage(events, max(after_us, safe) if safe is not None else after_us)


def _write_arrays(planned: Sequence[PlannedEvent]) -> list[list[Any]]:
    columns: list[list[Any]] = [[] for _ in range(8)]
    for item in planned:
        event = item.event
        if event is None:
            continue
        error = event.error
        values = (
            event.timestamp_us, event.sender_number, event.message_id,
            item.submission.request.max_sequencing_time_us,
            "{" + ",".join(map(str, sorted(event.recipient_numbers))) + "}",
            None if error else encode_stored_envelopes(event.envelopes),
            error.error_id if error else None, error.reason if error else None,
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    return columns


class PostgresSequencerStore:
    def __init__(self, dsn: str, pool: asyncpg.Pool) -> None:
        self._dsn = dsn
        self._pool = pool
        self._writer = HeldConnection(pool)  # `write` only
        self._feed = HeldConnection(pool)  # `read_events` only
        self._lock_connection: asyncpg.Connection | None = None
        self._listen_connection: asyncpg.Connection | None = None
        self.on_lock_lost: Callable[[], None] = lambda: None
        self._total_nodes = 1

    @classmethod
    async def connect(cls, dsn: str, pool_size: int = 8) -> PostgresSequencerStore:
        await apply_migrations(dsn, "sequencer", MIGRATIONS)
        # the two held connections come on top of `pool_size`, so they never starve the rest
        pool = await create_stateless_pool(dsn, min_size=2, max_size=pool_size + 2)
        return cls(dsn, pool)

    async def close(self, timeout_s: float = 2.0) -> None:
        """Close gracefully; connections still busy after `timeout_s` are cut."""
        try:
            async with asyncio.timeout(timeout_s):
                for connection in (self._listen_connection, self._lock_connection):
                    if connection is not None and not connection.is_closed():
                        await connection.close()
                await self._writer.close()
                await self._feed.close()
                await self._pool.close()
        except TimeoutError:
            log.warning("database connections did not close in time; terminating them")
            for connection in (self._listen_connection, self._lock_connection):
                if connection is not None and not connection.is_closed():
                    connection.terminate()
            self._pool.terminate()

    async def initialize(self, domain_id: str, total_nodes: int) -> None:
        self._total_nodes = total_nodes
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "INSERT INTO sequencer_settings (domain_id, total_nodes) VALUES ($1, $2) "
                "ON CONFLICT DO NOTHING", domain_id, total_nodes)
            row = await connection.fetchrow("SELECT domain_id, total_nodes FROM sequencer_settings")
            if (row["domain_id"], row["total_nodes"]) != (domain_id, total_nodes):
                raise SettingsMismatch(
                    f"the database belongs to domain {row['domain_id']!r} with "
                    f"{row['total_nodes']} nodes; configured {domain_id!r} with {total_nodes}")
            await connection.executemany(
                "INSERT INTO sequencer_watermarks (node_index) VALUES ($1) ON CONFLICT DO NOTHING",
                [(i,) for i in range(total_nodes)])

    async def claim_node_index(self, total_nodes: int) -> int:
        connection = await asyncpg.connect(self._dsn)
        for index in range(total_nodes):
            if await connection.fetchval("SELECT pg_try_advisory_lock($1, $2)",
                                         NODE_LOCK_KEY, index):
                self._lock_connection = connection
                connection.add_termination_listener(lambda _c: self.on_lock_lost())
                return index
        await connection.close()
        raise SequencerUnavailable(f"all {total_nodes} sequencer node indexes are taken")

    async def check_lock(self) -> None:
        """Raise if the connection holding our node index is gone."""
        if self._lock_connection is None or self._lock_connection.is_closed():
            raise SequencerUnavailable("lost the node-index lock connection")
        await self._lock_connection.fetchval("SELECT 1", timeout=5)

    async def go_online(self, node_index: int, session: UUID, now_us: int) -> int:
        """Recovery and rejoin: drop our events past our watermark, then go online above every
        watermark. Locking every watermark row keeps others from moving theirs meanwhile."""
        async with self._pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(
                "SELECT node_index, watermark_us, online FROM sequencer_watermarks "
                "ORDER BY node_index FOR UPDATE")
            marks = [InstanceWatermark(r["node_index"], r["watermark_us"], r["online"])
                     for r in rows]
            own = next(m for m in marks if m.node_index == node_index)
            await connection.execute("DELETE FROM sequencer_events WHERE node_index = $1 "
                                     "AND ts > $2", node_index, own.watermark_us)
            await connection.execute("DELETE FROM sequencer_send_dedup WHERE node_index = $1 "
                                     "AND ts > $2", node_index, own.watermark_us)
            rejoin_us = rejoin_timestamp(marks, now_us)
            await connection.execute(
                "UPDATE sequencer_watermarks SET watermark_us = $2, online = true, session = $3, "
                "heartbeat_at = clock_timestamp() WHERE node_index = $1",
                node_index, rejoin_us, session)
            await connection.execute("SELECT pg_notify($1, $2)", EVENTS_CHANNEL,
                                     f"{node_index}:{rejoin_us}:J")
        return rejoin_us

    async def go_offline(self, node_index: int, session: UUID) -> None:
        async with self._pool.acquire() as connection:
            await connection.execute(
                "UPDATE sequencer_watermarks SET online = false WHERE node_index = $1 "
                "AND session = $2", node_index, session)
            await connection.execute("SELECT pg_notify($1, $2)", EVENTS_CHANNEL,
                                     f"{node_index}:0:O")

    async def write(self, node_index: int, session: UUID, watermark_us: int, now_us: int,
                    planned: Sequence[PlannedEvent]) -> WriteResult:
        arguments = (node_index, session, watermark_us, now_us, self._total_nodes,
                     *_write_arrays(planned))
        try:
            row = await self._writer.run(lambda connection: connection.fetchrow(WRITE,
                                                                                *arguments))
        except asyncpg.PostgresError as error:
            state = getattr(error, "sqlstate", None)
            if state == "MC001":
                raise InstanceFenced(str(error)) from None
            if state == "MC002":
                raise StampedBelowWatermark(int(getattr(error, "detail", None) or 0)) from None
            raise
        return WriteResult(set(row["written"]), row["shift_us"], row["watermark_us"])

    async def mark_stale_offline(self, node_index: int, offline_timeout_ms: float) -> list[int]:
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(
                "UPDATE sequencer_watermarks SET online = false WHERE online "
                "AND node_index <> $1 AND heartbeat_at < clock_timestamp() - "
                "make_interval(secs => $2::float8 / 1000) RETURNING node_index",
                node_index, offline_timeout_ms)
            if rows:
                await connection.execute("SELECT pg_notify($1, $2)", EVENTS_CHANNEL,
                                         f"{node_index}:0:M")
        return sorted(r["node_index"] for r in rows)

    async def watermarks(self) -> list[InstanceWatermark]:
        rows = await self._pool.fetch("SELECT node_index, watermark_us, online "
                                      "FROM sequencer_watermarks ORDER BY node_index")
        return [InstanceWatermark(r["node_index"], r["watermark_us"], r["online"]) for r in rows]

    async def read_events(self, after_us: int, limit: int) -> EventPage:
        rows = await self._feed.run(lambda connection: connection.fetch(READ_EVENTS, after_us,
                                                                        limit))
        return _page(rows, after_us, limit)

    async def read_member_events(self, number: int, after_us: int, limit: int) -> EventPage:
        rows = await self._pool.fetch(READ_MEMBER_EVENTS, after_us, limit, number)
        return _page(rows, after_us, limit)

    async def checkpoint_before(self, number: int, counter: int) -> CounterCheckpoint:
        row = await self._pool.fetchrow(
            "SELECT counter, ts FROM sequencer_counter_checkpoints WHERE member = $1 "
            "AND counter < $2 ORDER BY counter DESC LIMIT 1", number, counter)
        return CounterCheckpoint(row["counter"], row["ts"]) if row else CounterCheckpoint(-1, 0)

    async def pruned_counter(self, number: int) -> int:
        """Counters at or below this were pruned for the member (-1: none)."""
        return int(await self._pool.fetchval(
            "SELECT coalesce(max(c.counter), -1) FROM sequencer_counter_checkpoints c, "
            "sequencer_settings s WHERE c.member = $1 AND c.ts <= s.lower_bound_us", number))

    async def save_checkpoint(self, number: int, checkpoint: CounterCheckpoint) -> None:
        await self._pool.execute(
            "INSERT INTO sequencer_counter_checkpoints (member, counter, ts) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING", number, checkpoint.counter, checkpoint.timestamp_us)

    async def members(self) -> list[MemberRecord]:
        rows = await self._pool.fetch("SELECT number, member, public_key, enabled, "
                                      "acknowledged_us FROM sequencer_members")
        return [MemberRecord(MemberId(r["member"]), r["number"], SigningPublicKey(r["public_key"]),
                             r["enabled"], r["acknowledged_us"]) for r in rows]

    async def register_member(self, member: MemberId, public_key: bytes) -> bool:
        """True when newly registered; registering again rotates the key."""
        async with self._pool.acquire() as connection, connection.transaction():
            inserted = await connection.fetchval(
                "INSERT INTO sequencer_members (member, public_key) VALUES ($1, $2) "
                "ON CONFLICT (member) DO UPDATE SET public_key = excluded.public_key "
                "WHERE sequencer_members.enabled RETURNING (xmax = 0)", member, public_key)
            if inserted is None:
                raise MemberDisabled(f"{member} was disabled and cannot be registered again")
            await connection.execute("SELECT pg_notify($1, $2)", MEMBERS_CHANNEL, member)
        return bool(inserted)

    async def disable_member(self, member: MemberId) -> None:
        async with self._pool.acquire() as connection, connection.transaction():
            found = await connection.fetchval(
                "UPDATE sequencer_members SET enabled = false WHERE member = $1 RETURNING 1",
                member)
            if found is None:
                raise UnknownMember(f"{member} is not a registered member")
            await connection.execute("DELETE FROM sequencer_auth_tokens WHERE member = $1",
                                     member)
            await connection.execute("SELECT pg_notify($1, $2)", MEMBERS_CHANNEL, member)

    async def acknowledge(self, number: int, timestamp_us: int) -> None:
        await self._pool.execute(
            "UPDATE sequencer_members SET acknowledged_us = greatest(acknowledged_us, $2) "
            "WHERE number = $1", number, timestamp_us)

    async def prune(self, before_us: int, now_us: int) -> PruneResult:
        async with self._pool.acquire() as connection:
            return await prune(connection, before_us, now_us)

    async def save_challenge(self, nonce: bytes, member: MemberId, expires_at_us: int) -> None:
        await self._pool.execute("INSERT INTO sequencer_auth_challenges VALUES ($1, $2, $3)",
                                 nonce, member, expires_at_us)

    async def take_challenge(self, nonce: bytes, member: MemberId, now_us: int) -> bool:
        expires = await self._pool.fetchval(
            "DELETE FROM sequencer_auth_challenges WHERE nonce = $1 AND member = $2 "
            "RETURNING expires_at_us", nonce, member)
        return expires is not None and expires > now_us

    async def save_token(self, token_hash: bytes, member: MemberId, expires_at_us: int) -> None:
        await self._pool.execute("INSERT INTO sequencer_auth_tokens VALUES ($1, $2, $3)",
                                 token_hash, member, expires_at_us)

    async def token_member(self, token_hash: bytes, now_us: int) -> tuple[MemberId, int] | None:
        row = await self._pool.fetchrow(
            "SELECT member, expires_at_us FROM sequencer_auth_tokens WHERE token_hash = $1 "
            "AND expires_at_us > $2", token_hash, now_us)
        return (MemberId(row["member"]), row["expires_at_us"]) if row else None

    async def domain_max_request_size(self) -> int | None:
        value = await self._pool.fetchval(
            "SELECT max_request_size_bytes FROM sequencer_settings")
        return None if value is None else int(value)

    async def set_domain_max_request_size(self, size_bytes: int) -> None:
        """Every instance hears of it (SETTINGS_NOTICE on the members channel)."""
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "UPDATE sequencer_settings SET max_request_size_bytes = $1", size_bytes)
            await connection.execute("SELECT pg_notify($1, $2)", MEMBERS_CHANNEL,
                                     SETTINGS_NOTICE)

    async def listen(self, on_events: Callable[[str], None],
                     on_members: Callable[[str], None]) -> None:
        connection = await asyncpg.connect(self._dsn)
        await connection.add_listener(EVENTS_CHANNEL, lambda *args: on_events(args[3]))
        await connection.add_listener(MEMBERS_CHANNEL, lambda *args: on_members(args[3]))
        self._listen_connection = connection

    def listening(self) -> bool:
        return self._listen_connection is not None and not self._listen_connection.is_closed()
