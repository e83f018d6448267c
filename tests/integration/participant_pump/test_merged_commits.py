"""The pump commits consecutive events in one transaction: same rows as one by one.

Two participant stores on real databases get the same events: one applies each event's
effects alone (the pump before batching), the other the pump's merged write. Every table the
protocol reads back (pending requests, in-flight submissions, completions and their offsets,
contracts, deduplication, the clean position) must end up identical; and the pump refuses to
merge a rejection with a later event's transaction, whose offset would then come first.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from tests.integration.participant_store.test_participant_store import (
    ALICE,
    entry_for,
    event,
    iou,
    tx,
)

from minicanton.core.ids import RequestId
from minicanton.core.protocol.conflict_detection import RequestLocks
from minicanton.core.protocol.deduplication import ChangeId
from minicanton.participant.effects import merge_effects
from minicanton.participant.pump import _offsets_out_of_order, _Step
from minicanton.runtime.embedded_postgres import EmbeddedPostgres
from minicanton.runtime.topology_client import IngestResult
from minicanton.store.participant_store import (
    CompletionEntry,
    EventEffects,
    PendingRequest,
    SubmissionEntry,
    SubmissionSequenced,
)
from minicanton.store.postgres.participant_store import PostgresParticipantStore

TABLES = {
    "pending_requests": "request_id",
    "in_flight_submissions": "change_key",
    "completions": "ledger_offset",
    "contracts": "contract_id",
    "command_dedup": "change_key",
    "ledger_state": "sequencer_counter",
    "transactions": "ledger_offset",
}


@pytest.fixture
async def two_stores(
    postgres_cluster: EmbeddedPostgres,
) -> AsyncIterator[tuple[PostgresParticipantStore, PostgresParticipantStore]]:
    stores = [await PostgresParticipantStore.open(
        postgres_cluster.create_database(f"pump_{uuid.uuid4().hex[:12]}")) for _ in range(2)]
    try:
        yield stores[0], stores[1]
    finally:
        for store in stores:
            await store.close()


def change(command: str) -> ChangeId:
    return ChangeId("app", command, frozenset({ALICE}))


def history() -> list[EventEffects]:
    """A submission sequenced and its request locked; a second request; the first approved
    (its transaction and completion); the second rejected; a third one's request."""
    first, second = change("cmd-1"), change("cmd-2")
    lock_1 = RequestLocks(RequestId("r1"), 10, 900, frozenset(), frozenset())
    lock_2 = RequestLocks(RequestId("r2"), 20, 900, frozenset(), frozenset())
    lock_3 = RequestLocks(RequestId("r3"), 50, 900, frozenset(), frozenset())
    approved = CompletionEntry("app", first.act_as, "cmd-1", "s1", first.key, 30)
    rejected = CompletionEntry("app", second.act_as, "cmd-2", "s2", second.key, 40, 10,
                               "LOCAL_VERDICT_LOCKED_CONTRACTS", "locked")
    return [
        event(1, pending_added=(PendingRequest(lock_1, b"p1"),),
              submissions_sequenced=(SubmissionSequenced(first.key, RequestId("r1"), 10),)),
        event(2, pending_added=(PendingRequest(lock_2, b"p2"),),
              submissions_sequenced=(SubmissionSequenced(second.key, RequestId("r2"), 20),)),
        event(3, entry_for(tx(iou("c1", ALICE)), "t1", ts_us=30, completion=approved),
              pending_removed=(RequestId("r1"),)),
        event(4, rejections=(rejected,), pending_removed=(RequestId("r2"),)),
        event(5, pending_added=(PendingRequest(lock_3, b"p3"),)),
    ]


async def start(store: PostgresParticipantStore) -> None:
    for number in (1, 2):
        entry = SubmissionEntry(change(f"cmd-{number}"), f"s{number}", f"m{number}", 10**12)
        await store.start_submission(entry, None, 0, 10**12)


async def rows(store: PostgresParticipantStore) -> dict[str, list[tuple[object, ...]]]:
    return {table: [tuple(r) for r in await store.pool.fetch(
        f"SELECT * FROM {table} ORDER BY {key}")] for table, key in TABLES.items()}


def step(effects: EventEffects) -> _Step:
    return _Step(effects.position.sequencer_ts_us, [], effects, IngestResult())


async def test_merged_events_leave_the_rows_of_events_applied_one_by_one(two_stores) -> None:
    alone, merged = two_stores
    await start(alone)
    await start(merged)
    events = history()
    for effects in events:
        await alone.apply_event(effects)
    assert not any(_offsets_out_of_order([step(e) for e in events[:i]], step(events[i]))
                   for i in range(1, len(events)))
    applied = await merged.apply_event(merge_effects(events))
    assert applied.ledger_end == await alone.ledger_end()
    assert await rows(merged) == await rows(alone)
    assert await merged.clean_position() == events[-1].position


async def test_a_rejection_is_never_merged_with_a_later_transaction() -> None:
    rejected = CompletionEntry("app", frozenset({ALICE}), "cmd-9", "s9", None, 10, 10, "X", "")
    before = step(event(1, rejections=(rejected,)))
    after = step(event(2, entry_for(tx(iou("c9", ALICE)), "t9", ts_us=20)))
    assert _offsets_out_of_order([before], after)
    assert not _offsets_out_of_order([after], before)
    assert merge_effects([before.stored]) is before.stored
