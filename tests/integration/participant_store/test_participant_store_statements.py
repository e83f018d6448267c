"""The statements the participant store sends, seen by asyncpg's query logger on the pool's
only connection: an event's effects and a new submission are one statement (one round trip)
each, the statement-by-statement path takes over for what that statement declines (a
duplicate transaction id, a ledger end another writer moved), and a read runs only for what
is wanted (the rest of the suite checks the rows themselves)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import asyncpg
import pytest
from tests.integration.participant_store.test_participant_store import (
    ALICE,
    BANK,
    SECOND_US,
    entry_for,
    event,
    iou,
    transfer,
    tx,
)

from minicanton.core.ids import RequestId
from minicanton.core.lf.transaction import KeyWithMaintainers
from minicanton.core.lf.value import PartyValue
from minicanton.core.protocol.conflict_detection import RequestLocks, StatesToFetch
from minicanton.core.protocol.deduplication import AlreadyInFlight, ChangeId, NotDuplicate
from minicanton.core.protocol.offsets import LEDGER_BEGIN, offset_of
from minicanton.store.participant_store import (
    CleanPosition,
    CompletionEntry,
    PendingRequest,
    SubmissionEntry,
)
from minicanton.store.postgres.participant_store import PostgresParticipantStore

LOOKUPS = ("participant_contract_states", "participant_key_assignments")
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

    def take_lookups(self) -> list[str]:
        """The contract-state lookup functions called since the last take."""
        found = [name for q in self.queries for name in LOOKUPS if name in q]
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


def apply_calls(statements: Statements) -> list[str]:
    """The statements since the last take, as their first words (one per round trip)."""
    found = [" ".join(q.split()[:2]) for q in statements.queries]
    statements.queries.clear()
    return found


async def test_an_event_is_one_statement_whatever_its_effects(
    logged: tuple[PostgresParticipantStore, Statements],
) -> None:
    store, statements = logged
    applied = await store.apply_event(event(1))
    # the first also reads the ledger end, and asyncpg learns the row types (once)
    first = apply_calls(statements)
    assert first[0] == "SELECT ledger_end_counter"
    assert first[-1] == "SELECT participant_apply_event($1," and first.count(first[-1]) == 1
    assert applied.ledger_end == offset_of(0) and not applied.already_applied
    assert await store.clean_position() == CleanPosition(1, 10)
    statements.queries.clear()

    await store.apply_event(event(2, entry_for(tx(iou("c1", ALICE)), "t1")))
    assert apply_calls(statements) == ["SELECT participant_apply_event($1,"]
    locks = RequestLocks(RequestId("r1"), 20, 90, frozenset({"c1"}), frozenset())
    await store.apply_event(event(3, pending_added=(PendingRequest(locks, b"p"),)))
    assert apply_calls(statements) == ["SELECT participant_apply_event($1,"]
    spend = entry_for(tx(transfer("c1", ALICE, (1,)), iou("c2", ALICE)), "t2")
    await store.apply_event(event(4, spend, pending_removed=(RequestId("r1"),)))
    assert apply_calls(statements) == ["SELECT participant_apply_event($1,"]
    acs, at = await store.active_contracts([ALICE])
    assert [r.contract.contract_id for r in acs] == ["c2"] and at == offset_of(2)
    assert await store.pending_requests() == []
    assert await store.clean_position() == CleanPosition(4, 40)


async def test_a_key_passes_to_the_successor_within_one_batch(
    logged: tuple[PostgresParticipantStore, Statements],
) -> None:
    """Two transactions of one write: the first creates a keyed contract, the second archives
    it and creates its successor under the same key (the unique key index must see the
    archive before the create, transaction by transaction)."""
    store, _ = logged
    key = KeyWithMaintainers(PartyValue(BANK), frozenset({BANK}))
    first = entry_for(tx(iou("k1", ALICE, key)), "t1")
    second = entry_for(tx(transfer("k1", ALICE, (1,)), iou("k2", ALICE, key)), "t2")
    applied = await store.apply_event(event(1, first, second))
    assert applied.transaction_offsets == (offset_of(1), offset_of(2))
    acs, _ = await store.active_contracts([ALICE])
    assert [r.contract.contract_id for r in acs] == ["k2"]
    archived = await store.pool.fetchval(
        "SELECT archived_at_offset FROM contracts WHERE contract_id = 'k1'")
    assert archived == offset_of(2)


async def test_a_transaction_already_in_the_ledger_is_not_written_twice(
    logged: tuple[PostgresParticipantStore, Statements],
) -> None:
    """The one-statement write declines; statement by statement, the duplicate is skipped
    with an alarm and its completion still completes the submission, at a new offset."""
    store, statements = logged
    await store.apply_event(event(1, entry_for(tx(iou("c1", ALICE)), "t1")))
    done = CompletionEntry("app", frozenset({ALICE}), "cmd", "s", "key", 20)
    again = entry_for(tx(iou("c1", ALICE)), "t1", completion=done)
    fresh = entry_for(tx(iou("c3", ALICE)), "t3")
    statements.queries.clear()
    applied = await store.apply_event(event(2, again, fresh))
    assert applied.transaction_offsets == (offset_of(2), offset_of(3))
    assert "INSERT INTO transactions" in statements.take_writes()  # the slow path ran
    rows = await store.completions("app", [ALICE], LEDGER_BEGIN)
    assert [(r.offset, r.transaction_id) for r in rows] == [(offset_of(2), "t1")]
    assert await store.pool.fetchval("SELECT count(*) FROM transactions") == 2
    assert await store.clean_position() == CleanPosition(2, 20)
    await store.apply_event(event(3, entry_for(tx(iou("c4", ALICE)), "t4")))
    assert await store.ledger_end() == offset_of(4)


async def test_one_transaction_twice_in_one_batch_is_written_once(
    logged: tuple[PostgresParticipantStore, Statements],
) -> None:
    store, _ = logged
    first = entry_for(tx(iou("c1", ALICE)), "t1")
    done = CompletionEntry("app", frozenset({ALICE}), "cmd", "s", "key", 20)
    again = entry_for(tx(iou("c1", ALICE)), "t1", completion=done)
    applied = await store.apply_event(event(1, first, again))
    assert applied.transaction_offsets == (offset_of(1), offset_of(2))
    assert await store.pool.fetchval("SELECT count(*) FROM transactions") == 1
    rows = await store.completions("app", [ALICE], LEDGER_BEGIN)
    assert [(r.offset, r.transaction_id) for r in rows] == [(offset_of(2), "t1")]


async def test_another_writer_moving_the_ledger_end_is_noticed(
    logged: tuple[PostgresParticipantStore, Statements], fresh_database: str,
) -> None:
    store, _ = logged
    await store.apply_event(event(1, entry_for(tx(iou("c1", ALICE)), "t1")))
    other = await PostgresParticipantStore.open(fresh_database)
    try:
        await other.apply_event(event(2, entry_for(tx(iou("c2", ALICE)), "t2")))
    finally:
        await other.close()
    applied = await store.apply_event(event(3, entry_for(tx(iou("c3", ALICE)), "t3")))
    assert applied.transaction_offsets == (offset_of(3),)
    assert await store.ledger_end() == offset_of(3)


async def test_a_new_submission_is_started_in_one_statement(
    logged: tuple[PostgresParticipantStore, Statements],
) -> None:
    store, statements = logged
    warm = SubmissionEntry(ChangeId("app", "cmd-0", frozenset({ALICE})), "s0", "m0", 100)
    assert await store.start_submission(warm, None, 0, 60 * SECOND_US) == NotDuplicate()
    statements.queries.clear()  # the first also taught asyncpg the batch's row type
    change = ChangeId("app", "cmd-1", frozenset({ALICE}))
    entry = SubmissionEntry(change, "s1", "m1", 100)
    assert await store.start_submission(entry, None, 0, 60 * SECOND_US) == NotDuplicate()
    assert apply_calls(statements) == ["SELECT *"]  # FROM participant_start_submissions
    assert entry in [row.entry for row in await store.in_flight_submissions()]


async def test_submissions_of_one_turn_start_in_one_statement(
    logged: tuple[PostgresParticipantStore, Statements],
) -> None:
    """Commands arriving together share a statement, in arrival order: the second start of
    one change finds the first in flight."""
    store, statements = logged
    warm = SubmissionEntry(ChangeId("app", "cmd-0", frozenset({ALICE})), "s0", "m0", 100)
    await store.start_submission(warm, None, 0, 60 * SECOND_US)
    statements.queries.clear()
    entries = [SubmissionEntry(ChangeId("app", f"cmd-{n}", frozenset({ALICE})), f"s{n}",
                               f"m{n}", 100) for n in range(1, 6)]
    again = SubmissionEntry(entries[2].change_id, "s-again", "m-again", 100)
    decisions = await asyncio.gather(*(store.start_submission(e, None, 0, 60 * SECOND_US)
                                       for e in [*entries, again]))
    assert decisions[:5] == [NotDuplicate()] * 5
    assert isinstance(decisions[5], AlreadyInFlight)
    assert apply_calls(statements) == ["SELECT *"]
    in_flight = {row.entry.change_id.command_id for row in await store.in_flight_submissions()}
    assert in_flight == {f"cmd-{n}" for n in range(6)}


async def test_loading_no_states_reads_nothing(
    logged: tuple[PostgresParticipantStore, Statements],
) -> None:
    store, statements = logged
    assert await store.load_states(StatesToFetch(frozenset(), frozenset())) == ({}, {})
    assert statements.take_lookups() == []
    await store.apply_event(event(1, entry_for(tx(iou("c1", ALICE)), "t1")))
    statements.queries.clear()
    contracts, keys = await store.load_states(StatesToFetch(frozenset({"c1", "c9"}), frozenset()))
    assert set(contracts) == {"c1", "c9"} and contracts["c9"] is None and keys == {}
    assert contracts["c1"] is not None and contracts["c1"].active
    assert statements.take_lookups() == ["participant_contract_states"]  # no key lookup


async def test_a_batch_that_fails_as_a_whole_fails_only_its_faulty_entry(
    logged: tuple[PostgresParticipantStore, Statements],
) -> None:
    """Two commands of one turn under one message id: the batch's statement fails, the
    entries are retried one by one, and only the second is refused."""
    store, _ = logged
    first, clash, other = (
        SubmissionEntry(ChangeId("app", command, frozenset({ALICE})), f"s-{command}", message,
                        100)
        for command, message in (("c-1", "m-same"), ("c-2", "m-same"), ("c-3", "m-other")))
    decisions = await asyncio.gather(
        *(store.start_submission(e, None, 0, 60 * SECOND_US) for e in (first, clash, other)),
        return_exceptions=True)
    assert decisions[0] == NotDuplicate() and decisions[2] == NotDuplicate()
    assert isinstance(decisions[1], asyncpg.UniqueViolationError)
    started = {row.entry.change_id.command_id for row in await store.in_flight_submissions()}
    assert started == {"c-1", "c-3"}


async def test_a_batch_that_cannot_reach_the_database_answers_every_caller(
    logged: tuple[PostgresParticipantStore, Statements],
) -> None:
    """No command waits forever: an error that is not the database refusing the statement
    (here the pool is gone) reaches every caller of the batch."""
    store, _ = logged
    await store.pool.close()
    entries = [SubmissionEntry(ChangeId("app", f"gone-{n}", frozenset({ALICE})), f"s{n}",
                               f"m{n}", 100) for n in range(3)]
    outcomes = await asyncio.wait_for(asyncio.gather(
        *(store.start_submission(e, None, 0, 60 * SECOND_US) for e in entries),
        return_exceptions=True), timeout=10)
    assert all(isinstance(o, asyncpg.InterfaceError) for o in outcomes), outcomes


async def test_starts_still_queued_when_the_store_closes_are_cancelled_not_left_waiting(
    fresh_database: str,
) -> None:
    store = await PostgresParticipantStore.open(fresh_database)
    entries = [SubmissionEntry(ChangeId("app", f"late-{n}", frozenset({ALICE})), f"s{n}",
                               f"m{n}", 100) for n in range(3)]
    starts = [asyncio.ensure_future(store.start_submission(e, None, 0, 60 * SECOND_US))
              for e in entries]
    await asyncio.sleep(0)  # queued with the batcher, whose flush has not run yet
    await store.close()
    outcomes = await asyncio.wait_for(asyncio.gather(*starts, return_exceptions=True), 10)
    assert all(isinstance(o, asyncio.CancelledError) for o in outcomes), outcomes
