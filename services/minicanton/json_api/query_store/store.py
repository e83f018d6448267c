"""The query store on PostgreSQL: active contracts per (party, template) with their offsets.

Theory of operation
-------------------
The store is a cache several JSON API instances of one participant may share. Each
(party, template) pair has the ledger offset the store is current to for it. A catch-up
(catch_up.py) reads the ledger past those offsets and hands `apply` one `StoreUpdate`: the
offset steps it expects to take (from what it read to the new offset) and the creates and
archives it saw. `apply` writes it in ONE transaction that

1. locks the pairs' offset rows in a fixed order and checks each is still what the catch-up
   started from (compare-and-set); if another instance moved one, nothing is written and
   `apply` answers False so the caller re-reads and retries;
2. inserts created contracts (a contract already there, active or archived, is left alone)
   and, while they are still active, one visibility row, indexed by (template, party), for
   each stakeholder whose (party, template) pair this update advances. Only those: a
   stakeholder whose pair is elsewhere may have moved past the contract's archive already
   (say it started from a later active contract set), and would see a contract it has
   already been told is gone;
3. turns archived contracts into tombstones and drops their visibility rows. Tombstones stay:
   a slower instance replaying an older range may re-insert a create, and the row's
   uniqueness makes that a no-op instead of a resurrection ("no lost archive").

Rows are written in contract-id order so concurrent writers do not deadlock; a deadlock or
serialization failure that still happens is a conflict like a failed compare-and-set.
Dropping the tables is allowed: the next operation that finds them gone recreates them
(`_rebuilt`), and the queries that follow refill them from the ledger.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import asyncpg

from minicanton.core.errors import MinicantonError
from minicanton.core.lf.identifier import Identifier
from minicanton.core.protocol.offsets import Offset
from minicanton.json_api.contracts import NO_KEY, ActiveContract, ArchivedContract
from minicanton.json_api.query_language import (
    Query,
    containment,
    matches,
    query_sql,
    sql_expressible,
)
from minicanton.store.migrations import apply_migrations

log = logging.getLogger(__name__)
STORE_NAME = "json_api_query_store"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
TABLES = ("query_store_meta", "ledger_offset", "contract", "contract_party")
_REBUILD_LOCK = 0x6A736F6E  # "json"
_REBUILD_TRIES = 4
_CONFLICTS = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)
_SCHEMA_GONE = (asyncpg.UndefinedTableError, asyncpg.InvalidCachedStatementError)
T = TypeVar("T")

Pair = tuple[str, str]  # (party, template id)


class QueryStoreError(MinicantonError):
    error_id = "QUERY_STORE_ERROR"
    grpc_status = "UNAVAILABLE"


class WrongParticipant(QueryStoreError):
    error_id = "QUERY_STORE_OF_ANOTHER_PARTICIPANT"


@dataclass(frozen=True, slots=True)
class OffsetStep:
    """Move a pair from `expected` (None: not in the store yet) to `target`."""

    party: str
    template_id: Identifier
    expected: Offset | None
    target: Offset

    @property
    def pair(self) -> Pair:
        return (self.party, str(self.template_id))


@dataclass(frozen=True, slots=True)
class StoreUpdate:
    steps: tuple[OffsetStep, ...]
    creates: tuple[ActiveContract, ...] = ()
    archives: tuple[ArchivedContract, ...] = ()


class PostgresQueryStore:
    def __init__(self, pool: asyncpg.Pool, participant_id: str) -> None:
        self._pool = pool
        self._participant_id = participant_id
        self._statistics = _FreshStatistics()

    @classmethod
    async def open(cls, dsn: str, participant_id: str, pool_size: int = 8) -> PostgresQueryStore:
        await apply_migrations(dsn, STORE_NAME, MIGRATIONS)
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=pool_size)
        store = cls(pool, participant_id)
        try:
            await store._claim()
        except BaseException:
            await pool.close()
            raise
        return store

    async def close(self) -> None:
        await self._pool.close()

    async def _claim(self) -> None:
        async with self._pool.acquire() as connection:
            await connection.execute(
                "INSERT INTO query_store_meta (participant_id) VALUES ($1) "
                "ON CONFLICT (singleton) DO NOTHING", self._participant_id)
            owner = await connection.fetchval("SELECT participant_id FROM query_store_meta")
        if owner != self._participant_id:
            raise WrongParticipant(
                f"the query store caches participant {owner!r}, not {self._participant_id!r}; "
                "give this JSON API its own database")

    async def healthy(self) -> bool:
        try:
            async with self._pool.acquire(timeout=2) as connection:
                await connection.fetchval("SELECT 1", timeout=2)
            return True
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False

    # --------------------------------------------------------------------- schema recovery

    async def _rebuilt(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run `operation`; if the store's tables were dropped, recreate them and run it again
        (another instance may be recreating them at the same moment: a few tries). A
        deadlock with such a drop is retried too."""
        for _ in range(_REBUILD_TRIES - 1):
            try:
                return await operation()
            except _SCHEMA_GONE:
                await self.rebuild()
            except _CONFLICTS:
                continue
        return await operation()

    async def rebuild(self) -> None:
        """Recreate the schema if any table is missing (empty: the cache refills itself).
        One session lock covers the check, the drop and the migrations, so instances that
        notice together rebuild once."""
        async with self._pool.acquire() as connection:
            await connection.execute("SELECT pg_advisory_lock($1)", _REBUILD_LOCK)
            try:
                present = await connection.fetchval(
                    "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
                    "AND tablename = ANY($1::text[])", list(TABLES))
                if present < len(TABLES):
                    await _drop_schema(connection)
                    await apply_migrations(connection, STORE_NAME, MIGRATIONS)
            finally:
                await connection.execute("SELECT pg_advisory_unlock($1)", _REBUILD_LOCK)
        await self._pool.expire_connections()  # their cached plans name the dropped tables
        await self._claim()

    # ------------------------------------------------------------------------------ offsets

    async def offsets(self, parties: Iterable[str],
                      templates: Iterable[Identifier]) -> dict[Pair, Offset]:
        """The offset of each (party, template) pair the store has (absent: never fetched)."""
        party_list, template_list = sorted(set(parties)), sorted({str(t) for t in templates})

        async def read() -> dict[Pair, Offset]:
            async with self._pool.acquire() as connection:
                rows = await connection.fetch(
                    "SELECT party, template_id, last_offset FROM ledger_offset "
                    "WHERE party = ANY($1::text[]) AND template_id = ANY($2::text[])",
                    party_list, template_list)
            return {(r["party"], r["template_id"]): Offset(r["last_offset"]) for r in rows}

        return await self._rebuilt(read)

    # -------------------------------------------------------------------------------- apply

    async def apply(self, update: StoreUpdate) -> bool:
        """Write `update` if every offset step still starts where it expects; else False."""

        async def write() -> bool:
            async with self._pool.acquire() as connection:
                try:
                    async with connection.transaction():
                        if not await _compare_and_set(connection, update.steps):
                            raise _Conflict
                        pairs = {step.pair for step in update.steps}
                        await _insert_creates(connection, update.creates, pairs)
                        await _apply_archives(connection, update.archives)
                except (_Conflict, *_CONFLICTS):
                    return False
            if self._statistics.stale_after(len(update.creates)):
                await self._analyze()
            return True

        return await self._rebuilt(write)

    async def _analyze(self) -> None:
        """Fresh planner statistics after a bulk fill (a catch-up from an active contract
        set): planned on the statistics of a much smaller table, the next queries would scan
        every contract until autovacuum comes by, up to a minute later."""
        try:
            async with self._pool.acquire() as connection:
                await connection.execute("ANALYZE contract, contract_party")
                rows = await connection.fetchval(
                    "SELECT reltuples::bigint FROM pg_class WHERE relname = 'contract'")
        except (asyncpg.PostgresError, OSError) as error:  # the write stands; autovacuum
            log.warning("could not refresh the query store's statistics: %s", error)
            return
        self._statistics.analyzed(max(0, int(rows or 0)))

    # -------------------------------------------------------------------------------- reads

    async def query(self, parties: Iterable[str], queries: Iterable[Query],
                    current_to: Offset | None = None) -> list[ActiveContract]:
        """Active contracts visible to one of `parties` matching one of `queries`. With
        `current_to`, read only if every (party, template) pair is still current to at least
        that offset (else `StoreMovedOn`): what the caller caught up is what it reads."""
        by_template = {str(q.template): q for q in queries}
        if not by_template:
            return []
        party_list = sorted(set(parties))
        params: list[object] = [sorted(by_template), party_list]
        alternatives = [_template_condition(template, query, params)
                        for template, query in by_template.items()]
        sql = (f"SELECT {_COLUMNS} FROM contract c WHERE NOT c.archived AND c.contract_id IN "
               "(SELECT contract_id FROM contract_party WHERE template_id = ANY($1::text[]) "
               "AND party = ANY($2::text[])) AND (" + " OR ".join(alternatives) + ")")
        found = await self._read(sql, params, _Guard(party_list, sorted(by_template), current_to))
        # rows kept as text, and queries SQL cannot express, are matched here
        return [contract for contract, textual in found
                if not (textual or not sql_expressible(by_template[str(contract.template_id)]))
                or matches(by_template[str(contract.template_id)], contract.payload)]

    async def fetch_by_id(self, parties: Iterable[str], templates: Iterable[Identifier],
                          contract_id: str, current_to: Offset | None = None
                          ) -> ActiveContract | None:
        sql = (f"SELECT {_COLUMNS} FROM contract c WHERE c.contract_id = $1 AND NOT c.archived "
               "AND c.template_id = ANY($2::text[]) AND EXISTS (SELECT 1 FROM contract_party p "
               "WHERE p.contract_id = c.contract_id AND p.party = ANY($3::text[]))")
        guard = _Guard(sorted(set(parties)), sorted({str(t) for t in templates}), current_to)
        found = await self._read(sql, [contract_id, guard.templates, guard.parties], guard)
        return found[0][0] if found else None

    async def fetch_by_key(self, parties: Iterable[str], template: Identifier, key: object,
                           current_to: Offset | None = None) -> ActiveContract | None:
        text = _dump(key)
        matching = ("c.key_text = $2" if _textual(text) else
                    "c.key IS NOT NULL AND md5(c.key::text) = md5($2::text::jsonb::text) "
                    "AND c.key = $2::text::jsonb")
        sql = (f"SELECT {_COLUMNS} FROM contract c WHERE c.template_id = $1 AND NOT c.archived "
               f"AND {matching} AND EXISTS (SELECT 1 FROM contract_party p "
               "WHERE p.contract_id = c.contract_id AND p.party = ANY($3::text[]))")
        guard = _Guard(sorted(set(parties)), [str(template)], current_to)
        found = await self._read(sql, [str(template), text, guard.parties], guard)
        return found[0][0] if found else None

    async def _read(self, sql: str, params: list[object],
                    guard: _Guard) -> list[tuple[ActiveContract, bool]]:
        """Contracts, each with whether its payload was kept as text (not jsonb), read in
        one snapshot with the guard's check."""
        async def read() -> list[tuple[ActiveContract, bool]]:
            async with self._pool.acquire() as connection, connection.transaction(
                    isolation="repeatable_read", readonly=True):
                await guard.check(connection)
                rows = await connection.fetch(sql, *params)
            return [(_contract_of(row), row["textual"]) for row in rows]

        return await self._rebuilt(read)


class _Conflict(Exception):
    pass


class _FreshStatistics:
    """When this instance's writes have grown the contract table by a fifth since the last
    ANALYZE (and by at least `MIN_ROWS`): the point where PostgreSQL's plans for the queries
    can turn from index lookups into scans, or the other way."""

    MIN_ROWS = 1_000
    GROWTH = 0.2

    def __init__(self) -> None:
        self._rows_at_analyze = 0
        self._written = 0

    def stale_after(self, created: int) -> bool:
        self._written += created
        return self._written >= max(self.MIN_ROWS, self.GROWTH * self._rows_at_analyze)

    def analyzed(self, rows: int) -> None:
        self._rows_at_analyze, self._written = rows, 0


@dataclass(frozen=True, slots=True)
class _Guard:
    parties: list[str]
    templates: list[str]
    current_to: Offset | None

    async def check(self, connection: asyncpg.Connection) -> None:
        if self.current_to is None:
            return
        current = await connection.fetchval(
            "SELECT count(*) FROM ledger_offset WHERE party = ANY($1::text[]) "
            "AND template_id = ANY($2::text[]) AND last_offset >= $3",
            self.parties, self.templates, self.current_to)
        if current != len(self.parties) * len(self.templates):
            raise StoreMovedOn("the query store was rebuilt while this query read it")


class StoreMovedOn(QueryStoreError):
    """The pairs a read relies on are no longer current to the offset the caller caught up
    to (the store was dropped and rebuilt meanwhile): catch up again."""

    error_id = "QUERY_STORE_REBUILT"


async def _drop_schema(connection: asyncpg.Connection) -> None:
    async with connection.transaction():
        for table in TABLES:
            await connection.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
        if await connection.fetchval("SELECT to_regclass('schema_migrations')"):
            await connection.execute("DELETE FROM schema_migrations WHERE store = $1",
                                     STORE_NAME)


_COLUMNS = ("c.contract_id, c.template_id, COALESCE(c.payload::text, c.payload_text) AS payload, "
            "COALESCE(c.key::text, c.key_text) AS key, c.payload IS NULL AS textual, "
            "c.signatories, c.observers, c.agreement_text")


def _template_condition(template: str, query: Query, params: list[object]) -> str:
    # The typed casts of a range must only ever see this template's payloads, and PostgreSQL
    # does not promise to evaluate AND left to right: CASE does. Rows kept as text (U+0000)
    # are a second branch, matched in Python after; either branch can use an index.
    params.append(template)
    selected = f"c.template_id = ${len(params)}"
    if not sql_expressible(query):
        return f"({selected})"  # every row of the template; matched in Python
    parts = [selected]
    document = containment(query)
    if document is not None:
        params.append(_dump(document))
        parts.append(f"c.payload @> ${len(params)}::text::jsonb")
    condition = query_sql(query, "c.payload", params)
    if condition != "true":
        params.append(template)
        parts.append(f"(CASE WHEN c.template_id = ${len(params)} THEN {condition} ELSE false END)")
    if len(parts) == 1:
        return f"({selected})"
    return f"(({' AND '.join(parts)}) OR ({selected} AND c.payload IS NULL))"


def _dump(document: object) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def _textual(dumped: str) -> bool:
    """JSON that jsonb cannot hold: it names U+0000 (always escaped in JSON text)."""
    return "\\u0000" in dumped


def _columns_of(document: object) -> tuple[str | None, str | None]:
    """(jsonb text, plain text): exactly one is set."""
    dumped = _dump(document)
    return (None, dumped) if _textual(dumped) else (dumped, None)


def _contract_of(row: asyncpg.Record) -> ActiveContract:
    package_id, module_name, entity_name = row["template_id"].split(":")
    return ActiveContract(
        contract_id=row["contract_id"],
        template_id=Identifier(package_id, module_name, entity_name),
        payload=json.loads(row["payload"]),
        key=NO_KEY if row["key"] is None else json.loads(row["key"]),
        signatories=tuple(row["signatories"]),
        observers=tuple(row["observers"]),
        agreement_text=row["agreement_text"],
    )


async def _compare_and_set(connection: asyncpg.Connection, steps: tuple[OffsetStep, ...]) -> bool:
    ordered = sorted(steps, key=lambda step: step.pair)
    parties = [step.party for step in ordered]
    templates = [str(step.template_id) for step in ordered]
    rows = await connection.fetch(
        "SELECT party, template_id, last_offset FROM ledger_offset "
        "WHERE (party, template_id) IN (SELECT * FROM unnest($1::text[], $2::text[])) "
        "ORDER BY party, template_id FOR UPDATE", parties, templates)
    current = {(r["party"], r["template_id"]): r["last_offset"] for r in rows}
    if any(current.get(step.pair) != step.expected for step in ordered):
        return False
    new = [step for step in ordered if step.expected is None]
    inserted = await connection.fetchval(
        "WITH added AS (INSERT INTO ledger_offset (party, template_id, last_offset) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) "
        "ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) FROM added",
        [s.party for s in new], [str(s.template_id) for s in new], [s.target for s in new])
    if inserted != len(new):
        return False  # another instance created one of these pairs meanwhile
    moved = [step for step in ordered if step.expected is not None]
    await connection.execute(
        "UPDATE ledger_offset o SET last_offset = s.target FROM unnest($1::text[], $2::text[], "
        "$3::text[]) AS s(party, template_id, target) "
        "WHERE o.party = s.party AND o.template_id = s.template_id",
        [s.party for s in moved], [str(s.template_id) for s in moved],
        [s.target for s in moved])
    return True


async def _insert_creates(connection: asyncpg.Connection, creates: tuple[ActiveContract, ...],
                          pairs: set[Pair]) -> None:
    unique = sorted({c.contract_id: c for c in creates}.values(), key=lambda c: c.contract_id)
    if not unique:
        return
    payloads = [_columns_of(c.payload) for c in unique]
    keys = [(None, None) if c.key is NO_KEY else _columns_of(c.key) for c in unique]
    await connection.execute(
        "INSERT INTO contract (contract_id, template_id, payload, payload_text, key, key_text, "
        "signatories, observers, agreement_text) SELECT id, t, p::jsonb, pt, k::jsonb, kt, "
        "s, o, a FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], "
        "$6::text[], $7::text[], $8::text[]) AS u(id, t, p, pt, k, kt, a, n) "
        "CROSS JOIN LATERAL (SELECT ARRAY(SELECT jsonb_array_elements_text(n::jsonb -> 0)) AS s, "
        "ARRAY(SELECT jsonb_array_elements_text(n::jsonb -> 1)) AS o) AS parties "
        "ORDER BY id ON CONFLICT (contract_id) DO NOTHING",
        [c.contract_id for c in unique], [str(c.template_id) for c in unique],
        [p for p, _ in payloads], [t for _, t in payloads],
        [k for k, _ in keys], [t for _, t in keys], [c.agreement_text for c in unique],
        [_dump([list(c.signatories), list(c.observers)]) for c in unique])
    visibility = sorted(
        (str(c.template_id), party, c.contract_id) for c in unique
        for party in c.stakeholders if (party, str(c.template_id)) in pairs)
    # FOR SHARE: an instance archiving one of these contracts now waits for us (and then
    # deletes the rows we add), or we wait for it (and then see the contract archived).
    await connection.execute(
        "WITH live AS (SELECT contract_id FROM contract WHERE contract_id = ANY($4::text[]) "
        "AND NOT archived ORDER BY contract_id FOR SHARE) "
        "INSERT INTO contract_party (template_id, party, contract_id) "
        "SELECT v.t, v.p, v.id FROM unnest($1::text[], $2::text[], $3::text[]) AS v(t, p, id) "
        "JOIN live ON live.contract_id = v.id ON CONFLICT DO NOTHING",
        [v[0] for v in visibility], [v[1] for v in visibility], [v[2] for v in visibility],
        [c.contract_id for c in unique])


async def _apply_archives(connection: asyncpg.Connection,
                          archives: tuple[ArchivedContract, ...]) -> None:
    unique = sorted({a.contract_id: a for a in archives}.values(), key=lambda a: a.contract_id)
    if not unique:
        return
    ids = [a.contract_id for a in unique]
    await connection.execute(
        "INSERT INTO contract (contract_id, template_id, archived) "
        "SELECT id, t, true FROM unnest($1::text[], $2::text[]) AS u(id, t) ORDER BY id "
        "ON CONFLICT (contract_id) DO UPDATE SET archived = true, payload = NULL, key = NULL, "
        "payload_text = NULL, key_text = NULL",
        ids, [str(a.template_id) for a in unique])
    await connection.execute("DELETE FROM contract_party WHERE contract_id = ANY($1::text[])", ids)
