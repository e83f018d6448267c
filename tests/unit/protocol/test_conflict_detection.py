"""Conflict detection: seed 003's three counteroffer diagrams, then the edge cases.

The counteroffer (seed 003, "Conflict Detection"): parties A (Alice), Bank and P (the painter),
each on their own participant. c1 is an Iou between A and the Bank, c2 A's Counteroffer to P.
tx1: P accepts the Counteroffer, consuming c2 and (as a consequence) transferring the Iou c1.
tx2: A retracts the Counteroffer, consuming c2. Each participant derives its activeness set
from the transaction and the parties it hosts, exactly as the participant will.
"""

from __future__ import annotations

import pytest
from counteroffer import (
    ACCOUNT,
    BANK,
    C1,
    C2,
    INPUTS,
    IOU,
    KEY,
    KEY_HASH,
    LEDGER_TIME_US,
    TX1,
    TX2,
    TX3,
    A,
    P,
    accept_counteroffer,
    create,
    exercise,
    fetch,
    retract_counteroffer,
    tx,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from minicanton.core.ids import RequestId
from minicanton.core.lf.transaction import (
    LookupByKeyNode,
    Transaction,
)
from minicanton.core.protocol.commit_set import (
    CommitSet,
    ProjectedTransaction,
    commit_set_for,
)
from minicanton.core.protocol.conflict_detection import (
    ActivenessResult,
    ActivenessSet,
    CommitSetNotLocked,
    ConflictDetectionError,
    ConflictDetector,
    ContractState,
    DecisionTimeRequired,
    KeyLookup,
    RequestLocks,
    RequestOutOfOrder,
    ResultUnknownAfterRestart,
    StatesNotProvided,
    UnknownRequest,
    activeness_set_for,
)

DECIDE_US = 1_000_000  # a decision time after every request of these tests


class Participant:
    """One participant's conflict detection, driven as the participant node will drive it."""

    def __init__(self, *hosted: str, active: tuple[str, ...] = (), archived: tuple[str, ...] = ()):
        self.hosted = frozenset(hosted)
        self.detector = ConflictDetector(complete_acs=True)
        states = {c: ContractState(True) for c in active}
        states |= {c: ContractState(False) for c in archived}
        self.detector.provide_states(states, {})
        self.requests: dict[RequestId, Transaction] = {}

    def receive_request(self, request_id: RequestId, ts_us: int, transaction: Transaction):
        self.requests[request_id] = transaction
        aset = activeness_set_for(transaction, self.hosted)
        return self.detector.check_and_lock(request_id, ts_us, aset, DECIDE_US)

    def receive_verdict(self, request_id: RequestId, approved: bool):
        commit = commit_set_for(self.requests[request_id], self.hosted, INPUTS, LEDGER_TIME_US)
        return self.detector.finalize(request_id, approved, commit)

    def is_active(self, cid: str) -> bool:
        state = self.detector.contract_state(cid)
        return state is not None and state.active

    def locked_by(self, cid: str) -> tuple[RequestId, ...]:
        return self.detector.lock_holders(cid)


def counteroffer_network(*, iou_archived: bool = False) -> dict[str, Participant]:
    """Three participants; c1 (the Iou) is active, or already archived for diagram three."""
    iou_active = () if iou_archived else (C1,)
    iou_archived_ = (C1,) if iou_archived else ()
    return {
        A: Participant(A, active=(C2, *iou_active), archived=iou_archived_),
        BANK: Participant(BANK, active=iou_active, archived=iou_archived_),
        P: Participant(P, active=(C2,)),
    }


# -- seed 003, first diagram ----------------------------------------------------------------

def test_later_conflicting_request_is_rejected_while_earlier_in_flight() -> None:
    net = counteroffer_network()
    tx1_at = {name: p.receive_request(TX1, 1, accept_counteroffer()) for name, p in net.items()}
    assert all(result.is_successful for result in tx1_at.values())
    assert net[A].locked_by(C1) == (TX1,) and net[A].locked_by(C2) == (TX1,)
    assert net[BANK].locked_by(C1) == (TX1,)
    assert net[P].locked_by(C2) == (TX1,)

    # tx2 goes to A and P only (the Bank is no stakeholder of c2): both reject, c2 is locked.
    for name in (A, P):
        result = net[name].receive_request(TX2, 2, retract_counteroffer())
        assert not result.is_successful
        assert dict(result.locked) == {C2: TX1}
        assert [r.error_id for r in result.rejections()] == ["LOCAL_VERDICT_LOCKED_CONTRACTS"]

    for participant in net.values():
        participant.receive_verdict(TX1, approved=True)
    for name in (A, P):
        net[name].receive_verdict(TX2, approved=False)

    assert not net[A].is_active(C1) and not net[A].is_active(C2)
    assert not net[BANK].is_active(C1)
    assert not net[P].is_active(C2)
    assert net[P].is_active("c3-new-iou") and net[A].is_active("c4-agreement")
    assert all(not p.detector.in_flight() for p in net.values())
    assert all(not p.locked_by(c) for p in net.values() for c in (C1, C2))


# -- seed 003, second diagram ---------------------------------------------------------------

def test_lock_kept_until_earlier_verdict_then_released_on_rejection() -> None:
    net = counteroffer_network()
    for name in (A, P):
        assert net[name].receive_request(TX2, 1, retract_counteroffer()).is_successful
        assert net[name].locked_by(C2) == (TX2,)

    tx1_at = {name: p.receive_request(TX1, 2, accept_counteroffer()) for name, p in net.items()}
    assert dict(tx1_at[A].locked) == {C2: TX2}
    assert dict(tx1_at[P].locked) == {C2: TX2}
    assert tx1_at[BANK].is_successful  # everything looks fine for the Bank
    # "the Bank and, for consistency, A lock c1 until the mediator sends the rejection for tx1"
    assert net[BANK].locked_by(C1) == (TX1,)
    assert net[A].locked_by(C1) == (TX1,)
    # A answers per view: it approves tx1's view on c1 and rejects the one on c2.
    c1_view = ActivenessSet(consumed=frozenset({C1}))
    c2_view = ActivenessSet(consumed=frozenset({C2}))
    assert tx1_at[A].restricted_to(c1_view).is_successful
    assert not tx1_at[A].restricted_to(c2_view).is_successful

    for name in (A, P):
        net[name].receive_verdict(TX2, approved=True)
    assert not net[A].is_active(C2) and not net[P].is_active(C2)
    assert net[A].locked_by(C1) == (TX1,) and net[BANK].locked_by(C1) == (TX1,)

    for participant in net.values():
        participant.receive_verdict(TX1, approved=False)
    assert net[A].locked_by(C1) == () and net[BANK].locked_by(C1) == ()
    assert net[A].is_active(C1) and net[BANK].is_active(C1)


# -- seed 003, third diagram ----------------------------------------------------------------

def test_third_diagram_incorrect_negative() -> None:
    net = counteroffer_network(iou_archived=True)
    tx1_at = {name: p.receive_request(TX1, 1, accept_counteroffer()) for name, p in net.items()}
    assert tx1_at[A].inactive == {C1} and tx1_at[BANK].inactive == {C1}
    assert tx1_at[P].is_successful  # P sees only the view on c2, which looks fine
    # A locks c2 too, "although A already knows that the transaction will fail".
    assert net[A].locked_by(C2) == (TX1,) and net[P].locked_by(C2) == (TX1,)

    for name in (A, P):
        result = net[name].receive_request(TX2, 2, retract_counteroffer())
        assert dict(result.locked) == {C2: TX1}  # the incorrect negative

    for participant in net.values():
        participant.receive_verdict(TX1, approved=False)
    assert net[A].is_active(C2) and net[P].is_active(C2)  # c2 is active again...
    for name in (A, P):
        net[name].receive_verdict(TX2, approved=False)  # ...but tx2 stays rejected
    assert net[A].is_active(C2) and net[P].is_active(C2)

    # A retraction submitted again now succeeds.
    for name in (A, P):
        assert net[name].receive_request(TX3, 3, retract_counteroffer()).is_successful


# -- activeness ---------------------------------------------------------------------------

def detector_with(*active: str, archived: tuple[str, ...] = (),
                  keys: dict[str, str | None] | None = None) -> ConflictDetector:
    detector = ConflictDetector(complete_acs=True)
    states = {c: ContractState(True) for c in active} | {
        c: ContractState(False) for c in archived}
    for key_hash, cid in (keys or {}).items():
        if cid is not None:
            states[cid] = ContractState(True, key_hash)  # type: ignore[arg-type]
    detector.provide_states(states, dict(keys or {}))  # type: ignore[arg-type]
    return detector


def consume(*cids: str) -> ActivenessSet:
    return ActivenessSet(consumed=frozenset(cids))


def test_archived_input_is_inactive() -> None:
    detector = detector_with(archived=("old",))
    result = detector.check_and_lock(TX1, 1, consume("old"), DECIDE_US)
    assert result.inactive == {"old"} and not result.unknown
    assert [r.error_id for r in result.rejections()] == ["LOCAL_VERDICT_INACTIVE_CONTRACTS"]


def test_unknown_contract_is_reported_as_unknown() -> None:
    detector = detector_with()
    result = detector.check_and_lock(TX1, 1, ActivenessSet(used=frozenset({"nowhere"})),
                                     DECIDE_US)
    assert result.unknown == {"nowhere"}
    assert not result.is_successful


def test_fetch_of_contract_locked_for_archival_is_rejected() -> None:
    # Canton: an input must be "known and not locked and active"; a fetch does not lock.
    detector = detector_with("c")
    assert detector.check_and_lock(TX1, 1, consume("c"), DECIDE_US).is_successful
    result = detector.check_and_lock(TX2, 2, ActivenessSet(used=frozenset({"c"})), DECIDE_US)
    assert dict(result.locked) == {"c": TX1}
    assert detector.lock_holders("c") == (TX1,)  # the fetch took no lock


def test_non_consuming_use_of_unlocked_contract_passes_and_does_not_lock() -> None:
    detector = detector_with("c")
    fetch_c = ActivenessSet(used=frozenset({"c"}))
    assert detector.check_and_lock(TX1, 1, fetch_c, DECIDE_US).is_successful
    assert detector.lock_holders("c") == ()
    assert detector.check_and_lock(TX2, 2, consume("c"), DECIDE_US).is_successful


def test_builder_puts_fetches_and_non_consuming_exercises_in_used() -> None:
    transaction = tx(
        exercise("x", IOU, {A}, {A}, children=(1,), consuming=False),
        fetch("y", IOU, {A}, {A}),
    )
    aset = activeness_set_for(transaction, frozenset({A}))
    assert aset.used == {"x", "y"} and not aset.consumed


def test_transient_contract_is_created_not_consumed() -> None:
    transaction = tx(create("t", IOU, {A}), exercise("t", IOU, {A}, {A}), roots=(0, 1))
    aset = activeness_set_for(transaction, frozenset({A}))
    assert aset.created == {"t"} and not aset.consumed
    commit = commit_set_for(transaction, frozenset({A}), {}, LEDGER_TIME_US)
    assert not commit.created and not commit.archived  # never enters the ACS


# -- keys ---------------------------------------------------------------------------------

def create_account(cid: str) -> Transaction:
    return tx(create(cid, ACCOUNT, {BANK}, KEY))


def bank_detector() -> Participant:
    return Participant(BANK)


def test_duplicate_key_against_the_acs() -> None:
    bank = bank_detector()
    assert bank.receive_request(TX1, 1, create_account("acc1")).is_successful
    bank.receive_verdict(TX1, approved=True)
    assert bank.detector.key_assignment(KEY_HASH) == "acc1"
    result = bank.receive_request(TX2, 2, create_account("acc2"))
    assert dict(result.duplicate_keys) == {KEY_HASH: "acc1"}
    assert [r.error_id for r in result.rejections()] == ["LOCAL_VERDICT_DUPLICATE_KEY"]


def test_duplicate_key_against_a_locked_in_flight_create() -> None:
    bank = bank_detector()
    assert bank.receive_request(TX1, 1, create_account("acc1")).is_successful
    result = bank.receive_request(TX2, 2, create_account("acc2"))
    assert dict(result.locked_keys) == {KEY_HASH: TX1}
    bank.receive_verdict(TX1, approved=False)
    bank.receive_verdict(TX2, approved=False)
    assert bank.detector.key_assignment(KEY_HASH) is None
    assert bank.receive_request(TX3, 3, create_account("acc3")).is_successful


def test_archive_and_recreate_with_the_same_key_in_one_transaction() -> None:
    bank = bank_detector()
    bank.receive_request(TX1, 1, create_account("acc1"))
    bank.receive_verdict(TX1, approved=True)
    rotate = tx(exercise("acc1", ACCOUNT, {BANK}, {BANK}, children=(1,), key=KEY),
                create("acc2", ACCOUNT, {BANK}, KEY))
    assert bank.receive_request(TX2, 2, rotate).is_successful
    assert bank.detector.key_lock_holders(KEY_HASH) == (TX2,)
    bank.receive_verdict(TX2, approved=True)
    assert bank.detector.key_assignment(KEY_HASH) == "acc2"
    assert not bank.is_active("acc1")


def test_lookup_must_resolve_as_interpreted_and_not_be_locked() -> None:
    bank = bank_detector()
    lookup_none = tx(LookupByKeyNode(ACCOUNT, KEY, None))
    assert bank.receive_request(TX1, 1, lookup_none).is_successful
    bank.receive_request(TX2, 2, create_account("acc1"))
    locked = bank.receive_request(TX3, 3, lookup_none)
    assert dict(locked.locked_keys) == {KEY_HASH: TX2}
    bank.receive_verdict(TX2, approved=True)
    bank.receive_verdict(TX3, approved=False)
    stale = bank.detector.check_and_lock(
        RequestId("tx4"), 4, ActivenessSet(key_lookups=frozenset({KeyLookup(KEY_HASH, None)})),
        DECIDE_US)
    assert dict(stale.inconsistent_keys) == {KEY_HASH: "acc1"}
    assert [r.error_id for r in stale.rejections()] == ["LOCAL_VERDICT_INCONSISTENT_KEY"]


def test_archiving_a_keyed_contract_locks_its_key() -> None:
    bank = bank_detector()
    bank.receive_request(TX1, 1, create_account("acc1"))
    bank.receive_verdict(TX1, approved=True)
    archive = tx(exercise("acc1", ACCOUNT, {BANK}, {BANK}, key=KEY))
    assert bank.receive_request(TX2, 2, archive).is_successful
    # While the archival is in flight the key's assignment may change: a create is refused.
    assert dict(bank.receive_request(TX3, 3, create_account("acc2")).locked_keys) == {
        KEY_HASH: TX2}


def test_created_contract_id_must_be_fresh() -> None:
    detector = detector_with("exists")
    result = detector.check_and_lock(TX1, 1, ActivenessSet(created=frozenset({"exists"})),
                                     DECIDE_US)
    assert result.not_fresh == {"exists"}


# -- ordering, replay, restart ------------------------------------------------------------

def test_requests_are_processed_in_timestamp_order() -> None:
    detector = detector_with("c")
    detector.check_and_lock(TX1, 10, consume("c"), DECIDE_US)
    with pytest.raises(RequestOutOfOrder):
        detector.check_and_lock(TX2, 10, ActivenessSet(), DECIDE_US)
    with pytest.raises(RequestOutOfOrder):
        detector.check_and_lock(TX2, 9, ActivenessSet(), DECIDE_US)


def test_replay_is_idempotent() -> None:
    detector = detector_with("c", "d")
    first = detector.check_and_lock(TX1, 1, consume("c"), DECIDE_US)
    second = detector.check_and_lock(TX2, 2, consume("c", "d"), DECIDE_US)
    assert detector.check_and_lock(TX1, 1, consume("c"), DECIDE_US) == first
    assert detector.check_and_lock(TX2, 2, consume("c", "d"), DECIDE_US) == second
    assert detector.lock_holders("c") == (TX1, TX2)  # not taken twice
    commit = CommitSet(frozenset({"c"}), (), (), ProjectedTransaction((), ()))
    detector.finalize(TX1, True, commit)
    replay = detector.finalize(TX1, True, commit)
    assert replay.replayed and replay.commit_set.is_empty
    assert detector.check_and_lock(TX1, 1, consume("c"), DECIDE_US) == first
    assert detector.lock_holders("c") == (TX2,)
    with pytest.raises(RequestOutOfOrder):
        detector.check_and_lock(TX1, 5, consume("c"), DECIDE_US)
    with pytest.raises(UnknownRequest):
        detector.finalize(RequestId("never"), False)


def test_restore_rebuilds_locks_after_restart() -> None:
    before = detector_with("c")
    before.check_and_lock(TX1, 1, consume("c"), decision_time_us=100)
    persisted = [before.locks_of(TX1)]

    after = ConflictDetector(complete_acs=True)
    after.provide_states({"c": ContractState(True)}, {})
    after.restore(persisted)
    assert after.last_request_ts_us == 1 and after.lock_holders("c") == (TX1,)
    assert dict(after.check_and_lock(TX2, 2, consume("c"), DECIDE_US).locked) == {"c": TX1}
    assert after.timed_out(100) == () and after.timed_out(101) == (TX1,)
    assert after.next_deadline_us() == 100
    after.finalize(TX1, False)
    assert after.lock_holders("c") == (TX2,)


def test_a_restored_request_replays_with_its_original_result() -> None:
    # Seed 003, first diagram, with a restart in between: tx2 was rejected because tx1 locked
    # c2. Replaying tx2 after the restart must reject it again, never answer "active".
    before = Participant(A, active=(C1, C2))
    assert before.receive_request(TX1, 1, accept_counteroffer()).is_successful
    rejected = before.receive_request(TX2, 2, retract_counteroffer())
    assert not rejected.is_successful
    persisted = [before.detector.locks_of(TX1), before.detector.locks_of(TX2)]
    assert persisted[1].activeness_result == rejected

    after = ConflictDetector(complete_acs=True)
    after.provide_states({C1: ContractState(True), C2: ContractState(True)}, {})
    after.restore(reversed(persisted))
    replayed = after.check_and_lock(TX2, 2, activeness_set_for(retract_counteroffer(),
                                                               frozenset({A})), DECIDE_US)
    assert replayed == rejected and not replayed.is_successful
    assert [r.error_id for r in replayed.rejections()] == ["LOCAL_VERDICT_LOCKED_CONTRACTS"]
    assert after.lock_holders(C2) == (TX1, TX2)  # the replay took no lock twice
    after.finalize(TX2, approved=False)
    assert after.check_and_lock(TX2, 2, consume(C2), DECIDE_US) == rejected  # still, once done


def test_a_request_restored_without_its_result_refuses_to_replay() -> None:
    detector = detector_with("c")
    detector.restore([RequestLocks(TX1, 1, DECIDE_US, frozenset({"c"}), frozenset())])
    with pytest.raises(ResultUnknownAfterRestart) as refused:
        detector.check_and_lock(TX1, 1, consume("c"), DECIDE_US)
    assert refused.value.error_id == "CONFLICT_DETECTION_STATE"
    assert detector.lock_holders("c") == (TX1,)
    with pytest.raises(ConflictDetectionError):  # locks must carry their own request's result
        RequestLocks(TX1, 1, DECIDE_US, frozenset(), frozenset(), ActivenessResult(TX2))


def test_every_request_needs_a_decision_time_so_no_lock_leaks() -> None:
    detector = detector_with("c")
    for missing in (None, 1.5, True):
        with pytest.raises(DecisionTimeRequired) as refused:
            detector.check_and_lock(TX1, 1, consume("c"), missing)  # type: ignore[arg-type]
        assert refused.value.error_id == "CONFLICT_DETECTION_STATE"
    with pytest.raises(DecisionTimeRequired):
        detector.check_and_lock(TX1, 10, consume("c"), 9)  # decided before it was requested
    assert detector.in_flight() == () and detector.lock_holders("c") == ()
    assert detector.last_request_ts_us is None  # a refused request leaves no trace
    with pytest.raises(DecisionTimeRequired):
        RequestLocks(TX1, 1, None, frozenset({"c"}), frozenset())  # type: ignore[arg-type]


def test_every_lock_times_out_at_its_decision_time() -> None:
    detector = detector_with("c", "d")
    detector.check_and_lock(TX1, 1, consume("c"), 50)
    detector.check_and_lock(TX2, 2, consume("d"), 40)
    assert detector.next_deadline_us() == 40
    assert detector.timed_out(40) == () and detector.timed_out(41) == (TX2,)
    for request_id in detector.timed_out(51):
        detector.finalize(request_id, approved=False)
    assert detector.in_flight() == () and detector.next_deadline_us() is None
    assert detector.lock_holders("c") == () and detector.lock_holders("d") == ()


def test_commit_set_must_be_covered_by_the_requests_locks() -> None:
    detector = detector_with("c", "other")
    detector.check_and_lock(TX1, 1, consume("c"), DECIDE_US)
    stray = CommitSet(frozenset({"other"}), (), (), ProjectedTransaction((), ()))
    with pytest.raises(CommitSetNotLocked):
        detector.finalize(TX1, True, stray)


def test_rejection_releases_locks_and_changes_nothing() -> None:
    detector = detector_with("c")
    detector.check_and_lock(TX1, 1, consume("c"), DECIDE_US)
    outcome = detector.finalize(TX1, False)
    assert outcome.commit_set.is_empty and detector.contract_state("c") == ContractState(True)
    assert detector.lock_holders("c") == ()


# -- cache mode: the shell feeds states from its store -------------------------------------

def test_shell_must_provide_states_before_checking() -> None:
    detector = ConflictDetector()
    aset = ActivenessSet(consumed=frozenset({"c"}), created_keys=frozenset({KEY_HASH}))
    needed = detector.states_to_fetch(aset)
    assert needed.contract_ids == {"c"} and needed.key_hashes == {KEY_HASH}
    with pytest.raises(StatesNotProvided):
        detector.check_and_lock(TX1, 1, aset, DECIDE_US)
    detector.provide_states({"c": ContractState(True)}, {KEY_HASH: None})
    assert detector.states_to_fetch(aset).is_empty
    assert detector.check_and_lock(TX1, 1, aset, DECIDE_US).is_successful
    detector.provide_states({"c": ContractState(False)}, {})  # stale store read: cache wins
    assert detector.contract_state("c") == ContractState(True)
    assert detector.evict_idle() == 0  # everything is locked
    detector.finalize(TX1, False)
    assert detector.evict_idle() == 2
    assert detector.states_to_fetch(aset).contract_ids == {"c"}


def test_restored_detector_in_cache_mode_needs_states_again() -> None:
    detector = ConflictDetector()
    detector.restore([RequestLocks(TX1, 1, DECIDE_US, frozenset({"c"}), frozenset())])
    assert detector.states_to_fetch(consume("c")).contract_ids == {"c"}


# -- random schedules ---------------------------------------------------------------------

CONTRACTS = ("k0", "k1", "k2", "k3")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sets(st.sampled_from(CONTRACTS), min_size=1, max_size=2),
                          st.booleans(), st.integers(0, 3)), min_size=1, max_size=12))
def test_random_schedules_never_archive_twice_and_leave_no_locks(
    requests: list[tuple[set[str], bool, int]],
) -> None:
    detector = detector_with(*CONTRACTS)
    pending: list[tuple[RequestId, set[str], bool]] = []
    for ts, (inputs, vote, delay) in enumerate(requests, start=1):
        rid = RequestId(f"r{ts}")
        result = detector.check_and_lock(rid, ts, consume(*inputs), DECIDE_US)
        # A request is approved only if the check passed everywhere and the others agree.
        pending.append((rid, inputs, vote and result.is_successful))
        if delay == 0 or len(pending) > 3:
            _finalize_oldest(detector, pending)
    while pending:
        _finalize_oldest(detector, pending)
    assert not detector.in_flight()
    assert all(detector.lock_holders(c) == () for c in CONTRACTS)


def _finalize_oldest(detector: ConflictDetector, pending: list[tuple[RequestId, set[str], bool]],
                     ) -> None:
    rid, inputs, approved = pending.pop(0)
    commit = CommitSet(frozenset(inputs), (), (), ProjectedTransaction((), ()))
    outcome = detector.finalize(rid, approved, commit)
    assert not outcome.double_archivals  # pessimistic locking: no contract spent twice
