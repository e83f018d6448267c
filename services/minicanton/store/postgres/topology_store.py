"""The topology stores on PostgreSQL (asyncpg): see store/topology_store.py.

A member applies `MEMBER_MIGRATIONS` as store "topology_member" in its own database
(`migrate_member_store`); the topology manager applies both that and `MANAGER_MIGRATIONS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg

from minicanton.core.hashing import Hash
from minicanton.core.sequencing.events import SequencerPosition
from minicanton.store.migrations import apply_migrations
from minicanton.store.topology_store import (
    ManagerIdentity,
    OnboardingRecord,
    OnboardingState,
    TopologyRow,
)

_MIGRATIONS = Path(__file__).parent / "migrations"
MEMBER_MIGRATIONS = _MIGRATIONS / "topology_member"
MANAGER_MIGRATIONS = _MIGRATIONS / "topology_manager"
MEMBER_STORE = "topology_member"
MANAGER_STORE = "topology_manager"

_INSERT_ROW = (
    "INSERT INTO topology_member_transactions "
    "(position, tx_hash, sequenced_us, valid_from_us, signed) VALUES ($1, $2, $3, $4, $5)"
)


async def migrate_member_store(target: str | asyncpg.Connection) -> list[str]:
    return await apply_migrations(target, MEMBER_STORE, MEMBER_MIGRATIONS)


async def migrate_manager_store(target: str | asyncpg.Connection) -> list[str]:
    applied = await migrate_member_store(target)
    return applied + await apply_migrations(target, MANAGER_STORE, MANAGER_MIGRATIONS)


class PostgresTopologyMemberStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def load(self) -> list[TopologyRow]:
        rows = await self._pool.fetch(
            "SELECT position, tx_hash, sequenced_us, valid_from_us, signed "
            "FROM topology_member_transactions ORDER BY position")
        return [TopologyRow(r["position"], bytes(r["tx_hash"]), r["sequenced_us"],
                            r["valid_from_us"], bytes(r["signed"])) for r in rows]

    async def append(self, connection: Any, rows: Sequence[TopologyRow]) -> None:
        if rows:
            await connection.executemany(_INSERT_ROW, [
                (r.position, r.tx_hash, r.sequenced_us, r.valid_from_us, r.signed)
                for r in rows
            ])

    async def append_now(self, rows: Sequence[TopologyRow]) -> None:
        """`append` in a transaction of its own."""
        async with self._pool.acquire() as connection, connection.transaction():
            await self.append(connection, rows)


def _record(row: Any) -> OnboardingRecord:
    return OnboardingRecord(
        row["participant"], bytes(row["key_mapping"]), row["permission"],
        OnboardingState(row["status"]), row["requested_at_us"], row["decided_at_us"],
        row["reason"],
    )


class PostgresTopologyManagerStore(PostgresTopologyMemberStore):
    async def load_identity(self) -> ManagerIdentity | None:
        row = await self._pool.fetchrow("SELECT * FROM topology_manager_identity")
        if row is None:
            return None
        return ManagerIdentity(row["domain_id"], row["manager_id"], bytes(row["namespace_key"]),
                               bytes(row["member_key"]), row["created_at_us"])

    async def create_identity(self, identity: ManagerIdentity) -> ManagerIdentity:
        await self._pool.execute(
            "INSERT INTO topology_manager_identity (domain_id, manager_id, namespace_key, "
            "member_key, created_at_us) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            identity.domain_id, identity.manager_id, identity.namespace_key,
            identity.member_key, identity.created_at_us,
        )
        stored = await self.load_identity()
        assert stored is not None
        return stored

    async def load_position(self) -> SequencerPosition | None:
        row = await self._pool.fetchrow("SELECT * FROM topology_manager_position")
        if row is None:
            return None
        digest = row["event_hash"]
        return SequencerPosition(row["counter"], row["ts_us"],
                                 None if digest is None else Hash(bytes(digest)))

    async def record_event(
        self, position: SequencerPosition, rows: Sequence[TopologyRow],
        admitted: Sequence[str], decided_at_us: int,
        sequencer_sync: Sequence[tuple[str, int]] = (),
    ) -> None:
        async with self._pool.acquire() as connection, connection.transaction():
            await self.append(connection, rows)
            if sequencer_sync:
                await connection.executemany(
                    "INSERT INTO topology_sequencer_sync (member, effective_us) VALUES ($1, $2) "
                    "ON CONFLICT DO NOTHING", list(sequencer_sync))
            if admitted:
                await connection.execute(
                    "UPDATE topology_onboarding_requests SET status = 'admitted', "
                    "decided_at_us = $2 WHERE participant = ANY($1::text[]) "
                    "AND status = 'pending'", list(admitted), decided_at_us)
            await connection.execute(
                "INSERT INTO topology_manager_position (counter, ts_us, event_hash) "
                "VALUES ($1, $2, $3) ON CONFLICT (singleton) DO UPDATE SET "
                "counter = $1, ts_us = $2, event_hash = $3",
                position.counter, position.timestamp_us,
                None if position.event_hash is None else position.event_hash.digest)

    async def pending_sequencer_syncs(self) -> list[tuple[str, int]]:
        rows = await self._pool.fetch(
            "SELECT member, effective_us FROM topology_sequencer_sync "
            "ORDER BY effective_us, member")
        return [(r["member"], r["effective_us"]) for r in rows]

    async def sequencer_sync_done(self, member: str, effective_us: int) -> None:
        await self._pool.execute(
            "DELETE FROM topology_sequencer_sync WHERE member = $1 AND effective_us = $2",
            member, effective_us)

    async def save_request(self, record: OnboardingRecord) -> None:
        await self._pool.execute(
            "INSERT INTO topology_onboarding_requests (participant, key_mapping, permission, "
            "status, requested_at_us, decided_at_us, reason) VALUES ($1, $2, $3, $4, $5, $6, $7) "
            "ON CONFLICT (participant) DO UPDATE SET key_mapping = $2, permission = $3, "
            "status = $4, requested_at_us = $5, decided_at_us = $6, reason = $7 "
            "WHERE topology_onboarding_requests.status <> 'admitted'",
            record.participant, record.key_mapping, record.permission, record.status.value,
            record.requested_at_us, record.decided_at_us, record.reason,
        )

    async def get_request(self, participant: str) -> OnboardingRecord | None:
        row = await self._pool.fetchrow(
            "SELECT * FROM topology_onboarding_requests WHERE participant = $1", participant)
        return None if row is None else _record(row)

    async def list_requests(self, pending_only: bool) -> list[OnboardingRecord]:
        rows = await self._pool.fetch(
            "SELECT * FROM topology_onboarding_requests WHERE NOT $1 OR status = 'pending' "
            "ORDER BY requested_at_us, participant", pending_only)
        return [_record(row) for row in rows]

    async def decide(self, participant: str, status: OnboardingState, decided_at_us: int,
                     reason: str = "") -> bool:
        result = await self._pool.execute(
            "UPDATE topology_onboarding_requests SET status = $2, decided_at_us = $3, "
            "reason = $4 WHERE participant = $1 AND status = 'pending'",
            participant, status.value, decided_at_us, reason)
        return bool(result.endswith(" 1"))
