"""Party hosting, participant permissions, vetted packages and domain entities as of a time."""

from __future__ import annotations

from topology_helpers import DELAY_US, T0_US, Domain

from minicanton.core.ids import MemberKind, PackageId, ParticipantId, party_id
from minicanton.core.topology.mappings import (
    HostingParticipant,
    MediatorDomainState,
    ParticipantPermission,
    ParticipantState,
    PartyToParticipant,
    SequencerDomainState,
    TrustLevel,
    VettedPackages,
)
from minicanton.core.topology.transactions import TopologyChangeOp

SUBMISSION = ParticipantPermission.SUBMISSION
CONFIRMATION = ParticipantPermission.CONFIRMATION
OBSERVATION = ParticipantPermission.OBSERVATION
LATER_US = T0_US + 1_000_000


def test_a_party_on_several_participants_with_capped_permissions() -> None:
    domain = Domain()
    domain.bootstrap(T0_US)
    bank = ParticipantId(domain.onboard("bank", T0_US + 1).id)
    audit = ParticipantId(domain.onboard("audit", T0_US + 1, permission=OBSERVATION).id)
    alice = party_id("alice", domain.namespace)
    domain.submit(PartyToParticipant(alice, (HostingParticipant(bank, SUBMISSION),
                                             HostingParticipant(audit, CONFIRMATION))), LATER_US)
    snap = domain.state.snapshot(LATER_US + DELAY_US)
    # audit is admitted for observation only, so it cannot confirm for alice
    assert snap.hosting_participants(alice) == {bank: SUBMISSION, audit: OBSERVATION}
    assert snap.parties_hosted_by(bank) == {alice: SUBMISSION}
    assert snap.parties_hosted_by(audit) == {alice: OBSERVATION}
    assert snap.known_parties() == {alice}


def test_offboarding_a_participant_ends_its_hosting() -> None:
    domain = Domain()
    domain.bootstrap(T0_US)
    bank = ParticipantId(domain.onboard("bank", T0_US + 1).id)
    bob = party_id("bob", domain.namespace)
    domain.submit(PartyToParticipant(bob, (HostingParticipant(bank, SUBMISSION),)), T0_US + 2)
    removal = domain.submit(ParticipantState(bank), LATER_US, op=TopologyChangeOp.REMOVE)
    before = domain.state.snapshot(removal.valid_from_us - 1)
    after = domain.state.snapshot(removal.valid_from_us)
    assert before.hosting_participants(bob) == {bank: SUBMISSION}
    assert bank in before.participants()
    assert after.hosting_participants(bob) == {}
    assert after.parties_hosted_by(bank) == {}
    assert bank not in after.participants()
    assert after.participant_attributes(bank) is None


def test_moving_a_party_changes_who_hosts_it() -> None:
    domain = Domain()
    domain.bootstrap(T0_US)
    p1 = ParticipantId(domain.onboard("p1", T0_US + 1).id)
    p2 = ParticipantId(domain.onboard("p2", T0_US + 1, trust=TrustLevel.VIP).id)
    carol = party_id("carol", domain.namespace)
    domain.submit(PartyToParticipant(carol, (HostingParticipant(p1, SUBMISSION),)), T0_US + 2)
    move = domain.submit(PartyToParticipant(carol, (HostingParticipant(p2, SUBMISSION),)),
                         LATER_US)
    after = domain.state.snapshot(move.valid_from_us)
    assert after.parties_hosted_by(p1) == {}
    assert after.parties_hosted_by(p2) == {carol: SUBMISSION}
    assert after.is_vip(p2) and not after.is_vip(p1)


def test_vetted_packages_mediators_and_sequencers() -> None:
    domain = Domain()
    domain.bootstrap(T0_US)
    p1 = ParticipantId(domain.onboard("p1", T0_US + 1).id)
    package = PackageId("ab" * 32)
    mediator = domain.member(MemberKind.MEDIATOR, "m")
    sequencer = domain.member(MemberKind.SEQUENCER, "s")
    domain.submit(VettedPackages(p1, frozenset({package})), LATER_US)
    domain.submit(MediatorDomainState(frozenset({mediator.id})), LATER_US)
    domain.submit(SequencerDomainState(frozenset({sequencer.id})), LATER_US)
    before = domain.state.snapshot(LATER_US + DELAY_US - 1)
    after = domain.state.snapshot(LATER_US + DELAY_US)
    assert before.vetted_packages(p1) == frozenset()
    assert after.vetted_packages(p1) == {package}
    assert (after.mediators(), after.sequencers()) == ({mediator.id}, {sequencer.id})
    assert set(after.namespace_delegations()) == {domain.namespace}
