"""Upgrading a mediator or topology manager database to event hashes over bytes: the hash
an earlier release stored for the last event is forgotten (it is not the hash this release
computes for the same event, so comparing them would report a fork), the position stays."""

from __future__ import annotations

import shutil
from pathlib import Path

import asyncpg

from minicanton.store.migrations import apply_migrations
from minicanton.store.postgres.mediator_store import MIGRATIONS, PostgresMediatorStore
from minicanton.store.postgres.topology_store import (
    MANAGER_MIGRATIONS,
    MANAGER_STORE,
    PostgresTopologyManagerStore,
    migrate_manager_store,
    migrate_member_store,
)

OLD_STYLE_HASH = bytes(range(32))


async def _apply_before(dsn: str, store: str, folder: Path, first_new: str,
                        scratch: Path) -> None:
    """`folder`'s migrations older than `first_new` only (same files, same checksums)."""
    scratch.mkdir()
    for path in sorted(folder.glob("*.sql")):
        if path.name < first_new:
            shutil.copy(path, scratch / path.name)
    await apply_migrations(dsn, store, scratch)


async def _store_old_position(dsn: str, table: str, ts_column: str, counter: int,
                              ts_us: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"INSERT INTO {table} (counter, {ts_column}, event_hash) "
                           "VALUES ($1, $2, $3)", counter, ts_us, OLD_STYLE_HASH)
    finally:
        await conn.close()


async def test_the_mediator_forgets_an_old_event_hash_and_keeps_its_position(
    fresh_database: str, tmp_path: Path,
) -> None:
    await _apply_before(fresh_database, "mediator", MIGRATIONS,
                        "0005_event_hashes_over_bytes.sql", tmp_path / "mediator")
    await _store_old_position(fresh_database, "mediator_position", "ts", 41, 1000)

    store = await PostgresMediatorStore.connect(fresh_database)
    try:
        position = await store.clean_position()
    finally:
        await store.close()
    assert position is not None
    assert (position.counter, position.timestamp_us, position.event_hash) == (41, 1000, None)


async def test_the_topology_manager_forgets_an_old_event_hash_and_keeps_its_position(
    fresh_database: str, tmp_path: Path,
) -> None:
    await migrate_member_store(fresh_database)
    await _apply_before(fresh_database, MANAGER_STORE, MANAGER_MIGRATIONS,
                        "0003_event_hashes_over_bytes.sql", tmp_path / "manager")
    await _store_old_position(fresh_database, "topology_manager_position", "ts_us", 7, 2000)

    assert "0003_event_hashes_over_bytes.sql" in await migrate_manager_store(fresh_database)
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=1)
    try:
        position = await PostgresTopologyManagerStore(pool).load_position()
    finally:
        await pool.close()
    assert position is not None
    assert (position.counter, position.timestamp_us, position.event_hash) == (7, 2000, None)
