"""The shared migration runner: ordered, recorded, idempotent, and refusing edited history."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from minicanton.store.migrations import MigrationError, apply_migrations
from minicanton.store.postgres.sequencer import MIGRATIONS


def write(folder: Path, name: str, sql: str) -> None:
    (folder / name).write_text(sql)


async def test_migrations_apply_once_in_order(fresh_database: str, tmp_path: Path) -> None:
    write(tmp_path, "0001_first.sql", "CREATE TABLE t (n int);")
    write(tmp_path, "0002_second.sql", "INSERT INTO t VALUES (2);")
    assert await apply_migrations(fresh_database, "demo", tmp_path) == [
        "0001_first.sql", "0002_second.sql"]
    assert await apply_migrations(fresh_database, "demo", tmp_path) == []
    write(tmp_path, "0003_third.sql", "INSERT INTO t VALUES (3);")
    assert await apply_migrations(fresh_database, "demo", tmp_path) == ["0003_third.sql"]
    connection = await asyncpg.connect(fresh_database)
    try:
        assert [r["n"] for r in await connection.fetch("SELECT n FROM t ORDER BY n")] == [2, 3]
    finally:
        await connection.close()


async def test_an_edited_migration_is_refused(fresh_database: str, tmp_path: Path) -> None:
    write(tmp_path, "0001_first.sql", "CREATE TABLE t (n int);")
    await apply_migrations(fresh_database, "demo", tmp_path)
    write(tmp_path, "0001_first.sql", "CREATE TABLE t (n bigint);")
    with pytest.raises(MigrationError, match="edited"):
        await apply_migrations(fresh_database, "demo", tmp_path)


async def test_a_failing_migration_leaves_nothing_recorded(
    fresh_database: str, tmp_path: Path
) -> None:
    write(tmp_path, "0001_bad.sql", "CREATE TABLE t (n int); SELECT no_such_function();")
    with pytest.raises(asyncpg.PostgresError):
        await apply_migrations(fresh_database, "demo", tmp_path)
    write(tmp_path, "0001_bad.sql", "CREATE TABLE t (n int);")
    assert await apply_migrations(fresh_database, "demo", tmp_path) == ["0001_bad.sql"]


def test_badly_named_or_gapped_files_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "0002_gap.sql", "")
    with pytest.raises(MigrationError):
        asyncio.run(apply_migrations("postgresql://unused", "demo", tmp_path))


async def test_instances_starting_together_apply_the_sequencer_schema_once(
    fresh_database: str,
) -> None:
    results = await asyncio.gather(
        *(apply_migrations(fresh_database, "sequencer", MIGRATIONS) for _ in range(3)))
    assert sorted(len(r) for r in results) == [0, 0, len(list(MIGRATIONS.glob("*.sql")))]
