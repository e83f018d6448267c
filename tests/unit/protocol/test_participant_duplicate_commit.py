"""Defence in depth behind replay protection: a commit whose transaction id is already in the
participant's ledger (a replayed request that got approved again) must neither crash the
participant nor wedge it. Against a real PostgreSQL store: no second transaction, the event is
still processed (its other effects written, its clean position advanced), a completion riding
on it still completes its submission, and writing the same event again after a "restart"
changes nothing. Also what a restart reads from the store to rebuild replay protection."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from minicanton.core.ids import RequestId
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.transaction import CreateNode, ExerciseNode, NodeId, Transaction
from minicanton.core.lf.value import PartyValue, RecordValue, UnitValue
from minicanton.core.protocol.commit_set import commit_set_for
from minicanton.core.protocol.conflict_detection import RequestLocks
from minicanton.core.protocol.offsets import offset_of
from minicanton.store.participant_store import (
    CleanPosition,
    CompletionEntry,
    EventEffects,
    PendingRequest,
    TransactionEntry,
    transaction_entry,
)
from minicanton.store.postgres.participant_store import PostgresParticipantStore

OWNER = "owner"
GAUGE = Identifier("e" * 64, "Probe", "Gauge")
TID = "tx-read"


@pytest.fixture
async def store(fresh_database: str) -> AsyncIterator[PostgresParticipantStore]:
    opened = await PostgresParticipantStore.open(fresh_database)
    try:
        yield opened
    finally:
        await opened.close()


def _entry(transaction: Transaction, tid: str, ts_us: int,
           completion: CompletionEntry | None = None) -> TransactionEntry:
    commit = commit_set_for(transaction, frozenset({OWNER}), {}, ledger_time_us=ts_us)
    return transaction_entry(commit, transaction_id=tid, ledger_time_us=ts_us,
                             record_time_us=ts_us, command_id="", application_id="app",
                             submitters=frozenset({OWNER}), completion=completion)


def _create() -> Transaction:
    argument = RecordValue(GAUGE, (("owner", PartyValue(OWNER)),))
    node = CreateNode("c1", GAUGE, argument, frozenset({OWNER}), frozenset({OWNER}), None)
    return Transaction((node,), (NodeId(0),))


def _read() -> Transaction:
    """A non-consuming exercise: it creates and archives nothing."""
    node = ExerciseNode("c1", GAUGE, "Read", UnitValue(), frozenset({OWNER}), False,
                        frozenset({OWNER}), frozenset({OWNER}), frozenset(), (), None)
    return Transaction((node,), (NodeId(0),))


def _pending(ts_us: int) -> PendingRequest:
    locks = RequestLocks(RequestId(str(ts_us)), ts_us, ts_us + 10, frozenset(), frozenset())
    return PendingRequest(locks, b"")


async def _transactions(store: PostgresParticipantStore) -> list[str]:
    rows = await store.pool.fetch("SELECT transaction_id FROM transactions ORDER BY ledger_offset")
    return [r["transaction_id"] for r in rows]


async def test_a_duplicate_transaction_id_is_not_committed_twice_and_the_event_commits(
        store: PostgresParticipantStore) -> None:
    await store.apply_event(EventEffects(CleanPosition(1, 10), (_entry(_create(), "tx-c", 10),)))
    await store.apply_event(EventEffects(CleanPosition(2, 20), (_entry(_read(), TID, 20),)))
    # the replay, approved again: its commit carries the same transaction id
    replayed = EventEffects(CleanPosition(3, 30), (_entry(_read(), TID, 30),),
                            pending_added=(_pending(30),))
    applied = await store.apply_event(replayed)
    assert not applied.already_applied
    assert applied.transaction_offsets == (offset_of(2),)  # where it already is
    assert await _transactions(store) == ["tx-c", TID]
    assert await store.ledger_end() == offset_of(2)
    assert await store.clean_position() == CleanPosition(3, 30)
    assert [p.locks.request_ts_us for p in await store.pending_requests()] == [30]
    # a restart replays the same event: already applied, nothing written, nothing raised
    again = await store.apply_event(replayed)
    assert again.already_applied and await _transactions(store) == ["tx-c", TID]


async def test_a_completion_on_a_duplicate_transaction_still_completes_its_submission(
        store: PostgresParticipantStore) -> None:
    await store.apply_event(EventEffects(CleanPosition(1, 10), (_entry(_read(), TID, 10),)))
    completion = CompletionEntry(application_id="app", act_as=frozenset({OWNER}),
                                 command_id="read", submission_id="s1", change_key="k1",
                                 record_time_us=20)
    later = _entry(_create(), "tx-later", 20)
    applied = await store.apply_event(EventEffects(
        CleanPosition(2, 20), (_entry(_read(), TID, 20, completion), later)))
    assert applied.transaction_offsets == (offset_of(2), offset_of(3))
    assert await _transactions(store) == [TID, "tx-later"]
    (row,) = await store.completions("app", [OWNER], offset_of(0))
    assert (row.offset, row.transaction_id) == (offset_of(2), TID)
    assert row.entry.status_code == 0


async def test_the_store_gives_a_restart_the_transactions_committed_in_the_window(
        store: PostgresParticipantStore) -> None:
    """What the shell hands `ParticipantMachine.restore(recent_transactions=...)`."""
    await store.apply_event(EventEffects(CleanPosition(1, 10), (_entry(_create(), "tx-c", 10),)))
    await store.apply_event(EventEffects(CleanPosition(2, 20), (_entry(_read(), TID, 20),)))
    assert await store.recent_transactions(11) == [(TID, 20)]
    assert await store.recent_transactions(10) == [("tx-c", 10), (TID, 20)]
    assert await store.recent_transactions(21) == []
