"""The manager's change planning (pure): every plan is accepted by the core as members will
accept it, a plan for a state already accepted is empty, and who may ask for what holds."""

from __future__ import annotations

import pytest

from minicanton.core.crypto.encryption import EncryptionKeyPair
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.errors import InvalidArgument
from minicanton.core.ids import MemberId, MemberKind, ParticipantId, member_id, party_id
from minicanton.core.topology.errors import (
    AlreadyOnboarded,
    PartyAlreadyAllocated,
    PermissionDenied,
    UnknownKey,
    UnknownParticipant,
)
from minicanton.core.topology.mappings import HostingParticipant, ParticipantPermission
from minicanton.core.topology.parameters import DomainParameters
from minicanton.core.topology.planning import DomainKeys, Planner, genesis, initial_key_mapping
from minicanton.core.topology.state import TopologyState
from minicanton.core.topology.transactions import TopologyChangeOp
from minicanton.topology.sequencer_sync import DOMAIN_PARAMETERS, member_of

T_US = 1_700_000_000_000_000
SUBMISSION = ParticipantPermission.SUBMISSION


def _key(n: int) -> SigningKeyPair:
    return SigningKeyPair.from_private(bytes([n]) * 32)


class Domain:
    def __init__(self) -> None:
        namespace = _key(1)
        self.keys = DomainKeys(namespace, _key(2), MemberId(member_id(
            MemberKind.TOPOLOGY_MANAGER, "tm", namespace.fingerprint)))
        self.state = TopologyState(namespace.fingerprint)
        self.now_us = T_US
        self.mediator = MemberId(member_id(MemberKind.MEDIATOR, "m", _key(3).fingerprint))
        self.apply(genesis(self.keys, DomainParameters(),
                           [initial_key_mapping(self.mediator, [_key(3)])]))

    def apply(self, signed: tuple[object, ...]) -> None:
        self.now_us += 1_000_000
        for transaction in signed:
            self.state.accept(transaction, self.now_us)  # type: ignore[arg-type]

    @property
    def planner(self) -> Planner:
        return Planner(self.state, self.keys)

    def participant(self, n: int) -> tuple[ParticipantId, SigningKeyPair]:
        key = _key(n)
        pid = ParticipantId(member_id(MemberKind.PARTICIPANT, f"p{n}", key.fingerprint))
        encryption = EncryptionKeyPair.from_private(bytes([n + 100]) * 32).public
        self.apply(self.planner.onboarding(
            initial_key_mapping(MemberId(pid), [key], [encryption]), SUBMISSION))
        return pid, key


def test_genesis_is_accepted_and_names_the_domain_entities() -> None:
    domain = Domain()
    head = domain.state.head()
    assert head.mediators() == {domain.mediator}
    assert head.signing_keys(domain.keys.manager_id) == (domain.keys.manager.public,)
    with pytest.raises(InvalidArgument):
        genesis(domain.keys, DomainParameters(), [initial_key_mapping(
            MemberId(member_id(MemberKind.PARTICIPANT, "p", _key(9).fingerprint)), [_key(9)])])


def test_onboarding_is_idempotent_and_a_second_identity_is_refused() -> None:
    domain = Domain()
    pid, key = domain.participant(10)
    encryption = EncryptionKeyPair.from_private(bytes([110]) * 32).public
    assert domain.planner.onboarding(
        initial_key_mapping(MemberId(pid), [key], [encryption]), SUBMISSION) == ()
    with pytest.raises(AlreadyOnboarded):
        domain.planner.onboarding(initial_key_mapping(
            MemberId(pid), [key, _key(11)], [encryption], serial=2), SUBMISSION)


def test_parties_requested_by_a_participant_stay_its_own() -> None:
    domain = Domain()
    p10, _ = domain.participant(10)
    p12, _ = domain.participant(12)
    mine = party_id("alice", p10.split("::")[-1])
    hosts = [HostingParticipant(p10, SUBMISSION)]
    with pytest.raises(PermissionDenied):
        domain.planner.party(party_id("alice", p12.split("::")[-1]), hosts,
                             requested_by=MemberId(p10))
    with pytest.raises(PermissionDenied):
        domain.planner.party(mine, [HostingParticipant(p12, SUBMISSION)],
                             requested_by=MemberId(p10))
    with pytest.raises(UnknownParticipant):
        domain.planner.party(mine, [HostingParticipant(ParticipantId(member_id(
            MemberKind.PARTICIPANT, "x", _key(20).fingerprint)), SUBMISSION)])
    domain.apply(domain.planner.party(mine, hosts, requested_by=MemberId(p10)))
    assert domain.planner.party(mine, hosts, requested_by=MemberId(p10)) == ()
    domain.apply(domain.planner.party(mine, [HostingParticipant(p12, SUBMISSION)]))  # admin
    with pytest.raises(PartyAlreadyAllocated):
        domain.planner.party(mine, hosts, requested_by=MemberId(p10))


def test_keys_vetting_and_trust() -> None:
    domain = Domain()
    pid, key = domain.participant(10)
    new = _key(13)
    prepared = domain.planner.prepare_key_mapping(pid, [new.public], [], [])
    domain.apply(domain.planner.submit_key_mapping(prepared.sign(new)))
    domain.apply(domain.planner.revoke_key(pid, key.fingerprint))
    assert domain.state.head().signing_keys(pid) == (new.public,)
    with pytest.raises(UnknownKey):
        domain.planner.revoke_key(pid, key.fingerprint)
    last = domain.planner.prepare_key_mapping(pid, [], [], [new.fingerprint])
    assert last.operation is TopologyChangeOp.REMOVE  # no signing key left: keys removed
    domain.apply(domain.planner.vet(pid, ["a"], replace=False))
    domain.apply(domain.planner.vet(pid, ["b"], replace=False))
    assert domain.state.head().vetted_packages(pid) == {"a", "b"}
    with pytest.raises(PermissionDenied):
        domain.planner.vet(pid, ["c"], replace=False, requested_by=domain.mediator)


def test_only_member_and_parameter_changes_touch_the_sequencers() -> None:
    domain = Domain()
    kinds = {str(member_of(s.transaction)).split("::")[0]
             for s in domain.state.transactions()}
    assert kinds == {"None", "TOP", "MED", DOMAIN_PARAMETERS}
