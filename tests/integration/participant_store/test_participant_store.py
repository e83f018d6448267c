"""The participant store against a real PostgreSQL: atomic event commits with the clean
position, offsets, the ACS, the event log, completions, deduplication, restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from minicanton.core.ids import RequestId
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.transaction import (
    CreateNode,
    ExerciseNode,
    FetchNode,
    KeyWithMaintainers,
    Node,
    NodeId,
    Transaction,
)
from minicanton.core.lf.value import PartyValue, RecordValue, TextValue, UnitValue
from minicanton.core.protocol.commit_set import GlobalKeyHash, commit_set_for, global_key_hash
from minicanton.core.protocol.conflict_detection import (
    ActivenessResult,
    ActivenessSet,
    ConflictDetector,
    RequestLocks,
    StatesToFetch,
)
from minicanton.core.protocol.deduplication import (
    AlreadyInFlight,
    ChangeId,
    DeduplicationDuration,
    DeduplicationOffset,
    Duplicate,
    InvalidDeduplicationPeriod,
    NotDuplicate,
)
from minicanton.core.protocol.offsets import LEDGER_BEGIN, offset_of
from minicanton.store.participant_store import (
    CleanPosition,
    CompletionEntry,
    CreateEventRef,
    EventEffects,
    PendingRequest,
    StoredRowInvalid,
    SubmissionEntry,
    SubmissionSequenced,
    TopologyRow,
    TransactionEntry,
    decode_contract,
    decode_node,
    transaction_entry,
)
from minicanton.store.postgres.participant_store import PostgresParticipantStore

ALICE, BOB, BANK = "alice", "bob", "bank"
PKG = "d" * 64
IOU = Identifier(PKG, "Main", "Iou")
ACCOUNT = Identifier(PKG, "Main", "Account")
HOSTED = frozenset({ALICE, BANK})
SECOND_US = 1_000_000


@pytest.fixture
async def store(fresh_database: str) -> AsyncIterator[PostgresParticipantStore]:
    opened = await PostgresParticipantStore.open(fresh_database)
    try:
        yield opened
    finally:
        await opened.close()


def iou(cid: str, owner: str, key: KeyWithMaintainers | None = None,
        template: Identifier = IOU) -> CreateNode:
    argument = RecordValue(template, (("issuer", PartyValue(BANK)), ("owner", PartyValue(owner)),
                                      ("note", TextValue(cid))))
    return CreateNode(cid, template, argument, frozenset({BANK}), frozenset({owner}), key)


def transfer(cid: str, owner: str, children: tuple[int, ...]) -> ExerciseNode:
    return ExerciseNode(cid, IOU, "Transfer", UnitValue(), frozenset({owner}), True,
                        frozenset({BANK}), frozenset({BANK, owner}), frozenset(),
                        tuple(NodeId(c) for c in children), None)


def tx(*nodes: Node, roots: tuple[int, ...] = (0,)) -> Transaction:
    return Transaction(tuple(nodes), tuple(NodeId(r) for r in roots))


def entry_for(transaction: Transaction, tid: str, *, ts_us: int = 0,
              completion: CompletionEntry | None = None) -> TransactionEntry:
    commit = commit_set_for(transaction, HOSTED, {}, ledger_time_us=ts_us)
    return transaction_entry(commit, transaction_id=tid, ledger_time_us=ts_us,
                             record_time_us=ts_us, command_id="cmd-" + tid,
                             application_id="app", submitters=frozenset({ALICE}),
                             completion=completion)


def event(counter: int, *transactions: TransactionEntry, **more: Any) -> EventEffects:
    """The effects of the `counter`-th sequenced event (timestamp counter * 10)."""
    return EventEffects(CleanPosition(counter, counter * 10), tuple(transactions), **more)


async def count(store: PostgresParticipantStore, table: str) -> int:
    return int(await store.pool.fetchval(f"SELECT count(*) FROM {table}"))


# -- atomic commits with the clean position -------------------------------------------------

async def test_an_event_commits_its_effects_and_clean_position_together(
    store: PostgresParticipantStore,
) -> None:
    assert await store.clean_position() is None and await store.ledger_end() == LEDGER_BEGIN
    applied = await store.apply_event(event(1, entry_for(tx(iou("c1", ALICE)), "t1")))
    assert applied.transaction_offsets == (offset_of(1),) and not applied.already_applied
    assert await store.clean_position() == CleanPosition(1, 10)
    assert await store.ledger_end() == offset_of(1)
    acs, at = await store.active_contracts([ALICE])
    assert [row.contract.contract_id for row in acs] == ["c1"] and at == offset_of(1)
    assert decode_contract(acs[0].contract.payload).argument == iou("c1", ALICE).argument


async def test_failure_mid_event_leaves_nothing_half_written(
    store: PostgresParticipantStore,
) -> None:
    await store.apply_event(event(1, entry_for(tx(iou("c1", ALICE)), "t1")))
    # The second transaction of this event re-creates c1: the insert fails after the first
    # transaction, its archive of c1 and its events have been written in the same DB tx.
    spend = entry_for(tx(transfer("c1", ALICE, (1,)), iou("c2", BOB)), "t2")
    clash = entry_for(tx(iou("c1", ALICE)), "t3")
    with pytest.raises(asyncpg.UniqueViolationError):
        await store.apply_event(event(2, spend, clash))
    assert await store.clean_position() == CleanPosition(1, 10)
    assert await store.ledger_end() == offset_of(1)
    assert await count(store, "transactions") == 1 and await count(store, "events") == 1
    acs, _ = await store.active_contracts([ALICE, BOB, BANK])
    assert [row.contract.contract_id for row in acs] == ["c1"]  # the archive was rolled back


async def test_failure_in_the_last_write_rolls_back_the_whole_event(
    store: PostgresParticipantStore,
) -> None:
    topology = (TopologyRow(5, 0, 6, b"t"),)
    await store.apply_event(event(1, topology=topology))
    pending = PendingRequest(RequestLocks(RequestId("r"), 20, 90, frozenset(), frozenset()))
    rejection = CompletionEntry("app", frozenset({ALICE}), "cmd", "s", None, 20, 10, "X", "no")
    failing = event(2, entry_for(tx(iou("c1", ALICE)), "t1"), rejections=(rejection,),
                    pending_added=(pending,), topology=topology)  # duplicate topology row
    with pytest.raises(asyncpg.UniqueViolationError):
        await store.apply_event(failing)
    for table in ("transactions", "contracts", "completions", "pending_requests"):
        assert await count(store, table) == 0, table
    assert await store.clean_position() == CleanPosition(1, 10)
    assert await store.ledger_end() == LEDGER_BEGIN


async def test_replayed_event_is_skipped(store: PostgresParticipantStore) -> None:
    effects = event(1, entry_for(tx(iou("c1", ALICE)), "t1"))
    await store.apply_event(effects)
    again = await store.apply_event(effects)
    assert again.already_applied and again.transaction_offsets == ()
    assert again.ledger_end == offset_of(1) and await count(store, "transactions") == 1


async def test_offsets_strictly_increase_and_sort_as_strings(
    store: PostgresParticipantStore,
) -> None:
    seen = []
    rejection = CompletionEntry("app", frozenset({ALICE}), "cmd", "s", None, 0, 10, "X", "no")
    for n in range(1, 21):
        entries = [entry_for(tx(iou(f"c{n}-{i}", ALICE)), f"t{n}-{i}") for i in range(n % 3)]
        applied = await store.apply_event(event(n, *entries, rejections=(rejection,) * (n % 2)))
        seen += [*applied.transaction_offsets, *applied.rejection_offsets]
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert [int(o, 16) for o in seen] == list(range(1, len(seen) + 1))
    in_db = await store.pool.fetch(
        "SELECT ledger_offset FROM transactions UNION ALL SELECT ledger_offset FROM completions "
        "ORDER BY 1")
    assert [r["ledger_offset"] for r in in_db] == seen


# -- ACS, event log, completions -------------------------------------------------------------

async def test_acs_by_party_and_template(store: PostgresParticipantStore) -> None:
    key = KeyWithMaintainers(PartyValue(BANK), frozenset({BANK}))
    await store.apply_event(event(1, entry_for(
        tx(iou("i1", ALICE), iou("i2", BOB), iou("a1", ALICE, key, ACCOUNT), roots=(0, 1, 2)),
        "t1")))
    await store.apply_event(event(2, entry_for(tx(transfer("i1", ALICE, (1,)),
                                                   iou("i3", BOB)), "t2")))
    by_alice, _ = await store.active_contracts([ALICE])
    assert [r.contract.contract_id for r in by_alice] == ["a1"]
    bank_ious, _ = await store.active_contracts([BANK], [IOU])
    assert [r.contract.contract_id for r in bank_ious] == ["i2", "i3"]
    accounts, _ = await store.active_contracts([BANK], [ACCOUNT])
    assert accounts[0].contract.key_hash == global_key_hash(ACCOUNT, key.key)
    key_hash = accounts[0].contract.key_hash
    assert key_hash is not None
    states, keys = await store.load_states(
        StatesToFetch(frozenset({"i1", "i2", "nope"}), frozenset({key_hash})))
    assert states["i1"] is not None and not states["i1"].active
    assert states["i2"] is not None and states["i2"].active and states["nope"] is None
    assert keys == {key_hash: "a1"}


async def test_event_log_range_reads_flat_and_tree(store: PostgresParticipantStore) -> None:
    for n in range(1, 5):
        await store.apply_event(event(n, entry_for(tx(iou(f"c{n}", ALICE)), f"t{n}")))
    spend = tx(transfer("c1", ALICE, (1,)), iou("c5", BOB))
    await store.apply_event(event(5, entry_for(spend, "t5")))
    window = await store.transactions([ALICE], offset_of(1), offset_of(3), flat=True)
    assert [t.offset for t in window] == [offset_of(2), offset_of(3)]
    assert [t.transaction_id for t in window] == ["t2", "t3"]
    tree = await store.transactions([ALICE], offset_of(4), None, flat=False)
    assert [e.node_id for e in tree[0].events] == [0, 1] and tree[0].root_node_ids == (0,)
    flat = await store.transactions([ALICE], offset_of(4), None, flat=True)
    assert [e.node_id for e in flat[0].events] == [0]  # Alice is no stakeholder of c5
    assert isinstance(decode_node(flat[0].events[0].payload), ExerciseNode)
    bank = await store.transactions([BANK], offset_of(4), None, flat=True)
    assert [e.node_id for e in bank[0].events] == [0, 1]
    assert await store.transactions([BOB], LEDGER_BEGIN, None, flat=False) == []
    limited = await store.transactions([ALICE], LEDGER_BEGIN, None, flat=False, limit=2)
    assert [t.transaction_id for t in limited] == ["t1", "t2"]
    by_id = await store.transaction_by_id("t5", [BANK], flat=False)
    assert by_id is not None and by_id.offset == offset_of(5)
    assert await store.transaction_by_id("t5", [BOB], flat=False) is None


async def test_divulged_contracts_can_be_looked_up_by_the_party(
    store: PostgresParticipantStore,
) -> None:
    # Alice exercises a choice on Bob's contract she is no stakeholder of: divulged to her.
    foreign = CreateNode("b1", IOU, iou("b1", BOB).argument, frozenset({"carol"}),
                         frozenset({BOB}))
    wrapper = ExerciseNode("w", IOU, "Peek", UnitValue(), frozenset({ALICE}), False,
                           frozenset({ALICE}), frozenset({ALICE}), frozenset(), (NodeId(1),),
                           None)
    commit = commit_set_for(tx(wrapper, foreign), frozenset({ALICE}), {}, ledger_time_us=1)
    entry = transaction_entry(commit, transaction_id="t1", ledger_time_us=1, record_time_us=1)
    await store.apply_event(event(1, entry))
    found = await store.lookup_contract("b1", [ALICE])
    assert found is not None and decode_contract(found.contract.payload).contract_id == "b1"
    assert await store.lookup_contract("b1", [BOB]) is None


async def test_divulged_to_a_witness_whose_co_hosted_party_is_a_stakeholder(
    store: PostgresParticipantStore,
) -> None:
    # Alice and Bob share this participant. Bob exercises a choice whose body fetches Alice's
    # Iou c1 (stakeholders Bank and Alice): Bob witnesses the fetch, so c1 is divulged to him
    # and he can later use it on his own (his submission reads contracts as Bob only).
    hosted = frozenset({ALICE, BOB})
    created = commit_set_for(tx(iou("c1", ALICE)), hosted, {}, ledger_time_us=1)
    await store.apply_event(event(1, transaction_entry(
        created, transaction_id="t1", ledger_time_us=1, record_time_us=1)))
    assert await store.lookup_contract("c1", [BOB]) is None
    peek = ExerciseNode("w", IOU, "Peek", UnitValue(), frozenset({BOB}), False,
                        frozenset({ALICE, BOB}), frozenset({ALICE, BOB}), frozenset(),
                        (NodeId(1),), None)
    fetch = FetchNode("c1", IOU, frozenset({ALICE}), frozenset({BANK}), frozenset({BANK, ALICE}))
    inputs = {"c1": created.created[0].contract}
    commit = commit_set_for(tx(peek, fetch), hosted, inputs, ledger_time_us=2)
    await store.apply_event(event(2, transaction_entry(
        commit, transaction_id="t2", ledger_time_us=2, record_time_us=2)))
    found = await store.lookup_contract("c1", [BOB])
    assert found is not None and decode_contract(found.contract.payload) == inputs["c1"]
    divulged_to = await store.pool.fetch("SELECT party FROM divulged_contracts")
    assert [r["party"] for r in divulged_to] == [BOB]  # Alice is a stakeholder: no row


async def test_create_events_of_acs_rows(store: PostgresParticipantStore) -> None:
    await store.apply_event(event(1, entry_for(tx(iou("i1", ALICE), iou("i2", BOB),
                                                   roots=(0, 1)), "t1")))
    await store.apply_event(event(2, entry_for(tx(transfer("i1", ALICE, (1,)),
                                                   iou("i3", BOB)), "t2")))
    acs, _ = await store.active_contracts([ALICE, BOB, BANK])
    assert await store.create_events(acs) == {
        "i2": CreateEventRef("t1", 1), "i3": CreateEventRef("t2", 1)}
    assert await store.create_events([]) == {}
    # A contract only divulged here (Bob saw it fetched) has no create event in this log.
    peek = ExerciseNode("w", IOU, "Peek", UnitValue(), frozenset({BOB}), False,
                        frozenset({BOB}), frozenset({BOB}), frozenset(), (NodeId(1),), None)
    seen = FetchNode("x9", IOU, frozenset({BOB}), frozenset({"carol"}), frozenset({"carol"}))
    elsewhere = commit_set_for(tx(iou("x9", "dave")), frozenset({"dave"}), {}, ledger_time_us=3)
    commit = commit_set_for(tx(peek, seen), frozenset({BOB}),
                            {"x9": elsewhere.created[0].contract}, ledger_time_us=3)
    await store.apply_event(event(3, transaction_entry(
        commit, transaction_id="t3", ledger_time_us=3, record_time_us=3)))
    divulged = await store.lookup_contract("x9", [BOB])
    assert divulged is not None and await store.create_events([divulged]) == {}


async def test_completions_per_application_and_party(store: PostgresParticipantStore) -> None:
    ok = CompletionEntry("app", frozenset({ALICE}), "cmd-1", "s1", None, 10)
    await store.apply_event(event(1, entry_for(tx(iou("c1", ALICE)), "t1", completion=ok)))
    rejected = CompletionEntry("app", frozenset({ALICE}), "cmd-2", "s2", None, 20, 6,
                               "LOCAL_VERDICT_LOCKED_CONTRACTS", "c1 locked by r1")
    other_app = CompletionEntry("other", frozenset({ALICE}), "cmd-3", "s3", None, 20, 6, "X", "")
    await store.apply_event(event(2, rejections=(rejected, other_app)))
    rows = await store.completions("app", [ALICE], LEDGER_BEGIN)
    assert [(r.offset, r.entry.command_id, r.transaction_id) for r in rows] == [
        (offset_of(1), "cmd-1", "t1"), (offset_of(2), "cmd-2", None)]
    assert rows[1].entry.error_id == "LOCAL_VERDICT_LOCKED_CONTRACTS"
    assert await store.completions("app", [BOB], LEDGER_BEGIN) == []
    assert await store.completions("app", [ALICE], offset_of(1)) == rows[1:]


# -- deduplication ------------------------------------------------------------------------

async def test_dedup_in_flight_accepted_then_expired(store: PostgresParticipantStore) -> None:
    change = ChangeId("app", "cmd-1", frozenset({ALICE}))
    submission = SubmissionEntry(change, "s1", "msg-1", 100 * SECOND_US)
    max_us = 60 * SECOND_US
    assert await store.start_submission(submission, None, 0, max_us) == NotDuplicate()
    again = SubmissionEntry(change, "s2", "msg-2", 100 * SECOND_US)
    assert isinstance(await store.start_submission(again, None, 1, max_us), AlreadyInFlight)

    sequenced = SubmissionSequenced(change.key, RequestId("r1"), 5 * SECOND_US)
    await store.apply_event(event(1, submissions_sequenced=(sequenced,)))
    (row,) = await store.in_flight_submissions()
    assert row.request_id == "r1" and row.sequenced_at_us == 5 * SECOND_US

    done = CompletionEntry("app", change.act_as, "cmd-1", "s1", change.key, 10 * SECOND_US)
    await store.apply_event(event(2, entry_for(tx(iou("c1", ALICE)), "t1", completion=done)))
    assert await store.in_flight_submissions() == []
    decision = await store.start_submission(again, None, 20 * SECOND_US, max_us)
    assert isinstance(decision, Duplicate) and decision.earlier.completion_offset == offset_of(1)
    short = DeduplicationDuration(5 * SECOND_US)
    assert await store.start_submission(again, short, 20 * SECOND_US, max_us) == NotDuplicate()

    assert await store.expire_deduplication(70 * SECOND_US, max_us) == 0
    assert await store.expire_deduplication(70 * SECOND_US + 1, max_us) == 1
    assert await store.accepted_command(change) is None


async def test_offset_period_behind_expired_dedup_entries_is_refused(
    fresh_database: str,
) -> None:
    change = ChangeId("app", "cmd-1", frozenset({ALICE}))
    max_us = 60 * SECOND_US
    first = await PostgresParticipantStore.open(fresh_database)
    await first.apply_event(event(1, entry_for(tx(iou("c0", ALICE)), "t0")))
    await first.start_submission(SubmissionEntry(change, "s1", "m1", 9), None, 0, max_us)
    done = CompletionEntry("app", change.act_as, "cmd-1", "s1", change.key, SECOND_US)
    await first.apply_event(event(2, entry_for(tx(iou("c1", ALICE)), "t1", completion=done)))
    again = SubmissionEntry(change, "s2", "m2", 100 * SECOND_US)
    from_begin = DeduplicationOffset(LEDGER_BEGIN)
    assert isinstance(await first.start_submission(again, from_begin, 2, max_us), Duplicate)
    assert await first.deduplication_pruned_up_to() == LEDGER_BEGIN
    assert await first.expire_deduplication(max_us + 2 * SECOND_US, max_us) == 1
    assert await first.expire_deduplication(max_us + 3 * SECOND_US, max_us) == 0
    await first.close()

    second = await PostgresParticipantStore.open(fresh_database)  # the horizon is stored
    try:
        assert await second.deduplication_pruned_up_to() == offset_of(2)
        for start in (LEDGER_BEGIN, offset_of(1)):
            with pytest.raises(InvalidDeduplicationPeriod) as invalid:
                await second.start_submission(again, DeduplicationOffset(start),
                                              max_us + 3 * SECOND_US, max_us)
            assert invalid.value.earliest_offset == offset_of(2)  # type: ignore[attr-defined]
        assert await second.in_flight_submissions() == []  # nothing recorded when refused
        assert await second.start_submission(again, DeduplicationOffset(offset_of(2)),
                                             max_us + 3 * SECOND_US, max_us) == NotDuplicate()
    finally:
        await second.close()


async def test_rejected_completion_ends_in_flight_without_dedup_entry(
    store: PostgresParticipantStore,
) -> None:
    change = ChangeId("app", "cmd-1", frozenset({ALICE}))
    await store.start_submission(SubmissionEntry(change, "s1", "m1", 9), None, 0, SECOND_US)
    timed_out = CompletionEntry("app", change.act_as, "cmd-1", "s1", change.key, 10, 4,
                                "SEQUENCER_REQUEST_TIMEOUT", "not sequenced in time")
    await store.apply_event(event(1, rejections=(timed_out,)))
    assert await store.in_flight_submissions() == []
    assert await store.accepted_command(change) is None


# -- restart ---------------------------------------------------------------------------------

async def test_restart_restores_clean_position_and_locks(fresh_database: str) -> None:
    first = await PostgresParticipantStore.open(fresh_database)
    await first.apply_event(event(1, entry_for(tx(iou("c1", ALICE)), "t1")))
    detector = ConflictDetector()
    aset = ActivenessSet(consumed=frozenset({"c1"}))
    contracts, keys = await first.load_states(detector.states_to_fetch(aset))
    detector.provide_states(contracts, keys)
    assert detector.check_and_lock(RequestId("r1"), 20, aset, decision_time_us=90).is_successful
    pending = PendingRequest(detector.locks_of(RequestId("r1")), b"verdict-needs")
    await first.apply_event(event(2, pending_added=(pending,)))
    await first.close()

    second = await PostgresParticipantStore.open(fresh_database)  # migrations: nothing new
    try:
        assert await second.clean_position() == CleanPosition(2, 20)
        restored = ConflictDetector()
        restored.restore(p.locks for p in await second.pending_requests())
        later = ActivenessSet(consumed=frozenset({"c1"}))
        contracts, keys = await second.load_states(restored.states_to_fetch(later))
        restored.provide_states(contracts, keys)
        result = restored.check_and_lock(RequestId("r2"), 30, later, decision_time_us=100)
        assert dict(result.locked) == {"c1": RequestId("r1")}
        assert (await second.pending_requests())[0].payload == b"verdict-needs"
        await second.apply_event(event(3, pending_removed=(RequestId("r1"),)))
        assert await second.pending_requests() == []
    finally:
        await second.close()


async def test_a_rejected_request_replays_as_rejected_after_restart(
    fresh_database: str,
) -> None:
    first = await PostgresParticipantStore.open(fresh_database)
    await first.apply_event(event(1, entry_for(tx(iou("c1", ALICE)), "t1")))
    detector = ConflictDetector()
    spend = ActivenessSet(consumed=frozenset({"c1"}))
    detector.provide_states(*await first.load_states(detector.states_to_fetch(spend)))
    assert detector.check_and_lock(RequestId("r1"), 20, spend, 90).is_successful
    rejected = detector.check_and_lock(RequestId("r2"), 30, spend, 100)
    assert dict(rejected.locked) == {"c1": RequestId("r1")}
    pending = tuple(PendingRequest(detector.locks_of(RequestId(r))) for r in ("r1", "r2"))
    await first.apply_event(event(2, pending_added=pending))
    await first.close()

    second = await PostgresParticipantStore.open(fresh_database)
    try:
        stored = await second.pending_requests()
        assert [p.locks for p in stored] == [p.locks for p in pending]
        restored = ConflictDetector()
        restored.restore(p.locks for p in stored)
        restored.provide_states(*await second.load_states(restored.states_to_fetch(spend)))
        replayed = restored.check_and_lock(RequestId("r2"), 30, spend, 100)
        assert replayed == rejected and not replayed.is_successful
    finally:
        await second.close()


async def test_every_part_of_an_activeness_result_survives_the_store(
    store: PostgresParticipantStore,
) -> None:
    key_a, key_b = GlobalKeyHash("k" * 64), GlobalKeyHash("j" * 64)
    result = ActivenessResult(
        RequestId("r1"), unknown=frozenset({"u1", "u2"}), inactive=frozenset({"i1"}),
        locked={"l1": RequestId("r0")}, not_fresh=frozenset({"n1"}),
        duplicate_keys={key_a: "d1"}, locked_keys={key_b: RequestId("r0")},
        inconsistent_keys={key_a: None, key_b: "x1"},
    )
    locks = RequestLocks(RequestId("r1"), 20, 90, frozenset({"l1"}), frozenset({key_a}), result)
    legacy = RequestLocks(RequestId("r2"), 30, 90, frozenset({"l2"}), frozenset())
    await store.apply_event(event(1, pending_added=(PendingRequest(locks),
                                                    PendingRequest(legacy))))
    assert [p.locks for p in await store.pending_requests()] == [locks, legacy]
    await store.pool.execute(
        "UPDATE pending_requests SET activeness_result = '{\"locked\": 1}' "
        "WHERE request_id = 'r2'")
    with pytest.raises(StoredRowInvalid) as invalid:
        await store.pending_requests()
    assert invalid.value.error_id == "PARTICIPANT_STORE_ROW_INVALID" and "r2" in str(invalid.value)
