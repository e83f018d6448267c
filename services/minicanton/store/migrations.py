"""A tiny forward-only migration runner, shared by every store.

Each store keeps numbered SQL files in one folder (``0001_init.sql``, ``0002_….sql``). At start
a process calls `apply_migrations(dsn_or_connection, store, folder)`: under an advisory lock (so
instances of a replicated node starting together do not race), every file whose number is not
yet recorded in ``schema_migrations`` for that store runs in its own transaction and is
recorded with its SHA-256. An applied file is never edited: a recorded checksum that no longer
matches the file stops the start with `MigrationError` instead of leaving two schemas in use.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from minicanton.core.errors import MinicantonError

_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_LOCK_KEY = 0x6D696E69  # "mini": one advisory lock for every store's migrations


class MigrationError(MinicantonError):
    error_id = "MIGRATION_ERROR"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def read_migrations(folder: Path) -> list[Migration]:
    migrations = []
    for path in sorted(folder.glob("*.sql")):
        match = _FILE.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name} is not named NNNN_snake_case.sql")
        migrations.append(Migration(int(match.group(1)), path.name, path.read_text()))
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise MigrationError(f"migrations in {folder} are not numbered 1..n: {versions}")
    return migrations


_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    store text NOT NULL,
    version int NOT NULL,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store, version)
)"""


async def apply_migrations(
    target: str | asyncpg.Connection, store: str, folder: Path
) -> list[str]:
    """Apply `folder`'s pending migrations for `store`; the names applied now."""
    migrations = read_migrations(folder)
    connection = await asyncpg.connect(target) if isinstance(target, str) else target
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        try:
            return await _apply(connection, store, migrations)
        finally:
            await connection.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    finally:
        if isinstance(target, str):
            await connection.close()


async def _apply(
    connection: asyncpg.Connection, store: str, migrations: list[Migration]
) -> list[str]:
    await connection.execute(_CREATE_TABLE)
    rows = await connection.fetch(
        "SELECT version, name, checksum FROM schema_migrations WHERE store = $1", store
    )
    applied = {row["version"]: row for row in rows}
    done = []
    for migration in migrations:
        row = applied.get(migration.version)
        if row is not None:
            if row["checksum"] != migration.checksum:
                raise MigrationError(
                    f"{store} migration {row['name']} was edited after it was applied"
                )
            continue
        async with connection.transaction():
            await connection.execute(migration.sql)
            await connection.execute(
                "INSERT INTO schema_migrations (store, version, name, checksum) "
                "VALUES ($1, $2, $3, $4)", store, migration.version, migration.name,
                migration.checksum,
            )
        done.append(migration.name)
    unknown = sorted(set(applied) - {m.version for m in migrations})
    if unknown:
        raise MigrationError(f"{store} database has migrations {unknown} this code does not know")
    return done
