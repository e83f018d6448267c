"""The statements the participant store's write path sends, seen by asyncpg's query logger on
the pool's only connection: a write statement runs only when it has rows to write, and what
is written, with the clean position, is the same as before (the rest of the suite checks the
rows themselves)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import asyncpg
import pytest
from tests.integration.participant_store.test_participant_store import (
    ALICE,
    entry_for,
    event,
    iou,
    transfer,
    tx,
)

from minicanton.core.ids import RequestId
from minicanton.core.protocol.conflict_detection import RequestLocks, StatesToFetch
from minicanton.core.protocol.offsets import offset_of
from minicanton.store.participant_store import CleanPosition, PendingRequest
from minicanton.store.postgres.participant_store import PostgresParticipantStore

WRITE = re.compile(r"^\s*(INSERT INTO|UPDATE|DELETE FROM)\s+(\w+)", re.IGNORECASE)


class Statements:
    """Every statement the store's single connection runs."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def __call__(self, record: asyncpg.connection.LoggedQuery) -> None:
        self.queries.append(record.query)

    def take_writes(self) -> list[str]:
        """'INSERT INTO t' / 'UPDATE t' / 'DELETE FROM t' for each write since the last take."""
        found = [match for q in self.queries if (match := WRITE.match(q))]
        self.queries.clear()
        return [f"{m.group(1).upper()} {m.group(2)}" for m in found]

    def take_reads_of(self, table: str) -> list[str]:
        found = [q for q in self.queries if q.lstrip().upper().startswith("SELECT")
                 and f" {table} " in f"{q} "]
        self.queries.clear()
        return found


@pytest.fixture
async def logged(fresh_database: str
                 ) -> AsyncIterator[tuple[PostgresParticipantStore, Statements]]:
    store = await PostgresParticipantStore.open(fresh_database, min_size=1, max_size=1)
    statements = Statements()
    async with store.pool.acquire() as conn:  # the pool's one connection: every call uses it
        conn.add_query_logger(statements)
    statements.queries.clear()
    try:
        yield store, statements
    finally:
        await store.close()


async def test_an_event_without_effects_writes_only_the_clean_position(
    logged: tuple[PostgresParticipantStore, Statements],
) -> None:
    store, statements = logged
    applied = await store.apply_event(event(1))
    assert statements.take_writes() == ["UPDATE ledger_state"]
    assert applied.ledger_end == offset_of(0) and not applied.already_applied
    assert await store.clean_position() == CleanPosition(1, 10)


async def test_each_write_runs_only_for_the_effects_an_event_has(
    logged: tuple[PostgresParticipantStore, Statements],
) -> None:
    store, statements = logged
    await store.apply_event(event(1, entry_for(tx(iou("c1", ALICE)), "t1")))
    assert statements.take_writes() == [  # a create: no archive, divulgence, protocol state
        "INSERT INTO transactions", "INSERT INTO events", "INSERT INTO event_witnesses",
        "INSERT INTO contracts", "UPDATE ledger_state"]

    locks = RequestLocks(RequestId("r1"), 20, 90, frozenset({"c1"}), frozenset())
    await store.apply_event(event(2, pending_added=(PendingRequest(locks, b"p"),)))
    assert statements.take_writes() == ["INSERT INTO pending_requests", "UPDATE ledger_state"]

    spend = entry_for(tx(transfer("c1", ALICE, (1,)), iou("c2", ALICE)), "t2")
    await store.apply_event(event(3, spend, pending_removed=(RequestId("r1"),)))
    assert statements.take_writes() == [
        "INSERT INTO transactions", "INSERT INTO events", "INSERT INTO event_witnesses",
        "UPDATE contracts", "INSERT INTO contracts", "DELETE FROM pending_requests",
        "UPDATE ledger_state"]
    acs, at = await store.active_contracts([ALICE])
    assert [r.contract.contract_id for r in acs] == ["c2"] and at == offset_of(2)
    assert await store.pending_requests() == []
    assert await store.clean_position() == CleanPosition(3, 30)


async def test_loading_no_states_reads_nothing(
    logged: tuple[PostgresParticipantStore, Statements],
) -> None:
    store, statements = logged
    assert await store.load_states(StatesToFetch(frozenset(), frozenset())) == ({}, {})
    assert statements.take_reads_of("contracts") == []
    await store.apply_event(event(1, entry_for(tx(iou("c1", ALICE)), "t1")))
    statements.queries.clear()
    contracts, keys = await store.load_states(StatesToFetch(frozenset({"c1", "c9"}), frozenset()))
    assert set(contracts) == {"c1", "c9"} and contracts["c9"] is None and keys == {}
    assert contracts["c1"] is not None and contracts["c1"].active
    assert len(statements.take_reads_of("contracts")) == 1  # the keys query is skipped
