"""The mediator store on PostgreSQL (asyncpg); see `store.mediator_store` for the contract.

One pool, of which `record_events` (the node's only hot path) keeps one connection between
calls (`HeldConnection`: a pool's acquire and release cost more Python per batch than
building the statement's arguments). `record_events` is one statement (`_RECORD`) that
first takes the lease row FOR SHARE (the fencing check: holder, epoch, not expired) and then
writes the events, everything they caused and the clean position, each table from arrays in
one INSERT ... unnest.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg

from minicanton.codec.sequencer import parse_signed_event
from minicanton.core.hashing import Hash
from minicanton.core.ids import ParticipantId
from minicanton.core.protocol.messages import Approve, Reject, Verdict, encode_protocol_message
from minicanton.core.sequencing.events import Deliver, SequencerPosition
from minicanton.store.mediator_store import (
    AuditedMessage,
    Lease,
    LeaseLost,
    MessageKind,
    OutboxVerdict,
    RecordedEvent,
    StoredVerdict,
)
from minicanton.store.migrations import apply_migrations
from minicanton.store.postgres.pools import HeldConnection, create_stateless_pool
from minicanton.store.postgres.topology_store import (
    PostgresTopologyMemberStore,
    migrate_member_store,
)
from minicanton.store.topology_store import TopologyRow

MIGRATIONS = Path(__file__).parent / "migrations" / "mediator"

_ACQUIRE = """
INSERT INTO mediator_lease (holder, epoch, expires_at)
VALUES ($1, 1, clock_timestamp() + $2 * interval '1 millisecond')
ON CONFLICT (singleton) DO UPDATE
    SET holder = EXCLUDED.holder, epoch = mediator_lease.epoch + 1,
        expires_at = EXCLUDED.expires_at
    WHERE mediator_lease.expires_at < clock_timestamp()
       OR mediator_lease.holder = EXCLUDED.holder
RETURNING epoch"""
# The holder is fenced by the epoch alone: any other instance that takes the lease changes
# holder and epoch, so while both are unchanged nobody else can have written since, even if
# the lease lapsed meanwhile (the process was paused, the database slow). Such a holder may
# renew and go on writing; the expiry only lets *others* take the lease.
_RENEW = """
UPDATE mediator_lease SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
WHERE holder = $1 AND epoch = $2 RETURNING epoch"""
_FENCE = """
SELECT epoch FROM mediator_lease WHERE holder = $1 AND epoch = $2 FOR SHARE"""
# One statement writes a whole batch of events (autocommit: a statement is atomic), so the
# pump's commit costs one round trip instead of a dozen (BEGIN, fence, position, one insert
# per table, COMMIT). `fence` takes the lease row FOR SHARE, as a transaction did: a takeover
# waits for this write to finish, and a deposed holder writes nothing (no fence row; see
# `_RENEW` on why holder and epoch suffice). Every
# row carries its event's timestamp and is written only if that event is after the stored
# clean position (`fence.last`), so a batch recorded twice is recorded once.
_RECORD = """
WITH fence AS (
    SELECT l.epoch, coalesce((SELECT ts FROM mediator_position), -1) AS last
    FROM mediator_lease l
    WHERE l.holder = $1 AND l.epoch = $2
    FOR SHARE OF l),
events AS (
    INSERT INTO mediator_events (ts, counter, event)
    SELECT e.* FROM unnest($3::bigint[], $4::bigint[], $5::bytea[]) e (ts, counter, event),
        fence WHERE e.ts > fence.last),
messages AS (
    INSERT INTO mediator_messages (ts, envelope_index, request_ts, kind)
    SELECT m.* FROM unnest($6::bigint[], $7::int[], $8::bigint[], $9::text[])
        m (ts, envelope_index, request_ts, kind), fence WHERE m.ts > fence.last),
requests AS (
    INSERT INTO mediator_requests (request_ts, root_hash, submitting_participant,
        confirmation_policy, response_deadline_us, decision_time_us)
    SELECT r.* FROM unnest($10::bigint[], $11::bytea[], $12::text[], $13::text[],
        $14::bigint[], $15::bigint[]) r (request_ts, root_hash, submitting_participant,
        confirmation_policy, response_deadline_us, decision_time_us), fence
    WHERE r.request_ts > fence.last),
responses AS (
    INSERT INTO mediator_responses (response_ts, seq, request_ts, sender, view_hash, outcome,
        note)
    SELECT r.* FROM unnest($16::bigint[], $17::int[], $18::bigint[], $19::text[], $20::bytea[],
        $21::text[], $22::text[]) r (response_ts, seq, request_ts, sender, view_hash, outcome,
        note), fence WHERE r.response_ts > fence.last),
verdicts AS (
    INSERT INTO mediator_verdicts (request_ts, decided_ts, message_id, recipients,
        max_sequencing_time_us, verdict, result, deliveries, send_error)
    SELECT v.request_ts, v.decided_ts, v.message_id, v.recipients, v.max_sequencing_time_us,
        v.verdict, v.result, v.deliveries, v.send_error
    FROM unnest($23::mediator_verdict_input[]) v, fence WHERE v.decided_ts > fence.last),
receipts AS (  -- a row of their own: marking the verdict row rewrote it (migration 0004)
    INSERT INTO mediator_receipts (message_id, sent_ts)
    SELECT r.message_id, r.ts FROM unnest($24::bigint[], $25::text[]) r (ts, message_id), fence
    WHERE r.ts > fence.last
    ON CONFLICT (message_id) DO NOTHING),
send_errors AS (  -- of verdicts recorded before (the statement sees no row it inserts)
    UPDATE mediator_verdicts m SET send_error = r.reason
    FROM unnest($26::bigint[], $27::text[], $28::text[]) r (ts, message_id, reason), fence
    WHERE m.message_id = r.message_id AND r.ts > fence.last),
position AS (
    INSERT INTO mediator_position (counter, ts, event_hash)
    SELECT $29, $30, $31 FROM fence WHERE $30 > fence.last
    ON CONFLICT (singleton) DO UPDATE
        SET counter = EXCLUDED.counter, ts = EXCLUDED.ts, event_hash = EXCLUDED.event_hash)
SELECT epoch, last FROM fence"""
_AUDIT_COLUMNS = "m.ts, m.envelope_index, m.request_ts, m.kind, e.event"


def verdict_name(verdict: Verdict) -> str:
    if isinstance(verdict, Approve):
        return "approve"
    return "reject" if isinstance(verdict, Reject) else "timeout"


class PostgresMediatorStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._writer = HeldConnection(pool)  # record_events only
        self._topology = PostgresTopologyMemberStore(pool)

    @classmethod
    async def connect(cls, dsn: str, pool_size: int = 4) -> PostgresMediatorStore:
        await apply_migrations(dsn, "mediator", MIGRATIONS)
        await migrate_member_store(dsn)
        return cls(await create_stateless_pool(dsn, min_size=1, max_size=pool_size))

    async def close(self) -> None:
        await self._writer.close()
        await self._pool.close()

    # --- lease -----------------------------------------------------------------------------

    async def acquire_lease(self, holder: str, ttl_ms: int) -> Lease | None:
        epoch = await self._pool.fetchval(_ACQUIRE, holder, ttl_ms)
        return None if epoch is None else Lease(holder, epoch)

    async def renew_lease(self, lease: Lease, ttl_ms: int) -> bool:
        return await self._pool.fetchval(_RENEW, lease.holder, lease.epoch, ttl_ms) is not None

    async def release_lease(self, lease: Lease) -> None:
        await self._pool.execute(
            "UPDATE mediator_lease SET expires_at = clock_timestamp() - interval '1 second' "
            "WHERE holder = $1 AND epoch = $2", lease.holder, lease.epoch)

    # --- processing ------------------------------------------------------------------------

    async def clean_position(self) -> SequencerPosition | None:
        row = await self._pool.fetchrow("SELECT counter, ts, event_hash FROM mediator_position")
        if row is None:
            return None
        digest = row["event_hash"]
        return SequencerPosition(row["counter"], row["ts"],
                                 None if digest is None else Hash(bytes(digest)))

    async def record_events(self, lease: Lease, events: Sequence[RecordedEvent]) -> int:
        if not events:
            return 0
        return await self._writer.run(lambda connection: self._record(connection, lease, events))

    async def _record(self, connection: asyncpg.Connection, lease: Lease,
                      events: Sequence[RecordedEvent]) -> int:
        topology = any(e.topology for e in events)
        # a topology change (rare) goes to the member store in the same transaction
        async with connection.transaction() if topology else contextlib.nullcontext():
            fence = await connection.fetchrow(_RECORD, *_record_arguments(lease, events))
            if fence is None:
                raise LeaseLost(f"{lease.holder} no longer holds the mediator lease "
                                f"(epoch {lease.epoch})")
            fresh = [e for e in events if e.position.timestamp_us > fence["last"]]
            if topology:
                await self._topology.append(connection, [t for e in fresh for t in e.topology])
            return len(fresh)

    async def topology_transactions(self) -> list[TopologyRow]:
        return await self._topology.load()

    async def replay_start_ts(self, clean_ts_us: int) -> int | None:
        start = await self._pool.fetchval(
            "SELECT min(request_ts) FROM mediator_requests WHERE decision_time_us > $1",
            clean_ts_us)
        return None if start is None else int(start)

    async def signed_events(self, from_ts_us: int, to_ts_us: int) -> list[bytes]:
        rows = await self._pool.fetch(
            "SELECT event FROM mediator_events WHERE ts >= $1 AND ts <= $2 ORDER BY ts",
            from_ts_us, to_ts_us)
        return [bytes(r["event"]) for r in rows]

    async def unsent_verdicts(self) -> list[OutboxVerdict]:
        rows = await self._pool.fetch(
            "SELECT request_ts, message_id, recipients, max_sequencing_time_us, result, "
            "deliveries FROM mediator_verdicts v WHERE send_error IS NULL AND NOT EXISTS "
            "(SELECT FROM mediator_receipts r WHERE r.message_id = v.message_id) "
            "ORDER BY request_ts")
        return [OutboxVerdict(r["request_ts"], r["message_id"],
                              tuple(ParticipantId(p) for p in r["recipients"]),
                              r["max_sequencing_time_us"], bytes(r["result"]),
                              tuple(bytes(d) for d in r["deliveries"])) for r in rows]

    async def mark_send_error(self, lease: Lease, message_id: str, reason: str) -> None:
        async with self._pool.acquire() as connection, connection.transaction():
            if await connection.fetchval(_FENCE, lease.holder, lease.epoch) is None:
                raise LeaseLost(f"{lease.holder} no longer holds the mediator lease")
            await connection.execute(
                "UPDATE mediator_verdicts SET send_error = $1 WHERE message_id = $2 AND NOT "
                "EXISTS (SELECT FROM mediator_receipts WHERE message_id = $2)", reason,
                message_id)

    async def verdict(self, request_ts_us: int) -> StoredVerdict | None:
        r = await self._pool.fetchrow(
            "SELECT request_ts, decided_ts, v.message_id, verdict, result, sent_ts, send_error "
            "FROM mediator_verdicts v LEFT JOIN mediator_receipts r USING (message_id) "
            "WHERE request_ts = $1", request_ts_us)
        if r is None:
            return None
        return StoredVerdict(r["request_ts"], r["decided_ts"], r["message_id"], r["verdict"],
                             bytes(r["result"]), r["sent_ts"], r["send_error"])

    # --- auditor ---------------------------------------------------------------------------

    async def messages_for_request(self, request_ts_us: int) -> list[AuditedMessage]:
        rows = await self._pool.fetch(
            f"SELECT {_AUDIT_COLUMNS} FROM mediator_messages m JOIN mediator_events e "
            "ON e.ts = m.ts WHERE m.request_ts = $1 ORDER BY m.ts, m.envelope_index",
            request_ts_us)
        return _audited(rows)

    async def messages_between(
        self, from_ts_us: int, to_ts_us: int, limit: int
    ) -> list[AuditedMessage]:
        rows = await self._pool.fetch(
            f"SELECT {_AUDIT_COLUMNS} FROM mediator_messages m JOIN mediator_events e "
            "ON e.ts = m.ts WHERE m.ts >= $1 AND m.ts <= $2 "
            "ORDER BY m.ts, m.envelope_index LIMIT $3", from_ts_us, to_ts_us, limit)
        return _audited(rows)


def _record_arguments(lease: Lease, events: Sequence[RecordedEvent]) -> list[Any]:
    """The parameters of `_RECORD`: one array per column, every row of every event."""
    messages = [(e.position.timestamp_us, m.envelope_index, m.request_ts_us, m.kind.value)
                for e in events for m in e.messages]
    requests = [(r.request_ts_us, r.root_hash.digest, r.submitting_participant,
                 r.confirmation_policy.value, r.response_deadline_us, r.decision_time_us)
                for e in events for r in e.requests]
    responses = [(r.response_ts_us, seq, r.request_ts_us, r.sender,
                  r.view_hash.digest if r.view_hash else None, r.outcome.value, r.note)
                 for e in events for seq, r in enumerate(e.responses)]
    receipts = [(e.position.timestamp_us, m) for e in events for m in e.receipts]
    errors = [(e.position.timestamp_us, m, reason) for e in events for m, reason in e.send_errors]
    refused = {m: reason for _, m, reason in errors}
    verdicts = [(v.request_ts_us, v.decided_ts_us, v.message_id, list(v.recipients),
                 v.max_sequencing_time_us, verdict_name(v.result.verdict),
                 encode_protocol_message(v.result),
                 [encode_protocol_message(d.result) for d in v.deliveries],
                 refused.get(v.message_id))
                for e in events for v in e.verdicts]
    end = events[-1].position
    return [
        lease.holder, lease.epoch,
        *_columns(3, [(e.position.timestamp_us, e.position.counter, e.signed_event)
                      for e in events]),
        *_columns(4, messages), *_columns(6, requests), *_columns(7, responses),
        verdicts or None, *_columns(2, receipts), *_columns(3, errors),
        end.counter, end.timestamp_us, end.event_hash.digest if end.event_hash else None,
    ]


def _columns(width: int, rows: list[Any]) -> list[Any]:
    """Rows to one tuple per column (what unnest takes); `width` NULLs for no rows (unnest
    of NULL yields no rows, as of an empty array, and asyncpg encodes a NULL for nothing
    where an empty array parameter costs it about as much as three elements)."""
    return list(zip(*rows, strict=True)) if rows else [None] * width


def _audited(rows: list[Any]) -> list[AuditedMessage]:
    events: dict[int, Any] = {}
    out = []
    for row in rows:
        event = events.get(row["ts"])
        if event is None:
            event = events[row["ts"]] = parse_signed_event(bytes(row["event"])).event
        content = event.content
        if not isinstance(content, Deliver):
            continue
        envelope = content.batch.envelopes[row["envelope_index"]]
        recipients = tuple(
            getattr(r, "member", None) or f"group:{r.group.value}" for r in envelope.recipients
        )
        out.append(AuditedMessage(row["ts"], row["envelope_index"], row["request_ts"],
                                  MessageKind(row["kind"]), recipients, envelope.content))
    return out
