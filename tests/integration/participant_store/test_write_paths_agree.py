"""The participant store's two write paths leave the same rows: an event's effects written by
the one-statement PL/pgSQL function (as the store writes them) and by the statement-by-statement
path (called directly) give the same answers and the same contents of every table; so does
starting a submission. Generated writes (hypothesis, over a small ledger model), then the cases
by name: creates and archives within and across batches, a key passed on in one batch,
divulgence (twice), completions with dedup entries, pending requests, sequenced submissions,
topology, several transactions in one event, an event that only moves the clean position."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.integration.participant_store.test_participant_store import (
    ALICE,
    BANK,
    BOB,
    IOU,
    entry_for,
    event,
    iou,
    transfer,
    tx,
)
from tests.integration.participant_store.write_path_strategies import (
    CHANGES,
    LedgerModel,
    draw_event,
    draw_submission,
)
from tests.integration.participant_store.write_paths import Raised, Twin, TwinDatabases

from minicanton.core.ids import RequestId
from minicanton.core.lf.transaction import ExerciseNode, FetchNode, KeyWithMaintainers, NodeId
from minicanton.core.lf.value import PartyValue, UnitValue
from minicanton.core.protocol.commit_set import commit_set_for
from minicanton.core.protocol.conflict_detection import RequestLocks
from minicanton.core.protocol.deduplication import (
    AlreadyInFlight,
    ChangeId,
    DeduplicationDuration,
    DeduplicationOffset,
    Duplicate,
    NotDuplicate,
)
from minicanton.core.protocol.offsets import LEDGER_BEGIN, offset_of
from minicanton.runtime.embedded_postgres import EmbeddedPostgres
from minicanton.store.participant_store import (
    AppliedEvent,
    CompletionEntry,
    EventEffects,
    PendingRequest,
    SubmissionEntry,
    SubmissionSequenced,
    TopologyRow,
    TransactionEntry,
    transaction_entry,
)


@pytest.fixture
async def databases(fresh_database: str, postgres_cluster: EmbeddedPostgres
                    ) -> AsyncIterator[TwinDatabases]:
    """Two fresh databases: the one-statement path's and the statement-by-statement one's."""
    slow_dsn = postgres_cluster.create_database(fresh_database.rsplit("/", 1)[1] + "_slow")
    opened = await TwinDatabases.open(fresh_database, slow_dsn)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def twin(databases: TwinDatabases) -> AsyncIterator[Twin]:
    async with databases.twin() as both:
        yield both


# -- generated writes ----------------------------------------------------------------------

async def _event_step(twin: Twin, data: st.DataObject, model: LedgerModel) -> None:
    known = set(model.transaction_ids)
    effects = draw_event(data, model)
    ids = [t.transaction_id for t in effects.transactions]
    fresh = len(set(ids)) == len(ids) and not known & set(ids)
    answer, by_one_statement = await twin.apply(effects)
    assert isinstance(answer, AppliedEvent) and not answer.already_applied, answer
    # the one statement wrote every batch without an id seen before, and declined the others
    assert by_one_statement == fresh
    model.last_effects = effects


async def _replay_step(twin: Twin, data: st.DataObject, model: LedgerModel) -> None:
    if model.last_effects is not None:
        answer, _ = await twin.apply(model.last_effects)
        assert isinstance(answer, AppliedEvent) and answer.already_applied, answer


async def _start_step(twin: Twin, data: st.DataObject, model: LedgerModel) -> None:
    ledger_end = await twin.fast.ledger_end()
    entry, period, now_us = draw_submission(data, model, int(ledger_end or "0", 16))
    await twin.start(entry, period, now_us)


async def _expire_step(twin: Twin, data: st.DataObject, model: LedgerModel) -> None:
    await twin.expire(model.tick(data, 80))


STEPS = {"event": _event_step, "replay": _replay_step, "start": _start_step,
         "expire": _expire_step}


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
async def test_generated_writes_leave_the_same_rows_on_both_paths(
    databases: TwinDatabases, data: st.DataObject,
) -> None:
    async with databases.twin() as both:
        model = LedgerModel()
        for _ in range(data.draw(st.integers(1, 8), label="steps")):
            step = data.draw(st.sampled_from(
                ("event", "event", "event", "start", "start", "expire", "replay")), label="step")
            await STEPS[step](both, data, model)
            await both.assert_same_tables()


# -- the cases by name ----------------------------------------------------------------------

async def applied_by_one_statement(twin: Twin, *batches: EventEffects) -> list[AppliedEvent]:
    """Apply each batch on both sides; the fast side must not have declined any."""
    answers = []
    for effects in batches:
        answer, by_one_statement = await twin.apply(effects)
        assert isinstance(answer, AppliedEvent) and by_one_statement, answer
        answers.append(answer)
    return answers


async def rows(twin: Twin, table: str, *columns: str) -> list[tuple[Any, ...]]:
    """Some columns of a table once both databases hold the same rows, by primary key."""
    contents = await twin.assert_same_tables()
    header, *body = contents[table]
    at = [header.index(c) for c in columns]
    return [tuple(row[i] for i in at) for row in body]


async def test_creates_and_archives_in_one_batch_and_across_batches(twin: Twin) -> None:
    await applied_by_one_statement(
        twin,
        event(1, entry_for(tx(iou("c1", ALICE), iou("c2", BOB), roots=(0, 1)), "t1"),
              entry_for(tx(transfer("c1", ALICE, (1,)), iou("c3", ALICE)), "t2")),
        event(2, entry_for(tx(transfer("c3", ALICE, (1,)), iou("c4", ALICE)), "t3")))
    assert await rows(twin, "contracts", "contract_id", "archived_at_offset") == [
        ("c1", offset_of(2)), ("c2", None), ("c3", offset_of(3)), ("c4", None)]


async def test_a_key_passes_to_the_successor_in_one_batch(twin: Twin) -> None:
    key = KeyWithMaintainers(PartyValue(BANK), frozenset({BANK}))
    await applied_by_one_statement(
        twin,
        event(1, entry_for(tx(iou("k1", ALICE, key)), "t1"),
              entry_for(tx(transfer("k1", ALICE, (1,)), iou("k2", ALICE, key)), "t2")),
        event(2, entry_for(tx(transfer("k2", ALICE, (1,)), iou("k3", ALICE, key)), "t3"),
              entry_for(tx(transfer("k3", ALICE, (1,)), iou("k4", ALICE, key)), "t4")))
    keyed = await rows(twin, "contracts", "contract_id", "archived_at_offset")
    assert keyed == [("k1", offset_of(2)), ("k2", offset_of(3)), ("k3", offset_of(4)),
                     ("k4", None)]


def peek(tid: str, counter: int) -> TransactionEntry:
    """Bob (co-hosted with Alice) exercises a choice that fetches Alice's c1: c1 is divulged
    to him (the transaction's ledger time is `counter`, so each divulgence differs)."""
    hosted = frozenset({ALICE, BOB})
    peeking = ExerciseNode("w", IOU, "Peek", UnitValue(), frozenset({BOB}), False,
                           frozenset({ALICE, BOB}), frozenset({ALICE, BOB}), frozenset(),
                           (NodeId(1),), None)
    fetch = FetchNode("c1", IOU, frozenset({ALICE}), frozenset({BANK}), frozenset({BANK, ALICE}))
    source = commit_set_for(tx(iou("c1", ALICE)), hosted, {}, ledger_time_us=counter)
    commit = commit_set_for(tx(peeking, fetch), hosted, {"c1": source.created[0].contract},
                            ledger_time_us=counter)
    return transaction_entry(commit, transaction_id=tid, ledger_time_us=counter,
                             record_time_us=counter)


async def test_a_contract_divulged_twice_in_one_batch_and_again_later(twin: Twin) -> None:
    created = entry_for(tx(iou("c1", ALICE)), "t1")
    await applied_by_one_statement(twin, event(1, created, peek("t2", 2), peek("t3", 3)),
                                   event(2, peek("t4", 4)))
    divulged = await rows(twin, "divulged_contracts", "contract_id", "party",
                          "divulged_at_offset", "ledger_time_us")
    assert divulged == [("c1", BOB, offset_of(2), 2)]  # the first divulgence is kept


async def started(twin: Twin, *changes: ChangeId) -> None:
    for n, change in enumerate(changes):
        entry = SubmissionEntry(change, f"s{n}", f"m-{change.command_id}", 1_000, b"p")
        assert await twin.start(entry, None, 0) == NotDuplicate()


def completion(change: ChangeId, record_time_us: int, *, rejected: bool = False
               ) -> CompletionEntry:
    if rejected:
        return CompletionEntry(change.application_id, change.act_as, change.command_id, "s",
                               change.key, record_time_us, 6, "LOCAL_VERDICT_TIMEOUT", "late")
    return CompletionEntry(change.application_id, change.act_as, change.command_id, "s",
                           change.key, record_time_us)


async def test_completions_accepted_and_rejected_with_dedup_entries(twin: Twin) -> None:
    first, second, third = CHANGES
    await started(twin, first, second, third)
    accepted = entry_for(tx(iou("c1", ALICE)), "t1", ts_us=10, completion=completion(first, 10))
    again = entry_for(tx(iou("c2", ALICE)), "t2", ts_us=10, completion=completion(third, 10))
    last = entry_for(tx(iou("c3", ALICE)), "t3", ts_us=10, completion=completion(third, 11))
    answers = await applied_by_one_statement(
        twin, event(1, accepted, again, last, rejections=(completion(second, 10, rejected=True),)))
    assert answers[0].rejection_offsets == (offset_of(4),)
    assert await rows(twin, "command_dedup", "change_key", "completion_offset") == sorted(
        [(first.key, offset_of(1)), (third.key, offset_of(3))])
    assert await rows(twin, "in_flight_submissions", "change_key") == []
    assert len(await rows(twin, "completions", "ledger_offset")) == 4


async def test_submissions_found_sequenced(twin: Twin) -> None:
    first, second, third = CHANGES
    await started(twin, first, second)
    sequenced = (SubmissionSequenced(first.key, RequestId("r1"), 5),
                 SubmissionSequenced(third.key, RequestId("r3"), 5),  # not in flight
                 SubmissionSequenced(first.key, RequestId("r2"), 6))  # the last one counts
    await applied_by_one_statement(twin, event(1, submissions_sequenced=sequenced))
    assert await rows(twin, "in_flight_submissions", "request_id", "sequenced_at_us") == [
        ("r2", 6), (None, None)]  # by change key: the first change, then the second


async def test_pending_requests_added_and_removed(twin: Twin) -> None:
    def pending(name: str) -> PendingRequest:
        return PendingRequest(RequestLocks(RequestId(name), 10, 90, frozenset({"c1"}),
                                           frozenset()), name.encode())
    await applied_by_one_statement(
        twin, event(1, pending_added=(pending("r1"), pending("r2"))),
        event(2, pending_added=(pending("r3"),), pending_removed=(RequestId("r1"),
                                                                   RequestId("r3"))))
    assert await rows(twin, "pending_requests", "request_id") == [("r2",)]


async def test_topology_transactions(twin: Twin) -> None:
    await applied_by_one_statement(
        twin, event(1, topology=(TopologyRow(10, 0, 11, b"a"), TopologyRow(10, 1, 11, b"b"))),
        event(2, topology=(TopologyRow(20, 0, 25, b"c"),)))
    assert len(await rows(twin, "topology_transactions", "payload")) == 3


async def test_several_transactions_and_everything_else_in_one_event(twin: Twin) -> None:
    first, second, _ = CHANGES
    await started(twin, first, second)
    locks = RequestLocks(RequestId("r1"), 10, 90, frozenset({"c1"}), frozenset())
    effects = event(
        1, entry_for(tx(iou("c1", ALICE)), "t1"),
        entry_for(tx(transfer("c1", ALICE, (1,)), iou("c2", BOB)), "t2",
                  completion=completion(first, 10)),
        entry_for(tx(iou("c3", ALICE)), "t3"),
        rejections=(completion(second, 10, rejected=True),),
        pending_added=(PendingRequest(locks, b"v"),),
        submissions_sequenced=(SubmissionSequenced(second.key, RequestId("r1"), 9),),
        topology=(TopologyRow(10, 0, 11, b"t"),))
    (answer,) = await applied_by_one_statement(twin, effects)
    assert answer.transaction_offsets == tuple(offset_of(n) for n in (1, 2, 3))
    assert await rows(twin, "ledger_state", "ledger_end_counter", "sequencer_counter") == [(4, 1)]


async def test_an_empty_event_only_moves_the_clean_position(twin: Twin) -> None:
    answers = await applied_by_one_statement(twin, event(1), event(2))
    assert [a.ledger_end for a in answers] == [offset_of(0), offset_of(0)]
    assert await rows(twin, "ledger_state", "ledger_end_counter", "sequencer_counter",
                      "sequencer_ts_us") == [(0, 2, 20)]


async def test_a_replay_and_a_transaction_already_in_the_ledger(twin: Twin) -> None:
    """What the one statement declines goes statement by statement on the fast side too."""
    first = event(1, entry_for(tx(iou("c1", ALICE)), "t1"))
    await applied_by_one_statement(twin, first)
    replayed, by_one_statement = await twin.apply(first)
    assert isinstance(replayed, AppliedEvent) and replayed.already_applied
    again = entry_for(tx(iou("c1", ALICE)), "t1", completion=completion(CHANGES[0], 20))
    answer, by_one_statement = await twin.apply(event(2, again))
    assert not by_one_statement and isinstance(answer, AppliedEvent)
    assert answer.transaction_offsets == (offset_of(2),)
    await twin.assert_same_tables()


# -- starting a submission -------------------------------------------------------------------

async def test_a_new_submission_and_one_in_flight(twin: Twin) -> None:
    change = CHANGES[1]
    assert await twin.start(SubmissionEntry(change, "s1", "m1", 100, b"p"), None, 0) == (
        NotDuplicate())
    second = await twin.start(SubmissionEntry(change, "s2", "m2", 100), None, 1)
    assert isinstance(second, AlreadyInFlight) and second.in_flight.submission_id == "s1"
    assert await rows(twin, "in_flight_submissions", "submission_id") == [("s1",)]


async def test_a_submission_of_a_change_accepted_before(twin: Twin) -> None:
    change = CHANGES[0]
    await started(twin, change)
    done = entry_for(tx(iou("c1", ALICE)), "t1", ts_us=10, completion=completion(change, 10))
    await applied_by_one_statement(twin, event(1, done))
    resubmitted = SubmissionEntry(change, "s2", "m2", 100)
    duplicate = await twin.start(resubmitted, None, 20)
    assert isinstance(duplicate, Duplicate) and duplicate.earlier.completion_offset == offset_of(1)
    from_end = await twin.start(resubmitted, DeduplicationOffset(offset_of(1)), 20)
    assert from_end == NotDuplicate()  # recorded in flight by the statement-by-statement path
    assert await rows(twin, "in_flight_submissions", "submission_id") == [("s2",)]


async def test_a_submission_after_its_dedup_entry_was_pruned(twin: Twin) -> None:
    change = CHANGES[0]
    await started(twin, change)
    await applied_by_one_statement(twin, event(1, entry_for(
        tx(iou("c1", ALICE)), "t1", ts_us=10, completion=completion(change, 10))))
    assert await twin.expire(200) == 1
    resubmitted = SubmissionEntry(change, "s2", "m2", 300)
    refused = await twin.start(resubmitted, DeduplicationOffset(LEDGER_BEGIN), 200)
    assert isinstance(refused, Raised) and refused.error == "InvalidDeduplicationPeriod"
    too_long = await twin.start(resubmitted, DeduplicationDuration(101), 200)
    assert isinstance(too_long, Raised) and too_long.error == "InvalidDeduplicationPeriod"
    assert await twin.start(resubmitted, None, 200) == NotDuplicate()
    assert await rows(twin, "command_dedup_state", "pruned_up_to") == [(offset_of(1),)]
    assert await rows(twin, "in_flight_submissions", "submission_id") == [("s2",)]
