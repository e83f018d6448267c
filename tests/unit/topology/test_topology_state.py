"""Effective times, the delay changing itself, validity ranges, replay and restore."""

from __future__ import annotations

import pytest
from topology_helpers import DELAY_US, T0_US, Domain

from minicanton.core.ids import MemberKind, ParticipantId, party_id
from minicanton.core.topology.errors import (
    TopologyMappingNotFound,
    TopologyOutOfOrder,
    TopologySerialMismatch,
)
from minicanton.core.topology.mappings import (
    DomainParametersState,
    HostingParticipant,
    MediatorDomainState,
    ParticipantPermission,
    PartyToParticipant,
)
from minicanton.core.topology.parameters import DomainParameters
from minicanton.core.topology.state import TopologyState
from minicanton.core.topology.transactions import TopologyChangeOp, TopologyTransaction

SUBMISSION = ParticipantPermission.SUBMISSION


def _alice_on(domain: Domain, participant: ParticipantId) -> PartyToParticipant:
    alice = party_id("alice", domain.namespace)
    return PartyToParticipant(alice, (HostingParticipant(participant, SUBMISSION),))


def test_bootstrap_in_one_batch_is_effective_after_the_delay() -> None:
    domain = Domain()
    stored = domain.bootstrap(T0_US)
    mediator = domain.member(MemberKind.MEDIATOR, "med")
    domain.submit(domain.key_mapping(mediator), T0_US, mediator.key)
    domain.submit(MediatorDomainState(frozenset({mediator.id})), T0_US)
    assert stored.valid_from_us == T0_US + DELAY_US
    assert domain.state.snapshot(T0_US + DELAY_US - 1).mediators() == frozenset()
    assert domain.state.snapshot(T0_US + DELAY_US).mediators() == {mediator.id}


def test_party_mapping_is_visible_exactly_from_sequencing_time_plus_delay() -> None:
    domain = Domain()
    domain.bootstrap(T0_US)
    p1 = domain.onboard("p1", T0_US + 1)
    sequenced_us = T0_US + 1_000_000
    stored = domain.submit(_alice_on(domain, ParticipantId(p1.id)), sequenced_us)
    alice = party_id("alice", domain.namespace)
    effective_us = sequenced_us + DELAY_US
    assert stored.valid_from_us == effective_us
    for t_us in (sequenced_us, effective_us - 1):
        assert domain.state.snapshot(t_us).hosting_participants(alice) == {}
    assert domain.state.snapshot(effective_us).hosting_participants(alice) == {p1.id: SUBMISSION}


def test_a_delay_change_applies_from_its_own_effective_time() -> None:
    domain = Domain()
    domain.bootstrap(T0_US)
    new_delay_us = 10_000
    change_us = T0_US + 1_000_000
    change = domain.submit(
        DomainParametersState(DomainParameters(topology_change_delay_us=new_delay_us)), change_us
    )
    assert change.valid_from_us == change_us + DELAY_US  # the old delay carries the change
    mediator = domain.member(MemberKind.MEDIATOR, "m")
    before = domain.submit(domain.key_mapping(mediator), change_us + 100_000, mediator.key)
    assert before.valid_from_us == change_us + 100_000 + DELAY_US  # still the old delay
    after_us = change_us + 400_000  # the new delay is in force at this sequencing time
    after = domain.submit(MediatorDomainState(frozenset({mediator.id})), after_us)
    assert after.valid_from_us == after_us + new_delay_us
    assert domain.state.snapshot(change.valid_from_us - 1).parameters.topology_change_delay_us == (
        DELAY_US
    )
    assert domain.state.snapshot(change.valid_from_us).parameters.topology_change_delay_us == (
        new_delay_us
    )


def test_effective_times_never_run_backwards_when_the_delay_shrinks() -> None:
    domain = Domain()
    domain.bootstrap(T0_US)
    shrink = domain.submit(
        DomainParametersState(DomainParameters(topology_change_delay_us=1_000)), T0_US + 10
    )
    slow = domain.submit(DomainParametersState(DomainParameters()), shrink.valid_from_us - 1)
    fast = domain.submit(
        MediatorDomainState(frozenset({domain.member(MemberKind.MEDIATOR, "m").id})),
        shrink.valid_from_us,
    )
    # The delay back to 250 ms was sequenced under the old delay: effective far later than
    # `fast` would be with 1 ms; `fast` must not overtake it.
    assert fast.valid_from_us == slow.valid_from_us
    times = [s.valid_from_us for s in domain.state.transactions()]
    assert times == sorted(times)


def test_validity_ranges_are_half_open_and_chain_per_key() -> None:
    domain = Domain()
    domain.bootstrap(T0_US)
    first = domain.submit(DomainParametersState(DomainParameters(max_request_size_bytes=2048)),
                          T0_US + 5)
    second = domain.submit(DomainParametersState(DomainParameters(max_request_size_bytes=4096)),
                           T0_US + 500_000)
    history = domain.state.history(first.transaction.key)
    assert [(h.valid_from_us, h.valid_until_us) for h in history] == [
        (first.valid_from_us, second.valid_from_us), (second.valid_from_us, None)
    ]
    snap = domain.state.snapshot
    assert snap(second.valid_from_us - 1).parameters.max_request_size_bytes == 2048
    assert snap(second.valid_from_us).parameters.max_request_size_bytes == 4096
    assert snap(first.valid_from_us - 1).parameters == domain.genesis


def test_replaying_an_accepted_transaction_is_a_no_op() -> None:
    domain = Domain()
    domain.bootstrap(T0_US)
    p1 = domain.onboard("p1", T0_US + 1)
    signed = domain.signed(_alice_on(domain, ParticipantId(p1.id)))
    first = domain.state.accept(signed, T0_US + 2)
    count = len(domain.state)
    again = domain.state.accept(signed, T0_US + 3)
    resigned = domain.state.accept(signed.transaction.sign(domain.root), T0_US + 4)
    assert first.newly_accepted and not again.newly_accepted and not resigned.newly_accepted
    assert again.stored == first.stored == resigned.stored
    assert len(domain.state) == count
    assert domain.state.next_serial(signed.transaction.key) == 2


def test_restore_rebuilds_the_same_state_and_tolerates_redelivery() -> None:
    domain = Domain()
    domain.bootstrap(T0_US)
    p1 = domain.onboard("p1", T0_US + 1)
    domain.submit(_alice_on(domain, ParticipantId(p1.id)), T0_US + 2)
    rows = [(s.signed, s.sequenced_us) for s in domain.state.transactions()]
    restored = TopologyState.restore(domain.namespace, rows, domain.genesis)
    assert restored.transactions() == domain.state.transactions()
    for signed, sequenced_us in rows:  # the sequencer redelivers after the restart
        assert not restored.accept(signed, sequenced_us).newly_accepted
    t_us = T0_US + 2 + DELAY_US
    alice = party_id("alice", domain.namespace)
    assert restored.snapshot(t_us).hosting_participants(alice) == {p1.id: SUBMISSION}


def test_rejections_leave_the_state_untouched() -> None:
    domain = Domain()
    domain.bootstrap(T0_US)
    mediators = MediatorDomainState(frozenset({domain.member(MemberKind.MEDIATOR, "m").id}))
    before = domain.state.transactions()
    wrong_serial = TopologyTransaction(TopologyChangeOp.REPLACE, 2, mediators).sign(domain.root)
    with pytest.raises(TopologySerialMismatch):
        domain.state.accept(wrong_serial, T0_US + 1)
    with pytest.raises(TopologyMappingNotFound):
        domain.state.accept(domain.signed(mediators, op=TopologyChangeOp.REMOVE), T0_US + 1)
    with pytest.raises(TopologyOutOfOrder):
        domain.state.accept(domain.signed(mediators), T0_US - 1)
    assert domain.state.transactions() == before
    assert domain.state.next_serial(mediators.key) == 1


def test_remove_then_replace_continues_the_serials() -> None:
    domain = Domain()
    domain.bootstrap(T0_US)
    mediators = MediatorDomainState(frozenset({domain.member(MemberKind.MEDIATOR, "m").id}))
    added = domain.submit(mediators, T0_US + 1)
    removed = domain.submit(mediators, T0_US + 2, op=TopologyChangeOp.REMOVE)
    back = domain.submit(mediators, T0_US + 1_000_000)
    assert [s.transaction.serial for s in (added, removed, back)] == [1, 2, 3]
    snap = domain.state.snapshot
    assert snap(removed.valid_from_us).mediators() == frozenset()
    assert snap(back.valid_from_us).mediators() == mediators.mediators


def test_snapshots_are_stable_once_taken() -> None:
    domain = Domain()
    domain.bootstrap(T0_US)
    head_before = domain.state.head()
    far_future = domain.state.snapshot(T0_US + 10**12)
    mediators = MediatorDomainState(frozenset({domain.member(MemberKind.MEDIATOR, "m").id}))
    domain.submit(mediators, T0_US + 1)
    assert head_before.mediators() == far_future.mediators() == frozenset()
    assert domain.state.head().mediators() == mediators.mediators


def test_snapshot_known_until_accounts_for_scheduled_delay_changes() -> None:
    domain = Domain()
    domain.bootstrap(T0_US)
    assert domain.state.snapshot_known_until_us(T0_US) == T0_US + DELAY_US
    domain.submit(DomainParametersState(DomainParameters(topology_change_delay_us=5)), T0_US + 1)
    assert domain.state.snapshot_known_until_us(T0_US + 1) == T0_US + 1 + 5
