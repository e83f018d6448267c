"""What each request to the topology manager changes, planned from its head topology.

Protocol rules, so they live in the core (DESIGN §5) and are within the simulation's reach;
the manager's shell (topology/manager.py) runs them one change at a time and broadcasts the
result. Pure (no I/O, no clock): every function takes the manager's `TopologyState` and returns the
signed topology transactions to broadcast — an empty tuple when the requested state is
already accepted, so a retried request changes nothing. Plans are made against the *head*
(everything accepted, pending changes included): serials follow the last accepted one and a
change builds on the newest version of its mapping. The manager runs one change at a time, so
no two plans race for a serial.

The domain namespace key signs everything; a member's own signature is needed where it speaks
for itself (proof of possession of every signing key it adds), and that the member provides.
Who may ask for what (admin or the member itself) is decided here too: `requested_by` is None
for the domain admin, else the authenticated member.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from minicanton.core.crypto.encryption import EncryptionPublicKey
from minicanton.core.crypto.signing import SigningKeyPair, SigningPublicKey
from minicanton.core.errors import InvalidArgument
from minicanton.core.ids import (
    Fingerprint,
    MemberId,
    MemberKind,
    PackageId,
    ParticipantId,
    PartyId,
    UniqueIdentifier,
    parse_member_id,
)
from minicanton.core.topology.errors import (
    AlreadyOnboarded,
    InvalidTopologyMapping,
    PartyAlreadyAllocated,
    PermissionDenied,
    UnknownKey,
    UnknownMember,
    UnknownParticipant,
)
from minicanton.core.topology.mappings import (
    DomainParametersState,
    HostingParticipant,
    MappingCode,
    MappingKey,
    MediatorDomainState,
    NamespaceDelegation,
    OwnerToKeyMapping,
    ParticipantPermission,
    ParticipantState,
    PartyToParticipant,
    SequencerDomainState,
    TopologyMapping,
    TrustLevel,
    VettedPackages,
)
from minicanton.core.topology.parameters import DomainParameters
from minicanton.core.topology.snapshot import TopologySnapshot
from minicanton.core.topology.state import TopologyState
from minicanton.core.topology.transactions import (
    SignedTopologyTransaction,
    TopologyChangeOp,
    TopologyTransaction,
)

Signed = tuple[SignedTopologyTransaction, ...]


@dataclass(frozen=True, slots=True)
class DomainKeys:
    namespace: SigningKeyPair  # the root key: its fingerprint is the domain namespace
    manager: SigningKeyPair  # the manager's own member key (sequencer sends)
    manager_id: MemberId

    @property
    def domain_namespace(self) -> Fingerprint:
        return self.namespace.fingerprint


def initial_key_mapping(
    member: MemberId, keys: Sequence[SigningKeyPair],
    encryption_keys: Sequence[EncryptionPublicKey] = (), serial: int = 1,
) -> SignedTopologyTransaction:
    """A member's key mapping signed by each of its keys (proof of possession): what a
    participant sends to onboard, and what a domain's config lists for its first mediators."""
    mapping = OwnerToKeyMapping(member, tuple(k.public for k in keys), tuple(encryption_keys))
    return TopologyTransaction(TopologyChangeOp.REPLACE, serial, mapping).sign(*keys)


def genesis(
    keys: DomainKeys, parameters: DomainParameters, members: Sequence[SignedTopologyTransaction],
    sequencer_ids: Iterable[MemberId] = (),
) -> Signed:
    """The domain's first broadcast: root certificate, the manager's keys, the initial
    mediators' and sequencers' member-signed key mappings, who is active (`sequencer_ids` adds
    sequencers known without a key mapping), the parameters."""
    ns = keys.namespace
    first: list[SignedTopologyTransaction] = [
        _serial_one(NamespaceDelegation(ns.fingerprint, ns.public, True)).sign(ns),
        initial_key_mapping(keys.manager_id, [keys.manager]).with_signatures(ns),
    ]
    kinds: dict[MemberKind, set[MemberId]] = {MemberKind.MEDIATOR: set(),
                                              MemberKind.SEQUENCER: set()}
    for signed in members:
        mapping = signed.transaction.mapping
        if not isinstance(mapping, OwnerToKeyMapping):
            raise InvalidArgument("an initial member entry must be an OwnerToKeyMapping")
        kind, _ = parse_member_id(mapping.member)
        if kind not in kinds:
            raise InvalidArgument(f"initial member {mapping.member} is not a mediator or "
                                  "sequencer (participants onboard themselves)")
        kinds[kind].add(mapping.member)
        first.append(signed.with_signatures(ns))
    mediators = kinds[MemberKind.MEDIATOR]
    sequencers = kinds[MemberKind.SEQUENCER] | set(sequencer_ids)
    domain: list[TopologyMapping] = [DomainParametersState(parameters)]
    if mediators:
        domain.append(MediatorDomainState(frozenset(mediators)))
    if sequencers:
        domain.append(SequencerDomainState(frozenset(sequencers)))
    return (*first, *[_serial_one(m).sign(ns) for m in domain])


def _serial_one(mapping: TopologyMapping) -> TopologyTransaction:
    return TopologyTransaction(TopologyChangeOp.REPLACE, 1, mapping)


class Planner:
    def __init__(self, state: TopologyState, keys: DomainKeys) -> None:
        self.state = state
        self.keys = keys

    @property
    def head(self) -> TopologySnapshot:
        return self.state.head()

    def _sign(self, *transactions: TopologyTransaction | None) -> Signed:
        return tuple(tx.sign(self.keys.namespace) for tx in transactions if tx is not None)

    def replace(self, mapping: TopologyMapping) -> TopologyTransaction | None:
        if self.head.mapping(mapping.key) == mapping:
            return None
        return TopologyTransaction(TopologyChangeOp.REPLACE, self.state.next_serial(mapping.key),
                                   mapping)

    def remove(self, key: MappingKey) -> TopologyTransaction | None:
        mapping = self.head.mapping(key)
        if mapping is None:
            return None
        return TopologyTransaction(TopologyChangeOp.REMOVE, self.state.next_serial(key), mapping)

    def _admitted(self, participant: str) -> ParticipantState:
        if parse_member_id(participant)[0] is not MemberKind.PARTICIPANT:
            raise InvalidArgument(f"{participant!r} is not a participant id")
        state = self.head.mapping(MappingKey(MappingCode.PARTICIPANT_STATE, participant))
        if not isinstance(state, ParticipantState):
            raise UnknownParticipant(f"{participant} is not a participant of this domain")
        return state

    # --- participants ------------------------------------------------------------------

    def onboarding(
        self, key_mapping: SignedTopologyTransaction, permission: ParticipantPermission,
        trust_level: TrustLevel = TrustLevel.ORDINARY,
    ) -> Signed:
        mapping = check_onboarding_request(key_mapping)
        participant = ParticipantId(mapping.member)
        current = self.head.mapping(mapping.key)
        if isinstance(self.head.mapping(ParticipantState(participant).key), ParticipantState):
            if current == mapping:
                return ()
            raise AlreadyOnboarded(f"{participant} is already onboarded: rotate its keys")
        signed_mapping = None if current == mapping else key_mapping.with_signatures(
            self.keys.namespace)
        state = self._sign(self.replace(ParticipantState(participant, permission, trust_level)))
        return (signed_mapping, *state) if signed_mapping is not None else state

    def trust_level(self, participant: str, level: TrustLevel) -> Signed:
        state = self._admitted(participant)
        return self._sign(self.replace(ParticipantState(state.participant, state.permission,
                                                        level)))

    def offboard(self, participant: str) -> Signed:
        state = self._admitted(participant)
        return self._sign(self.remove(state.key))

    # --- domain entities ---------------------------------------------------------------

    def add_domain_member(self, key_mapping: SignedTopologyTransaction) -> Signed:
        mapping = key_mapping.transaction.mapping
        if (key_mapping.transaction.operation is not TopologyChangeOp.REPLACE
                or not isinstance(mapping, OwnerToKeyMapping)):
            raise InvalidTopologyMapping("a domain member is added with its OwnerToKeyMapping")
        kind = parse_member_id(mapping.member)[0]
        if kind not in (MemberKind.MEDIATOR, MemberKind.SEQUENCER):
            raise InvalidTopologyMapping(f"{mapping.member} is not a mediator or sequencer")
        keys = None if self.head.mapping(mapping.key) == mapping else (
            key_mapping.with_signatures(self.keys.namespace))
        active = self._domain_set(kind) | {mapping.member}
        state = self._sign(self.replace(_domain_state(kind, active)))
        return (keys, *state) if keys is not None else state

    def remove_domain_member(self, member: str) -> Signed:
        kind = parse_member_id(member)[0]
        if kind not in (MemberKind.MEDIATOR, MemberKind.SEQUENCER):
            raise InvalidArgument(f"{member} is not a mediator or sequencer")
        active = self._domain_set(kind)
        if member not in active:
            raise UnknownMember(f"{member} is not an active {kind.name.lower()}")
        if active == {member}:
            raise InvalidArgument(f"the domain needs at least one {kind.name.lower()}")
        return self._sign(self.replace(_domain_state(kind, active - {MemberId(member)})))

    def _domain_set(self, kind: MemberKind) -> frozenset[MemberId]:
        return (self.head.mediators() if kind is MemberKind.MEDIATOR
                else self.head.sequencers())

    # --- parties and packages ----------------------------------------------------------

    def party(
        self, party: str, hosts: Sequence[HostingParticipant],
        requested_by: MemberId | None = None,
    ) -> Signed:
        mapping = PartyToParticipant(PartyId(party), tuple(hosts))
        for host in mapping.participants:
            self._admitted(host.participant)
        if requested_by is not None:
            self._check_own_party(mapping, requested_by)
        return self._sign(self.replace(mapping))

    def _check_own_party(self, mapping: PartyToParticipant, requested_by: MemberId) -> None:
        hosts = [str(h.participant) for h in mapping.participants]
        if hosts != [str(requested_by)]:
            raise PermissionDenied(f"{requested_by} may only allocate parties on itself")
        namespace = UniqueIdentifier.parse(mapping.party).namespace
        if namespace != parse_member_id(requested_by)[1].namespace:
            raise PermissionDenied(
                f"{requested_by} may only allocate parties in its own namespace, "
                f"not {namespace}")
        current = self.head.mapping(mapping.key)
        if current is not None and current != mapping:
            raise PartyAlreadyAllocated(f"party {mapping.party} is already allocated")

    def vet(
        self, participant: str, package_ids: Iterable[str], replace: bool,
        requested_by: MemberId | None = None,
    ) -> Signed:
        if requested_by is not None and requested_by != participant:
            raise PermissionDenied(f"{requested_by} may only vet packages for itself")
        state = self._admitted(participant)
        wanted = frozenset(PackageId(p) for p in package_ids)
        if not wanted and not replace:
            raise InvalidArgument("name at least one package to vet")
        if not replace:
            wanted |= self.head.vetted_packages(state.participant)
        return self._sign(self.replace(VettedPackages(state.participant, wanted)))

    # --- keys --------------------------------------------------------------------------

    def prepare_key_mapping(
        self, member: str, add_signing: Sequence[SigningPublicKey],
        add_encryption: Sequence[EncryptionPublicKey], remove: Sequence[str],
    ) -> TopologyTransaction:
        current = self._key_mapping(member)
        signing = _without(current.signing_keys, remove) + tuple(add_signing)
        encryption = _without(current.encryption_keys, remove) + tuple(add_encryption)
        present = {k.fingerprint for k in current.signing_keys} | {
            k.fingerprint for k in current.encryption_keys}
        missing = sorted(set(remove) - present)
        if missing:
            raise UnknownKey(f"{member} has no key {missing[0]}")
        if not (add_signing or add_encryption or remove):
            raise InvalidArgument("add or remove at least one key")
        if not signing:
            tx = self.remove(current.key)
            assert tx is not None
            return tx
        tx = self.replace(OwnerToKeyMapping(current.member, signing, encryption))
        if tx is None:
            raise InvalidArgument("the key mapping would not change")
        return tx

    def submit_key_mapping(
        self, signed: SignedTopologyTransaction, requested_by: MemberId | None = None
    ) -> Signed:
        mapping = signed.transaction.mapping
        if not isinstance(mapping, OwnerToKeyMapping):
            raise InvalidArgument("a key mapping submission must carry an OwnerToKeyMapping")
        if requested_by is not None and requested_by != mapping.member:
            raise PermissionDenied(f"{requested_by} may only change its own keys")
        self._key_mapping(mapping.member)
        if (signed.transaction.operation is TopologyChangeOp.REPLACE
                and self.head.mapping(mapping.key) == mapping):
            return ()
        return (signed.with_signatures(self.keys.namespace),)

    def revoke_key(self, member: str, fingerprint: str,
                   requested_by: MemberId | None = None) -> Signed:
        if requested_by is not None and requested_by != member:
            raise PermissionDenied(f"{requested_by} may only revoke its own keys")
        return self._sign(self.prepare_key_mapping(member, (), (), (fingerprint,)))

    def _key_mapping(self, member: str) -> OwnerToKeyMapping:
        parse_member_id(member)
        mapping = self.head.key_mapping(MemberId(member))
        if mapping is None:
            raise UnknownMember(f"{member} has no keys in this domain")
        return mapping

    # --- domain ------------------------------------------------------------------------

    def parameters(self, parameters: DomainParameters) -> Signed:
        return self._sign(self.replace(DomainParametersState(parameters)))


def _domain_state(
    kind: MemberKind, members: frozenset[MemberId]
) -> MediatorDomainState | SequencerDomainState:
    if kind is MemberKind.MEDIATOR:
        return MediatorDomainState(members)
    return SequencerDomainState(members)


def check_onboarding_request(signed: SignedTopologyTransaction) -> OwnerToKeyMapping:
    """The shape an onboarding request must have; its signatures are checked by the core."""
    tx = signed.transaction
    mapping = tx.mapping
    if tx.operation is not TopologyChangeOp.REPLACE or not isinstance(mapping, OwnerToKeyMapping):
        raise InvalidTopologyMapping("an onboarding request is a REPLACE of an OwnerToKeyMapping")
    if not _is_participant(mapping.member):
        raise InvalidTopologyMapping(f"{mapping.member} is not a participant id")
    namespace = parse_member_id(mapping.member)[1].namespace
    if namespace not in {k.fingerprint for k in mapping.signing_keys}:
        raise InvalidTopologyMapping(
            f"the namespace of {mapping.member} must be the fingerprint of one of its signing "
            "keys (its identity key)")
    return mapping


def _is_participant(member: str) -> bool:
    try:
        return parse_member_id(member)[0] is MemberKind.PARTICIPANT
    except InvalidArgument:
        return False


_Key = TypeVar("_Key", SigningPublicKey, EncryptionPublicKey)


def _without(keys: tuple[_Key, ...], fingerprints: Sequence[str]) -> tuple[_Key, ...]:
    return tuple(k for k in keys if k.fingerprint not in fingerprints)
