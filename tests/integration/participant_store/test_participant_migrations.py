"""Participant schema migrations applied to a database that already holds rows: what a
participant upgraded in place finds after its next start."""

from __future__ import annotations

import shutil
from pathlib import Path

import asyncpg
import pytest

from minicanton.core.ids import RequestId
from minicanton.store.migrations import apply_migrations
from minicanton.store.postgres.participant_store import (
    MIGRATIONS,
    STORE_NAME,
    PostgresParticipantStore,
)


async def migrated_up_to(dsn: str, version: int, tmp_path: Path) -> None:
    """Apply the participant migrations 1..version only (same files, same checksums)."""
    folder = tmp_path / "participant"
    folder.mkdir()
    for path in sorted(MIGRATIONS.glob("*.sql"))[:version]:
        shutil.copy(path, folder / path.name)
    await apply_migrations(dsn, STORE_NAME, folder)


async def test_pending_requests_without_decision_time_get_one_and_new_ones_are_refused(
    fresh_database: str, tmp_path: Path,
) -> None:
    await migrated_up_to(fresh_database, 1, tmp_path)
    conn = await asyncpg.connect(fresh_database)
    try:
        await conn.execute(
            "INSERT INTO pending_requests (request_id, request_ts_us, decision_time_us, "
            "locked_contracts, locked_keys) VALUES ('r1', 20, NULL, '{c1}', '{}'), "
            "('r2', 30, 25, '{c2}', '{}'), ('r3', 40, 90, '{c3}', '{}')"
        )
    finally:
        await conn.close()

    store = await PostgresParticipantStore.open(fresh_database)
    try:
        decided = {p.locks.request_id: p.locks.decision_time_us
                   for p in await store.pending_requests()}
        assert decided == {RequestId("r1"): 20, RequestId("r2"): 30, RequestId("r3"): 90}
        with pytest.raises(asyncpg.NotNullViolationError):
            await store.pool.execute(
                "INSERT INTO pending_requests (request_id, request_ts_us, locked_contracts, "
                "locked_keys) VALUES ('r4', 50, '{}', '{}')")
    finally:
        await store.close()
