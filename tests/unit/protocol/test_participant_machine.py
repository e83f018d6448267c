"""The participant machine on its own: fed the events a participant was delivered, it is
deterministic, idempotent on replay, persists before it sends, asks for time proofs at its
deadlines, rebuilds a pending request (and its responses) from what it persisted, and
rejects a replayed request (a duplicate within twice the ledger time tolerance, a ledger
time out of bound after it), restarted or not."""

from __future__ import annotations

from dataclasses import replace

import pytest
from tests.sim.dvp_flow import DvpContracts, setup_until_dvp, swap
from tests.sim.harness import SimNetwork

from minicanton.core.ids import MemberId
from minicanton.core.protocol.message_codec import decode_protocol_message
from minicanton.core.protocol.messages import ConfirmationResponse, LocalReject
from minicanton.core.protocol.participant import ParticipantConfig, ParticipantMachine
from minicanton.core.protocol.participant_effects import (
    PERSISTED,
    Effect,
    PendingPayload,
    PersistCommit,
    PersistPendingRequest,
    RequestTimeProof,
    SendBatch,
    decode_pending_payload,
    encode_pending_payload,
)
from minicanton.core.protocol.participant_outcomes import DUPLICATE_REQUEST
from minicanton.core.protocol.replay_protection import parameters_ever, remembered_since_us
from minicanton.core.protocol.validation import LEDGER_TIME
from minicanton.core.sequencing.batch import GroupRecipient, MemberRecipient, RecipientGroup
from minicanton.core.sequencing.events import SequencedEvent


@pytest.fixture(scope="module")
def swapped() -> tuple[SimNetwork, DvpContracts]:
    net = SimNetwork()
    contracts = setup_until_dvp(net)
    swap(net, contracts)
    net.run()
    return net, contracts


def fresh(net: SimNetwork, name: str) -> ParticipantMachine:
    config = ParticipantConfig(net.machine(name).config.identity, complete_acs=True)
    return ParticipantMachine(config, net.domain.registry)


def replay(net: SimNetwork, name: str, machine: ParticipantMachine,
           events: list[SequencedEvent] | None = None) -> list[list[Effect]]:
    return [machine.handle_event(e, net.domain.snapshot(e.timestamp_us))
            for e in (net.delivered[name] if events is None else events)]


def test_the_same_events_give_the_same_effects(swapped) -> None:
    net, _ = swapped
    first, second = replay(net, "bank", fresh(net, "bank")), replay(net, "bank", fresh(net, "bank"))
    assert first == second
    commits = [e for effects in first for e in effects if isinstance(e, PersistCommit)]
    assert [c.transaction_id for c in commits] == [
        e.transaction_id for e in net.store("bank").transactions]


def test_an_event_handled_again_changes_nothing(swapped) -> None:
    net, _ = swapped
    machine = fresh(net, "bank")
    replay(net, "bank", machine)
    assert replay(net, "bank", machine) == [[] for _ in net.delivered["bank"]]


def test_effects_persist_before_they_send(swapped) -> None:
    net, _ = swapped
    for effects in replay(net, "alice", fresh(net, "alice")):
        kinds = [isinstance(e, PERSISTED) for e in effects]
        assert kinds == sorted(kinds, reverse=True)


def test_a_pending_request_is_rebuilt_from_its_payload_with_the_same_responses(swapped) -> None:
    net, contracts = swapped
    events = net.delivered["bank"]
    request_index = next(i for i, e in enumerate(events)
                         if e.timestamp_us == net.request_ts(net.submitted[-1]))
    machine = fresh(net, "bank")
    effects = replay(net, "bank", machine, events[: request_index + 1])[-1]
    (pending,) = [e for e in effects if isinstance(e, PersistPendingRequest)]
    (responses,) = [e for e in effects if isinstance(e, SendBatch)]

    restarted = ParticipantMachine(machine.config, net.domain.registry,
                                   last_event_ts_us=events[request_index].timestamp_us)
    resent = restarted.restore([], [(pending.locks, pending.payload)], net.domain.snapshot)
    assert resent == [responses]
    assert restarted.conflict_detector.lock_holders(contracts.iou) == (pending.locks.request_id,)
    assert restarted.pending_requests() == (events[request_index].timestamp_us,)


def test_pending_payloads_round_trip(swapped) -> None:
    payload = PendingPayload((b"view-1", b""), (b"root",), None)
    assert decode_pending_payload(encode_pending_payload(payload)) == payload
    with_recipients = PendingPayload((b"view-1",), (b"root",), None, (
        (GroupRecipient(RecipientGroup.ALL_MEMBERS), MemberRecipient(MemberId("PAR::a::1220ab"))),))
    assert decode_pending_payload(encode_pending_payload(with_recipients)) == with_recipients


def test_a_payload_kept_before_recipients_were_still_decodes_without_them() -> None:
    version_1 = b"\x01" + (1).to_bytes(4, "big") + (6).to_bytes(4, "big") + b"view-1" + \
        (1).to_bytes(4, "big") + (4).to_bytes(4, "big") + b"root" + b"\x00"
    assert decode_pending_payload(version_1) == PendingPayload((b"view-1",), (b"root",), None)


def test_a_quiet_domain_gets_a_time_proof_request_once_a_deadline_passed(swapped) -> None:
    net, _ = swapped
    events = net.delivered["bank"]
    machine = fresh(net, "bank")
    replay(net, "bank", machine, events[: next(
        i for i, e in enumerate(events) if e.timestamp_us == net.request_ts(net.submitted[-1]))
        + 1])
    deadline = machine.next_deadline_us()
    assert deadline is not None
    assert machine.handle_timer(deadline) == []
    assert machine.handle_timer(deadline + 1) == [RequestTimeProof(deadline)]


# --- replay protection ---------------------------------------------------------------------

def _until_request(net: SimNetwork, name: str) -> tuple[list[SequencedEvent], SequencedEvent]:
    """`name`'s events, all handled, and the swap's request among them."""
    events = net.delivered[name]
    (request,) = [e for e in events if e.timestamp_us == net.request_ts(net.submitted[-1])]
    return events, request


def _replayed(events: list[SequencedEvent], request: SequencedEvent,
              ts_us: int) -> SequencedEvent:
    """The request's batch sequenced again at `ts_us` (under a fresh message id)."""
    return replace(request, counter=events[-1].counter + 1, timestamp_us=ts_us,
                   previous_timestamp_us=events[-1].timestamp_us)


def _local_codes(effects: list[Effect]) -> set[str]:
    codes = set()
    for send in (e for e in effects if isinstance(e, SendBatch)):
        for envelope in send.batch.envelopes:
            message = decode_protocol_message(envelope.content)
            if isinstance(message, ConfirmationResponse):
                verdict = message.local_verdict
                codes.add(verdict.code if isinstance(verdict, LocalReject) else "APPROVE")
    return codes


def _window_end_us(net: SimNetwork, request: SequencedEvent) -> int:
    parameters = net.domain.snapshot(request.timestamp_us).parameters
    return request.timestamp_us + 2 * parameters.ledger_time_record_time_tolerance_us


def _last_passing_ledger_time_us(net: SimNetwork) -> int:
    """The latest record time at which a replay still passes the ledger time check."""
    parameters = net.domain.snapshot(net.clock_us).parameters
    return net.submitted[-1].result.ledger_time_us + parameters.ledger_time_record_time_tolerance_us


def test_a_replay_after_the_decision_time_that_passes_the_ledger_time_check_is_a_duplicate(
        swapped) -> None:
    net, _ = swapped
    events, request = _until_request(net, "bank")
    decision_us = net.domain.snapshot(request.timestamp_us).parameters.decision_deadline_us(
        request.timestamp_us)
    for ts_us in (decision_us + 1, _last_passing_ledger_time_us(net)):
        assert decision_us < ts_us <= _window_end_us(net, request)
        machine = fresh(net, "bank")
        replay(net, "bank", machine)
        effects = machine.handle_event(_replayed(events, request, ts_us),
                                       net.domain.snapshot(ts_us))
        assert _local_codes(effects) == {DUPLICATE_REQUEST}
        assert not [e for e in effects if isinstance(e, PersistCommit)]


def test_a_replay_past_the_window_fails_the_ledger_time_check_at_its_own_record_time(
        swapped) -> None:
    net, _ = swapped
    events, request = _until_request(net, "bank")
    machine = fresh(net, "bank")
    replay(net, "bank", machine)
    ts_us = _window_end_us(net, request) + 1
    effects = machine.handle_event(_replayed(events, request, ts_us), net.domain.snapshot(ts_us))
    assert _local_codes(effects) == {LEDGER_TIME}


def test_a_restarted_participant_remembers_the_transactions_it_committed_in_the_window(
        swapped) -> None:
    net, _ = swapped
    events, request = _until_request(net, "bank")
    clean_us = events[-1].timestamp_us
    since_us = remembered_since_us(clean_us, parameters_ever(net.domain.state))
    committed = [(e.transaction_id, e.commit.record_time_us)
                 for e in net.store("bank").transactions if e.commit.record_time_us >= since_us]
    assert request.timestamp_us >= since_us and committed
    restarted = ParticipantMachine(fresh(net, "bank").config, net.domain.registry,
                                   last_event_ts_us=clean_us)
    restarted.restore([], [], net.domain.snapshot, recent_transactions=committed)
    ts_us = _last_passing_ledger_time_us(net)  # past its decision time
    effects = restarted.handle_event(_replayed(events, request, ts_us),
                                     net.domain.snapshot(ts_us))
    assert _local_codes(effects) == {DUPLICATE_REQUEST}
