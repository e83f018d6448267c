"""A small domain builder for the topology tests: real keys from a seeded entropy, real
signatures, a real `TopologyState`; only the sequencer is played by the test (it picks the
sequencing times)."""

from __future__ import annotations

from dataclasses import dataclass

from minicanton.core.crypto.encryption import EncryptionKeyPair
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.entropy import SeededEntropy
from minicanton.core.ids import MemberId, MemberKind, ParticipantId, member_id
from minicanton.core.topology.mappings import (
    NamespaceDelegation,
    OwnerToKeyMapping,
    ParticipantPermission,
    ParticipantState,
    TopologyMapping,
    TrustLevel,
)
from minicanton.core.topology.parameters import DomainParameters
from minicanton.core.topology.state import StoredTopologyTransaction, TopologyState
from minicanton.core.topology.transactions import (
    SignedTopologyTransaction,
    TopologyChangeOp,
    TopologyTransaction,
)

DELAY_US = 250_000
T0_US = 1_700_000_000_000_000


@dataclass
class Member:
    id: MemberId
    key: SigningKeyPair
    encryption: EncryptionKeyPair


class Domain:
    def __init__(self, seed: int = 7, delay_us: int = DELAY_US) -> None:
        self.entropy = SeededEntropy(seed)
        self.root = SigningKeyPair.generate(self.entropy)
        self.namespace = self.root.fingerprint
        self.genesis = DomainParameters(topology_change_delay_us=delay_us)
        self.state = TopologyState(self.namespace, self.genesis)

    def new_key(self) -> SigningKeyPair:
        return SigningKeyPair.generate(self.entropy)

    def member(self, kind: MemberKind, hint: str) -> Member:
        key = self.new_key()
        encryption = EncryptionKeyPair.generate(self.entropy)
        return Member(member_id(kind, hint, key.fingerprint), key, encryption)

    def tx(
        self, mapping: TopologyMapping, op: TopologyChangeOp = TopologyChangeOp.REPLACE
    ) -> TopologyTransaction:
        return TopologyTransaction(op, self.state.next_serial(mapping.key), mapping)

    def signed(
        self,
        mapping: TopologyMapping,
        *extra: SigningKeyPair,
        op: TopologyChangeOp = TopologyChangeOp.REPLACE,
        by_root: bool = True,
    ) -> SignedTopologyTransaction:
        keys = ((self.root,) if by_root else ()) + extra
        return self.tx(mapping, op).sign(*keys)

    def submit(
        self,
        mapping: TopologyMapping,
        at_us: int,
        *extra: SigningKeyPair,
        op: TopologyChangeOp = TopologyChangeOp.REPLACE,
    ) -> StoredTopologyTransaction:
        return self.state.accept(self.signed(mapping, *extra, op=op), at_us).stored

    def bootstrap(self, at_us: int = T0_US) -> StoredTopologyTransaction:
        root_cert = NamespaceDelegation(self.namespace, self.root.public, True)
        return self.submit(root_cert, at_us)

    def key_mapping(self, member: Member) -> OwnerToKeyMapping:
        return OwnerToKeyMapping(member.id, (member.key.public,), (member.encryption.public,))

    def onboard(
        self,
        hint: str,
        at_us: int,
        permission: ParticipantPermission = ParticipantPermission.SUBMISSION,
        trust: TrustLevel = TrustLevel.ORDINARY,
    ) -> Member:
        participant = self.member(MemberKind.PARTICIPANT, hint)
        self.submit(self.key_mapping(participant), at_us, participant.key)
        self.submit(ParticipantState(ParticipantId(participant.id), permission, trust), at_us)
        return participant
