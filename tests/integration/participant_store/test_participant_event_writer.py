"""The event pump's own connection (`EventWriter`): it keeps one pool connection across
calls, leaves the rest of the pool to everyone else, gives a broken connection back and
takes a fresh one, and never keeps the store from closing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from tests.integration.participant_store.test_participant_store import (
    ALICE,
    BANK,
    BOB,
    SECOND_US,
    entry_for,
    event,
    iou,
    transfer,
    tx,
)

from minicanton.core.protocol.conflict_detection import ContractState, StatesToFetch
from minicanton.core.protocol.deduplication import ChangeId, NotDuplicate
from minicanton.core.protocol.offsets import offset_of
from minicanton.store.participant_store import CleanPosition, SubmissionEntry
from minicanton.store.postgres.participant_rows import transaction_row_of
from minicanton.store.postgres.participant_store import PostgresParticipantStore


@pytest.fixture
async def store(fresh_database: str) -> AsyncIterator[PostgresParticipantStore]:
    store = await PostgresParticipantStore.open(fresh_database, min_size=2, max_size=2)
    try:
        yield store
    finally:
        await asyncio.wait_for(store.close(), 10)


async def backend_pid(store: PostgresParticipantStore) -> int:
    return int(await store.pool.fetchval("SELECT pg_backend_pid()"))


async def test_the_writer_keeps_one_connection_and_leaves_the_rest_to_others(
    store: PostgresParticipantStore,
) -> None:
    writer = store.event_writer()
    applied, exact = await writer.apply_event(event(1, entry_for(tx(iou("c1", ALICE)), "t1")))
    assert applied.transaction_offsets == (offset_of(1),) and exact
    assert store.pool.get_idle_size() == 1  # the writer holds the other one
    # everyone else shares what is left, while the writer keeps its own
    others = {await backend_pid(store) for _ in range(3)}
    assert len(others) == 1
    change = ChangeId("app", "cmd-1", frozenset({ALICE}))
    started = await store.start_submission(SubmissionEntry(change, "s1", "m1", 100), None, 0,
                                           60 * SECOND_US)
    assert started == NotDuplicate()
    states, _ = await writer.load_states(StatesToFetch(frozenset({"c1", "c9"}), frozenset()))
    assert states == {"c1": ContractState(True, None), "c9": None}
    spend = entry_for(tx(transfer("c1", ALICE, (1,)), iou("c2", ALICE)), "t2")
    await writer.apply_event(event(2, spend))
    acs, at = await store.active_contracts([ALICE])
    assert [r.contract.contract_id for r in acs] == ["c2"] and at == offset_of(2)
    assert store.pool.get_idle_size() == 1


async def test_a_broken_connection_is_replaced_and_nothing_is_written_twice(
    store: PostgresParticipantStore,
) -> None:
    writer = store.event_writer()
    await writer.apply_event(event(1, entry_for(tx(iou("c1", ALICE)), "t1")))
    pids = await store.pool.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid()")
    for row in pids:  # the writer's backend goes away under it
        await store.pool.execute("SELECT pg_terminate_backend($1)", row["pid"])
    second = event(2, entry_for(tx(iou("c2", ALICE)), "t2"))
    with pytest.raises(Exception):  # noqa: B017 - whatever the broken connection raises
        await writer.apply_event(second)
    applied, _ = await writer.apply_event(second)  # a fresh connection; a replay is safe
    assert applied.ledger_end == offset_of(2)
    replayed, exact = await writer.apply_event(second)
    assert replayed.already_applied and not exact
    assert await store.clean_position() == CleanPosition(2, 20)
    assert await store.pool.fetchval("SELECT count(*) FROM transactions") == 2


async def test_the_store_closes_while_a_writer_holds_its_connection(
    fresh_database: str,
) -> None:
    store = await PostgresParticipantStore.open(fresh_database, min_size=1, max_size=2)
    writer = store.event_writer()
    await writer.apply_event(event(1))
    await asyncio.wait_for(store.close(), 10)
    reopened = await PostgresParticipantStore.open(fresh_database)
    try:
        assert await reopened.clean_position() == CleanPosition(1, 10)
    finally:
        await reopened.close()


async def test_a_duplicate_transaction_is_not_stored_as_given(
    store: PostgresParticipantStore,
) -> None:
    """A transaction id already in the ledger keeps its earlier offset: the write says the
    batch was not stored as given, so nobody answers from what it holds."""
    writer = store.event_writer()
    await writer.apply_event(event(1, entry_for(tx(iou("c1", ALICE)), "t1")))
    applied, exact = await writer.apply_event(event(2, entry_for(tx(iou("c1", ALICE)), "t1")))
    assert not exact and not applied.already_applied


@pytest.mark.parametrize("flat", [False, True])
async def test_a_committed_entry_renders_as_the_store_reads_it_back(
    store: PostgresParticipantStore, flat: bool,
) -> None:
    """`transaction_row_of` (SubmitAndWaitForTransaction[Tree] without a read) gives the very
    row `transaction_by_id` reads, for every reader set: nested events, several roots,
    witnesses that differ between the tree and the flat view."""
    writer = store.event_writer()
    await writer.apply_event(event(1, entry_for(tx(iou("c1", ALICE)), "t1")))
    nested = tx(transfer("c1", ALICE, (1, 2)), iou("c5", BOB), iou("c6", ALICE), iou("c7", BOB),
                roots=(0, 3))
    entry = entry_for(nested, "t2", ts_us=7)
    applied, exact = await writer.apply_event(event(2, entry))
    assert exact
    (offset,) = applied.transaction_offsets
    for parties in ([ALICE], [BANK], [BOB], [ALICE, BANK], [ALICE, BOB], [BANK, BOB, ALICE]):
        read = await store.transaction_by_id("t2", parties, flat=flat)
        assert transaction_row_of(entry, offset, parties, flat=flat) == read, parties
