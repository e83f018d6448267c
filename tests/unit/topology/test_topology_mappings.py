"""Mappings refuse malformed facts with `InvalidTopologyMapping` and normalise set-like
fields so that equal facts are equal values."""

from __future__ import annotations

import pytest
from topology_helpers import Domain

from minicanton.core.ids import MemberId, MemberKind, PackageId, ParticipantId, PartyId, party_id
from minicanton.core.topology.errors import InvalidTopologyMapping
from minicanton.core.topology.mappings import (
    HostingParticipant,
    MappingCode,
    MediatorDomainState,
    NamespaceDelegation,
    OwnerToKeyMapping,
    ParticipantPermission,
    ParticipantState,
    PartyToParticipant,
    SequencerDomainState,
    VettedPackages,
)

D = Domain(seed=3)
P1 = D.member(MemberKind.PARTICIPANT, "p1")
P2 = D.member(MemberKind.PARTICIPANT, "p2")
MED = D.member(MemberKind.MEDIATOR, "med")
ALICE = party_id("alice", D.namespace)


def _pid(member_id: MemberId) -> ParticipantId:
    return ParticipantId(member_id)


def test_party_hosting_is_sorted_and_keyed_by_party() -> None:
    a = PartyToParticipant(ALICE, (
        HostingParticipant(_pid(P2.id), ParticipantPermission.OBSERVATION),
        HostingParticipant(_pid(P1.id), ParticipantPermission.SUBMISSION),
    ))
    b = PartyToParticipant(ALICE, tuple(reversed(a.participants)))
    assert a == b
    assert a.key.code is MappingCode.PARTY_TO_PARTICIPANT and a.key.identifier == ALICE


def test_permissions_are_ordered() -> None:
    assert ParticipantPermission.SUBMISSION.can_confirm
    assert ParticipantPermission.CONFIRMATION.can_confirm
    assert not ParticipantPermission.CONFIRMATION.can_submit
    assert not ParticipantPermission.OBSERVATION.can_confirm
    assert min(ParticipantPermission.SUBMISSION, ParticipantPermission.OBSERVATION) is (
        ParticipantPermission.OBSERVATION
    )


@pytest.mark.parametrize(
    "build",
    [
        lambda: PartyToParticipant(ALICE, ()),
        lambda: PartyToParticipant(PartyId("no-namespace"), (
            HostingParticipant(_pid(P1.id), ParticipantPermission.SUBMISSION),)),
        lambda: PartyToParticipant(ALICE, (
            HostingParticipant(_pid(P1.id), ParticipantPermission.SUBMISSION),
            HostingParticipant(_pid(P1.id), ParticipantPermission.OBSERVATION))),
        lambda: HostingParticipant(_pid(MED.id), ParticipantPermission.SUBMISSION),
        lambda: ParticipantState(_pid(MED.id)),
        lambda: MediatorDomainState(frozenset({P1.id})),
        lambda: MediatorDomainState(frozenset()),
        lambda: SequencerDomainState(frozenset({MED.id})),
        lambda: OwnerToKeyMapping(P1.id, (), (P1.encryption.public,)),
        lambda: OwnerToKeyMapping(P1.id, (P1.key.public,), ()),
        lambda: OwnerToKeyMapping(P1.id, (P1.key.public, P1.key.public), (P1.encryption.public,)),
        lambda: OwnerToKeyMapping(MemberId("XYZ::a::1234abcd"), (P1.key.public,)),
        lambda: VettedPackages(_pid(P1.id), frozenset({PackageId("bad id!")})),
        lambda: NamespaceDelegation(D.namespace, D.root.public, False),
        lambda: NamespaceDelegation(D.root.fingerprint[:-1], P1.key.public, False),
    ],
)
def test_malformed_mappings_are_refused(build: object) -> None:
    with pytest.raises(InvalidTopologyMapping):
        build()  # type: ignore[operator]


def test_mediators_need_no_encryption_key() -> None:
    mapping = OwnerToKeyMapping(MED.id, (MED.key.public,))
    assert mapping.encryption_keys == ()
