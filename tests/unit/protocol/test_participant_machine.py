"""The participant machine on its own: fed the events a participant was delivered, it is
deterministic, idempotent on replay, persists before it sends, asks for time proofs at its
deadlines, and rebuilds a pending request (and its responses) from what it persisted."""

from __future__ import annotations

import pytest
from tests.sim.dvp_flow import DvpContracts, setup_until_dvp, swap
from tests.sim.harness import SimNetwork

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
