"""Two participant stores fed the same writes, one through each write path, and a comparison
of every table of their two databases.

The store writes an event's effects with one PL/pgSQL statement (participant_fast_writes.py)
and hands what that declines to the statement-by-statement path (participant_slow_writes.py);
a submission starts the same way. The two must leave identical rows, and nothing else checks
that. `Twin` drives the *fast* database through the store exactly as the participant does (the
event pump's `EventWriter`, `start_submission`) and the *slow* database through the
statement-by-statement functions called directly on a connection, with the same arguments;
each call answers on both sides (a result, or the same typed error) and `assert_same_tables`
compares every table, all rows and columns in primary-key order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg

from minicanton.core.errors import MinicantonError
from minicanton.core.protocol.deduplication import DeduplicationDecision, DeduplicationPeriod
from minicanton.store.participant_store import AppliedEvent, EventEffects, SubmissionEntry
from minicanton.store.postgres.participant_slow_writes import (
    apply_event_slowly,
    start_submission_slowly,
)
from minicanton.store.postgres.participant_store import EventWriter, PostgresParticipantStore

MAX_DEDUPLICATION_US = 100
# the migrations' bookkeeping (applied_at differs); every other table is the store's state
NOT_COMPARED = ("schema_migrations",)
_T = TypeVar("_T")

TABLES_SQL = """
SELECT c.relname::text AS name,
       ARRAY(SELECT a.attname::text FROM pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum) AS columns,
       ARRAY(SELECT a.attname::text
             FROM pg_index i CROSS JOIN unnest(i.indkey::int2[]) WITH ORDINALITY k (attnum, n)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE i.indrelid = c.oid AND i.indisprimary ORDER BY k.n) AS key
FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
  AND c.relname <> ALL ($1::text[])
ORDER BY c.relname
"""


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[str, ...]
    select: str  # all rows, by primary key (whole rows for a table without one)


async def tables_of(conn: Any) -> tuple[Table, ...]:
    tables = []
    for row in await conn.fetch(TABLES_SQL, list(NOT_COMPARED)):
        name = _quoted(row["name"])
        order = ", ".join(map(_quoted, row["key"])) or name
        tables.append(Table(row["name"], tuple(row["columns"]),
                            f"SELECT * FROM {name} ORDER BY {order}"))
    return tuple(tables)


@dataclass(frozen=True, slots=True)
class Raised:
    """A call that failed: the same error on both sides counts as agreement."""

    error: str
    message: str


async def outcome(call: Awaitable[_T]) -> _T | Raised:
    try:
        return await call
    except (asyncpg.PostgresError, MinicantonError) as err:
        return Raised(type(err).__name__, str(err))


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def table_contents(conn: Any, tables: tuple[Table, ...]
                         ) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, its column names first."""
    return {t.name: [t.columns] + [tuple(r) for r in await conn.fetch(t.select)]
            for t in tables}


def differences(fast: dict[str, list[tuple[Any, ...]]], slow: dict[str, list[tuple[Any, ...]]]
                ) -> list[str]:
    found = [f"table {t} only in one database" for t in sorted(set(fast) ^ set(slow))]
    for table in sorted(set(fast) & set(slow)):
        if fast[table] != slow[table]:
            only_fast = [r for r in fast[table] if r not in slow[table]]
            only_slow = [r for r in slow[table] if r not in fast[table]]
            found.append(f"{table}: only after the one-statement path {only_fast}, "
                         f"only after the statement-by-statement path {only_slow}")
    return found


# Written by the Ledger API's user management, never by an event, and not empty after the
# migrations (Daml's default `participant_admin` user): left as the migrations made them.
_USER_TABLES = ("users", "user_rights")


async def reset(conn: Any, tables: tuple[Table, ...]) -> None:
    """Back to the state right after the migrations: no event-written rows but the two
    singletons."""
    written = [t.name for t in tables if t.name not in _USER_TABLES]
    await conn.execute(f"TRUNCATE {', '.join(_quoted(name) for name in written)}")
    await conn.execute("INSERT INTO ledger_state DEFAULT VALUES; "
                       "INSERT INTO command_dedup_state DEFAULT VALUES")


class Twin:
    """The fast database written as the participant writes it, the slow one by the
    statement-by-statement functions; one held connection each."""

    def __init__(self, fast: PostgresParticipantStore, writer: EventWriter,
                 slow: PostgresParticipantStore, slow_conn: Any, tables: tuple[Table, ...]
                 ) -> None:
        self.fast, self.writer, self.slow, self.slow_conn = fast, writer, slow, slow_conn
        self.tables = tables

    async def apply(self, effects: EventEffects) -> tuple[AppliedEvent | Raised, bool]:
        """Both answers (asserted equal) and whether the fast side's one statement wrote it
        (False: it declined and the store went statement by statement, or it failed)."""
        fast = await outcome(self.writer.apply_event(effects))
        slow = await outcome(apply_event_slowly(self.slow_conn, effects))
        fast_answer = fast if isinstance(fast, Raised) else fast[0]
        assert fast_answer == slow, f"{effects}: one statement {fast}, one by one {slow}"
        return slow, not isinstance(fast, Raised) and fast[1]

    async def start(self, entry: SubmissionEntry, period: DeduplicationPeriod | None,
                    now_us: int) -> DeduplicationDecision | Raised:
        fast = await outcome(self.fast.start_submission(entry, period, now_us,
                                                        MAX_DEDUPLICATION_US))
        slow = await outcome(start_submission_slowly(self.slow_conn, entry, period, now_us,
                                                     MAX_DEDUPLICATION_US))
        assert fast == slow, f"{entry} {period} at {now_us}: store {fast}, slowly {slow}"
        return slow

    async def expire(self, now_us: int) -> int:
        """Dedup expiry (one path only: the same code on both sides, to reach 'after pruning')."""
        fast = await self.fast.expire_deduplication(now_us, MAX_DEDUPLICATION_US)
        slow = await self.slow.expire_deduplication(now_us, MAX_DEDUPLICATION_US)
        assert fast == slow
        return fast

    async def assert_same_tables(self) -> dict[str, list[tuple[Any, ...]]]:
        """The fast database's contents (equal to the slow one's, or an assertion error)."""
        fast = await table_contents(self.fast.pool, self.tables)
        slow = await table_contents(self.slow.pool, self.tables)
        assert not differences(fast, slow), "\n".join(differences(fast, slow))
        return fast


class TwinDatabases:
    """Two migrated databases and their pools, reset to fresh for each `twin()`."""

    def __init__(self, fast: PostgresParticipantStore, slow: PostgresParticipantStore,
                 tables: tuple[Table, ...], fresh: dict[str, list[tuple[Any, ...]]]) -> None:
        self._fast, self._slow, self._tables, self._fresh = fast, slow, tables, fresh

    @classmethod
    async def open(cls, fast_dsn: str, slow_dsn: str) -> TwinDatabases:
        fast = await PostgresParticipantStore.open(fast_dsn)
        slow = await PostgresParticipantStore.open(slow_dsn)
        tables = await tables_of(fast.pool)
        assert await tables_of(slow.pool) == tables
        fresh = await table_contents(fast.pool, tables)
        assert await table_contents(slow.pool, tables) == fresh
        return cls(fast, slow, tables, fresh)

    @asynccontextmanager
    async def twin(self) -> AsyncIterator[Twin]:
        """A `Twin` on both databases as fresh as after their migrations (the same rows as
        when opened), with new store objects (so no ledger end is remembered)."""
        for store in (self._fast, self._slow):
            await reset(store.pool, self._tables)
            assert await table_contents(store.pool, self._tables) == self._fresh
        fast = PostgresParticipantStore(self._fast.pool)
        slow = PostgresParticipantStore(self._slow.pool)
        writer = fast.event_writer()
        try:
            async with slow.pool.acquire() as slow_conn:
                yield Twin(fast, writer, slow, slow_conn, self._tables)
        finally:
            await writer.close()

    async def close(self) -> None:
        await self._fast.close()
        await self._slow.close()
