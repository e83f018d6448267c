"""The mediator machine, driven by the events the sequencer would deliver to it."""

from __future__ import annotations

from collections.abc import Sequence

from mediator_fixtures import (
    REACTION_TIMEOUT_US,
    REQUEST_TS_US,
    RESPONSE_TIMEOUT_US,
    DvpDomain,
    rigged,
    with_confirmer,
)

from minicanton.core.hashing import HashPurpose, hash_of
from minicanton.core.ids import ParticipantId
from minicanton.core.protocol.mediator import (
    Effect,
    Mediator,
    PersistRequest,
    PersistResponse,
    PersistVerdict,
    RaiseAlarm,
    RequestTimeProof,
    ResponseOutcome,
    SendVerdict,
)
from minicanton.core.protocol.message_codec import decode_protocol_message
from minicanton.core.protocol.messages import (
    Approve,
    ConfirmationResponse,
    InformeeMessage,
    LocalReject,
    MediatorResult,
    Reject,
    Timeout,
    UnresponsiveParticipant,
)
from minicanton.core.protocol.replay_protection import parameters_ever, replay_start_us
from minicanton.core.protocol.response_aggregation import MediatorRejectCode
from minicanton.core.sequencing.batch import MemberRecipient
from minicanton.core.sequencing.events import SequencedEvent
from minicanton.core.topology.mappings import DomainParametersState
from minicanton.core.topology.parameters import DomainParameters

DEADLINE_US = REQUEST_TS_US + RESPONSE_TIMEOUT_US
DECISION_US = DEADLINE_US + REACTION_TIMEOUT_US
TOLERANCE_US = DomainParameters().ledger_time_record_time_tolerance_us  # the fixture's
WINDOW_END_US = REQUEST_TS_US + 2 * TOLERANCE_US


class Run:
    """A mediator and its domain; `feed` delivers one event with the snapshot at its time."""

    def __init__(self, domain: DvpDomain | None = None) -> None:
        self.domain = domain or DvpDomain()
        self.mediator = Mediator(self.domain.mediator.id, self.domain.mediator.key)
        self.tree = self.domain.swap_tree()
        self.informee = InformeeMessage.create(self.tree, self.domain.p("alice"))
        self.events: list[SequencedEvent] = []

    def feed(self, event: SequencedEvent) -> list[Effect]:
        self.events.append(event)
        return self.mediator.handle_event(event, self.domain.snapshot(event.timestamp_us))

    def request(self, ts_us: int = REQUEST_TS_US) -> list[Effect]:
        return self.feed(self.domain.request_event(ts_us, self.tree))

    def responses(self, hint: str, verdict: LocalReject | None = None,
                  request_ts_us: int = REQUEST_TS_US) -> list[ConfirmationResponse]:
        """`hint`'s participant's response for every view where its party confirms."""
        party = self.domain.parties[hint]
        return [
            self.domain.response(hint, request_ts_us, self.informee, view.view_hash, [hint],
                                 verdict)
            for view in self.informee.views if party in view.parameters.confirmers
        ]

    def respond(self, ts_us: int, hint: str, verdict: LocalReject | None = None) -> list[Effect]:
        return self.feed(self.domain.response_event(ts_us, *self.responses(hint, verdict)))


def _of(effects: Sequence[Effect], kind: type) -> list:
    return [e for e in effects if isinstance(e, kind)]


def _verdict(effects: Sequence[Effect]) -> SendVerdict:
    (send,) = _of(effects, SendVerdict)
    return send


def test_approve_when_every_view_is_confirmed() -> None:
    run = Run()
    (persist,) = run.request()
    assert isinstance(persist, PersistRequest)
    assert persist.response_deadline_us == DEADLINE_US
    assert persist.decision_time_us == DECISION_US
    assert len(persist.payloads) == 5  # the informee message and four root-hash messages
    for i, hint in enumerate(("alice", "bob", "bank")):
        effects = run.respond(REQUEST_TS_US + 10 + i, hint)
        assert not _of(effects, SendVerdict)
    effects = run.respond(REQUEST_TS_US + 20, "sr")
    send = _verdict(effects)
    assert send.result.verdict == Approve()
    assert send.message_id == f"verdict-{REQUEST_TS_US}"
    assert send.max_sequencing_time_us == DECISION_US
    assert send.recipients == tuple(sorted(run.domain.p(h) for h in ("alice", "bob", "bank",
                                                                     "sr")))
    send.result.verify(run.domain.mediator.key.public)
    (stored,) = _of(effects, PersistVerdict)
    assert stored.result == send.result and stored.decided_ts_us == REQUEST_TS_US + 20
    assert effects.index(stored) < effects.index(send)  # persist before send
    assert run.mediator.pending_requests == ()
    assert run.mediator.next_deadline_us() is None


def test_reject_on_the_first_rejection_names_who_rejected_what() -> None:
    run = Run()
    run.request()
    run.respond(REQUEST_TS_US + 10, "alice")
    effects = run.respond(REQUEST_TS_US + 11, "bank", LocalReject("LOCKED_CONTRACTS", "iou1"))
    verdict = _verdict(effects).result.verdict
    assert isinstance(verdict, Reject)
    assert {(r.code, r.participant) for r in verdict.reasons} == {
        ("LOCKED_CONTRACTS", run.domain.p("bank"))
    }
    late = run.respond(REQUEST_TS_US + 12, "sr")
    assert [e.outcome for e in _of(late, PersistResponse)] == [ResponseOutcome.AFTER_DECISION] * 2
    assert not _of(late, SendVerdict)


def test_timeout_fires_exactly_at_the_deadline_and_names_the_silent_participants() -> None:
    run = Run()
    run.request()
    assert run.mediator.next_deadline_us() == DEADLINE_US
    run.respond(REQUEST_TS_US + 10, "alice")
    run.respond(REQUEST_TS_US + 11, "bob")
    assert run.mediator.handle_timer(DEADLINE_US - 1) == []
    assert run.mediator.handle_timer(DEADLINE_US) == [RequestTimeProof(DEADLINE_US)]
    assert run.feed(run.domain.time_proof(DEADLINE_US - 1)) == []  # one microsecond early
    effects = run.feed(run.domain.time_proof(DEADLINE_US))
    send = _verdict(effects)
    assert send.result.verdict == Timeout(tuple(
        UnresponsiveParticipant(run.domain.p(h), frozenset({run.domain.parties[h]}))
        for h in sorted(("bank", "sr"), key=run.domain.p)
    ), frozenset({run.domain.parties["bank"], run.domain.parties["sr"]}))
    (stored,) = _of(effects, PersistVerdict)
    assert stored.decided_ts_us == DEADLINE_US
    late = run.respond(DEADLINE_US + 1, "sr")
    assert {e.outcome for e in _of(late, PersistResponse)} == {ResponseOutcome.AFTER_DECISION}
    assert not _of(late, SendVerdict)


def test_a_response_sequenced_at_the_deadline_still_counts() -> None:
    run = Run()
    run.request()
    for i, hint in enumerate(("alice", "bob", "bank")):
        run.respond(REQUEST_TS_US + 10 + i, hint)
    effects = run.respond(DEADLINE_US, "sr")
    assert _verdict(effects).result.verdict == Approve()


def test_a_root_hash_mismatch_is_rejected_at_once() -> None:
    run = Run()
    informee = run.informee
    other = hash_of(HashPurpose.MERKLE_NODE, b"other")
    sent = {p: informee.root_hash for p in run.domain.informee_participants(run.tree)}
    sent[run.domain.p("sr")] = other
    effects = run.feed(run.domain.request_event(REQUEST_TS_US, run.tree, sent))
    assert isinstance(effects[0], PersistRequest)
    verdict = _verdict(effects).result.verdict
    assert isinstance(verdict, Reject)
    assert [r.code for r in verdict.reasons] == [MediatorRejectCode.ROOT_HASH_MISMATCH.value]
    assert run.mediator.pending_requests == ()


def test_a_replayed_request_is_rejected_as_a_duplicate() -> None:
    run = Run()
    run.request()
    effects = run.request(REQUEST_TS_US + 100)
    verdict = _verdict(effects).result.verdict
    assert isinstance(verdict, Reject)
    assert verdict.reasons[0].code == MediatorRejectCode.DUPLICATE_REQUEST.value
    assert run.mediator.pending_requests == (REQUEST_TS_US,)


def test_forged_and_unauthorized_responses_are_ignored_with_an_alarm() -> None:
    run = Run()
    run.request()
    informee, domain = run.informee, run.domain
    iou_view = informee.views[1].view_hash
    forged = domain.response("bank", REQUEST_TS_US, informee, iou_view, ["bank"],
                             LocalReject("LOCKED_CONTRACTS", "x"), signer="sr")
    unauthorized = domain.response("sr", REQUEST_TS_US, informee, iou_view, ["bank"],
                                   LocalReject("LOCKED_CONTRACTS", "x"))
    for ts_us, response in ((REQUEST_TS_US + 5, forged), (REQUEST_TS_US + 6, unauthorized)):
        effects = run.feed(domain.response_event(ts_us, response))
        (persisted,) = _of(effects, PersistResponse)
        assert persisted.outcome is ResponseOutcome.INVALID
        assert _of(effects, RaiseAlarm)
        assert not _of(effects, SendVerdict)
    assert run.mediator.pending_requests == (REQUEST_TS_US,)


def test_garbage_and_unknown_requests_raise_alarms_but_nothing_breaks() -> None:
    run = Run()
    domain = run.domain
    effects = run.feed(domain.event(REQUEST_TS_US - 5, [domain.to_mediator(b"MCPM\x01\x03junk")]))
    assert [e.code for e in _of(effects, RaiseAlarm)] == ["MALFORMED_PROTOCOL_MESSAGE"]
    assert run.feed(domain.event(REQUEST_TS_US - 4, [domain.to_mediator(b"not ours")])) == []
    stray = run.responses("alice", request_ts_us=REQUEST_TS_US - 3)
    effects = run.feed(domain.response_event(REQUEST_TS_US - 2, stray[0]))
    assert _of(effects, PersistResponse)[0].outcome is ResponseOutcome.INVALID
    assert _of(effects, RaiseAlarm)[0].code == "MEDIATOR_UNKNOWN_REQUEST"


def test_an_event_fed_twice_changes_nothing() -> None:
    run = Run()
    run.request()
    event = run.domain.response_event(REQUEST_TS_US + 1, *run.responses("alice"))
    assert run.feed(event)
    assert run.feed(event) == []


def _scenario(run: Run) -> list[list[Effect]]:
    """Two overlapping requests: the first approved, the second timing out."""
    second_tree = run.domain.swap_tree(salt=2)
    second = InformeeMessage.create(second_tree, run.domain.p("alice"))
    out = [run.request()]
    out.append(run.feed(run.domain.request_event(REQUEST_TS_US + 50, second_tree)))
    for i, hint in enumerate(("alice", "bob", "bank", "sr")):
        out.append(run.respond(REQUEST_TS_US + 100 + i, hint))
    alice_second = [
        run.domain.response("alice", REQUEST_TS_US + 50, second, v.view_hash, ["alice"])
        for v in second.views if run.domain.parties["alice"] in v.parameters.confirmers
    ]
    out.append(run.feed(run.domain.response_event(REQUEST_TS_US + 200, *alice_second)))
    out.append(run.feed(run.domain.time_proof(DEADLINE_US + 50)))
    out.append(run.respond(DEADLINE_US + 60, "bob"))
    return out


def test_replaying_the_same_events_after_a_restart_gives_the_same_effects() -> None:
    original = Run()
    effects = _scenario(original)
    assert _verdict(effects[5]).result.verdict == Approve()
    assert isinstance(_verdict(effects[7]).result.verdict, Timeout)
    for crash_after in range(len(original.events)):
        restarted = Mediator(original.domain.mediator.id, original.domain.mediator.key)
        for event in original.events[:crash_after]:  # rebuilt from the stored events
            restarted.handle_event(event, original.domain.snapshot(event.timestamp_us))
        for index, event in enumerate(original.events[crash_after:], start=crash_after):
            replayed = restarted.handle_event(event, original.domain.snapshot(event.timestamp_us))
            assert replayed == effects[index]


def test_verdict_bytes_are_identical_on_replay_so_the_sequencer_can_deduplicate() -> None:
    first, second = Run(), Run()
    a, b = _scenario(first), _scenario(second)
    sends_a = [s.batch() for e in a for s in _of(e, SendVerdict)]
    sends_b = [s.batch() for e in b for s in _of(e, SendVerdict)]
    assert sends_a == sends_b and len(sends_a) == 2
    assert decode_protocol_message(sends_a[0].envelopes[0].content) == \
        _of(a[5], SendVerdict)[0].deliveries[0].result


def test_a_decided_request_is_forgotten_after_its_decision_time() -> None:
    run = Run()
    run.request()
    run.feed(run.domain.time_proof(DEADLINE_US))  # times out
    within = run.respond(DECISION_US, "sr")
    assert {e.outcome for e in _of(within, PersistResponse)} == {ResponseOutcome.AFTER_DECISION}
    after = run.respond(DECISION_US + 1, "bob")
    assert {e.outcome for e in _of(after, PersistResponse)} == {ResponseOutcome.INVALID}


def _is_duplicate(effects: Sequence[Effect]) -> bool:
    """Whether the request these effects start was rejected at once as a duplicate."""
    request_ts_us = _of(effects, PersistRequest)[0].request_ts_us
    verdicts = [s.result.verdict for s in _of(effects, SendVerdict)
                if s.result.request_ts_us == request_ts_us]
    return bool(verdicts) and isinstance(verdicts[0], Reject) and [
        r.code for r in verdicts[0].reasons] == [MediatorRejectCode.DUPLICATE_REQUEST.value]


def test_a_replay_after_the_decision_time_is_still_a_duplicate() -> None:
    """The replay sequenced after the original's decision time could still pass the
    participants' ledger time check: only the mediator's memory of the root hash refuses it
    when the transaction creates and archives nothing."""
    run = Run()
    run.request()
    run.feed(run.domain.time_proof(DEADLINE_US))
    assert _is_duplicate(run.request(DECISION_US + 2))
    assert run.mediator.pending_requests == ()


def test_the_root_hash_is_remembered_through_twice_the_ledger_time_tolerance() -> None:
    assert DECISION_US < WINDOW_END_US  # the tolerance, not the decision time, bounds it
    last = Run()
    last.request()
    assert _is_duplicate(last.request(WINDOW_END_US))
    after = Run()
    after.request()
    # one microsecond later a replay fails every participant's ledger time check instead
    again = after.request(WINDOW_END_US + 1)
    assert not _is_duplicate(again)
    assert after.mediator.pending_requests == (WINDOW_END_US + 1,)


def test_the_window_follows_the_tolerance_in_force_at_the_request() -> None:
    run = Run()
    changed_us = REQUEST_TS_US + 1
    run.domain.submit(DomainParametersState(DomainParameters(
        confirmation_response_timeout_us=RESPONSE_TIMEOUT_US,
        mediator_reaction_timeout_us=REACTION_TIMEOUT_US,
        ledger_time_record_time_tolerance_us=10 * TOLERANCE_US)), at_us=changed_us)
    run.request()  # under the genesis tolerance, although a larger one is in force later
    run.feed(run.domain.time_proof(changed_us + 1_000_000))
    again = run.request(WINDOW_END_US + 1)
    assert not _is_duplicate(again) and run.mediator.pending_requests == (WINDOW_END_US + 1,)


def test_a_mediator_rebuilt_from_replay_start_still_knows_a_decided_request() -> None:
    """A restart after the original's decision time: the stored events are replayed from
    `replay_start_us`, not only from the oldest undecided request (there is none)."""
    run = Run()
    run.request()
    for i, hint in enumerate(("alice", "bob", "bank", "sr")):
        run.respond(REQUEST_TS_US + 10 + i, hint)
    run.feed(run.domain.time_proof(DECISION_US + 5))
    clean_us = run.events[-1].timestamp_us
    start_us = replay_start_us(clean_us, None, parameters_ever(run.domain.state))
    assert start_us <= REQUEST_TS_US
    restarted = Mediator(run.domain.mediator.id, run.domain.mediator.key)
    for event in run.events:
        if event.timestamp_us >= start_us:
            restarted.handle_event(event, run.domain.snapshot(event.timestamp_us))
    restarted.skip_to(clean_us)
    replay = run.domain.request_event(DECISION_US + 10, run.tree)
    assert _is_duplicate(restarted.handle_event(replay, run.domain.snapshot(DECISION_US + 10)))


def test_many_requests_in_flight_time_out_in_deadline_order() -> None:
    run = Run()
    trees = [run.domain.swap_tree(salt=s) for s in range(10, 40)]
    for i, tree in enumerate(trees):
        run.feed(run.domain.request_event(REQUEST_TS_US + i, tree))
    assert run.mediator.next_deadline_us() == DEADLINE_US
    effects = run.feed(run.domain.time_proof(DEADLINE_US + 9))
    decided = [s.result.request_ts_us for s in _of(effects, SendVerdict)]
    assert decided == [REQUEST_TS_US + i for i in range(10)]
    assert run.mediator.next_deadline_us() == DEADLINE_US + 10


def test_a_submitter_cannot_approve_others_views_alone_by_lowering_thresholds() -> None:
    # Review finding 5: every view rigged to confirmers + {alice}, threshold 1.
    run = Run()
    run.tree = rigged(run.tree, with_confirmer(run.domain.parties["alice"], threshold=1))
    run.informee = InformeeMessage.create(run.tree, run.domain.p("alice"))
    effects = run.request()
    verdict = _verdict(effects).result.verdict
    assert isinstance(verdict, Reject)
    assert {r.code for r in verdict.reasons} == {MediatorRejectCode.MALFORMED_REQUEST.value}
    assert len(verdict.reasons) == len(run.informee.views)
    alone = run.respond(REQUEST_TS_US + 10, "alice")
    assert {e.outcome for e in _of(alone, PersistResponse)} == {ResponseOutcome.AFTER_DECISION}
    assert not _of(alone, SendVerdict)


def test_the_verdict_goes_to_the_authenticated_sender_not_to_a_claimed_submitter() -> None:
    # Review finding 15: `submitting_participant` is a free field of the informee message.
    run = Run()
    run.domain.participants["eve"] = run.domain.onboard("eve")  # hosts no informee
    forged = run.domain.request_event(REQUEST_TS_US, run.tree, submitter="eve", sender="alice")
    send = _verdict(run.feed(forged))
    assert run.domain.p("eve") not in send.recipients
    verdict = send.result.verdict
    assert isinstance(verdict, Reject)
    assert [r.code for r in verdict.reasons] == [MediatorRejectCode.MALFORMED_REQUEST.value]
    assert "sent by" in verdict.reasons[0].message


def test_a_submitter_hosting_no_informee_still_gets_the_verdict() -> None:
    run = Run()
    run.domain.participants["carol"] = run.domain.onboard("carol")
    run.feed(run.domain.request_event(REQUEST_TS_US, run.tree, submitter="carol"))
    run.informee = InformeeMessage.create(run.tree, run.domain.p("carol"))
    for i, hint in enumerate(("alice", "bob", "bank", "sr")):
        effects = run.respond(REQUEST_TS_US + 10 + i, hint)
    send = _verdict(effects)
    assert send.result.verdict == Approve()
    assert run.domain.p("carol") in send.recipients


# --- what each recipient learns (review finding 1) -------------------------------------------

INACTIVE = LocalReject("LOCAL_VERDICT_INACTIVE_CONTRACTS", "inactive: share-cid-123")


def _copies(run: Run, send: SendVerdict) -> dict[str, tuple[MediatorResult, bytes]]:
    """Each participant's copy as delivered: its result and the bytes of its envelope."""
    by_participant = {run.domain.p(h): h for h in run.domain.participants}
    copies = {}
    for envelope in send.batch().envelopes:
        (recipient,) = envelope.recipients  # addressed to one participant alone
        assert isinstance(recipient, MemberRecipient)
        result = decode_protocol_message(envelope.content)
        assert isinstance(result, MediatorResult)
        result.verify(run.domain.mediator.key.public)
        copies[by_participant[ParticipantId(recipient.member)]] = (result, envelope.content)
    return copies


def _names(run: Run, payload: bytes) -> set[str]:
    """The participants and parties whose ids appear in `payload`."""
    ids = {**{h: run.domain.p(h) for h in run.domain.participants},
           **{f"party:{h}": p for h, p in run.domain.parties.items()}}
    return {name for name, value in ids.items() if value.encode() in payload}


def test_a_rejection_reaches_other_informees_without_naming_participants_or_texts() -> None:
    run = Run()
    run.request()
    copies = _copies(run, _verdict(run.respond(REQUEST_TS_US + 10, "sr", INACTIVE)))
    assert set(copies) == {"alice", "bob", "bank", "sr"}
    bank, bank_bytes = copies["bank"]
    assert isinstance(bank.verdict, Reject)
    assert [(r.code, r.participant, r.view_hash) for r in bank.verdict.reasons] == [
        (INACTIVE.code, None, None)]  # SR rejected the Share views, which Bank never saw
    assert b"share-cid-123" not in bank_bytes
    assert _names(run, bank_bytes) == set()
    bob, bob_bytes = copies["bob"]  # Bob saw the Share views: their hashes and SR
    assert isinstance(bob.verdict, Reject)
    assert {r.parties for r in bob.verdict.reasons} == {frozenset({run.domain.parties["sr"]})}
    assert all(r.view_hash is not None and r.participant is None for r in bob.verdict.reasons)
    assert _names(run, bob_bytes) == {"party:sr"} and b"share-cid-123" not in bob_bytes
    sr, _ = copies["sr"]  # its own rejection, as it wrote it
    assert isinstance(sr.verdict, Reject)
    assert {(r.participant, r.message) for r in sr.verdict.reasons} == {
        (run.domain.p("sr"), INACTIVE.message)}
    alice, _ = copies["alice"]  # the submitter: the full verdict
    assert isinstance(alice.verdict, Reject)
    assert {(r.participant, r.message) for r in alice.verdict.reasons} == {
        (run.domain.p("sr"), INACTIVE.message)}


def test_a_timeout_names_the_silent_participants_to_the_submitter_only() -> None:
    run = Run()
    run.request()
    run.respond(REQUEST_TS_US + 10, "alice")
    send = _verdict(run.feed(run.domain.time_proof(DEADLINE_US)))
    copies = _copies(run, send)
    alice, _ = copies["alice"]
    assert isinstance(alice.verdict, Timeout)
    assert alice == send.result  # the submitter's copy is the full, audited verdict
    assert [u.participant for u in alice.verdict.unresponsive] == sorted(
        run.domain.p(h) for h in ("bob", "bank", "sr"))
    bank, bank_bytes = copies["bank"]
    assert bank.verdict == Timeout((), frozenset({run.domain.parties["bank"],
                                                  run.domain.parties["bob"]}))
    assert _names(run, bank_bytes) == {"party:bank", "party:bob"}  # both in Bank's Iou views
    sr, sr_bytes = copies["sr"]
    assert isinstance(sr.verdict, Timeout) and sr.verdict.unresponsive == ()
    assert run.domain.p("bank").encode() not in sr_bytes
    assert run.domain.parties["bank"].encode() not in sr_bytes


def test_an_approval_is_the_same_for_everyone() -> None:
    run = Run()
    run.request()
    for i, hint in enumerate(("alice", "bob", "bank", "sr")):
        effects = run.respond(REQUEST_TS_US + 10 + i, hint)
    send = _verdict(effects)
    assert {d.result for d in send.deliveries} == {send.result}
