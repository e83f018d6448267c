"""A domain for the simulation: real keys from a seed, real signed topology transactions in
a real `TopologyState`, participants hosting parties, the packages vetted everywhere.

Every member of the simulation reads the same `TopologyState` (`snapshot(t)`), as every real
member answers "topology as of t" from its own copy of the same transactions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from minicanton.core.crypto.encryption import EncryptionKeyPair
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.entropy import SeededEntropy
from minicanton.core.ids import (
    MemberId,
    MemberKind,
    PackageId,
    ParticipantId,
    PartyId,
    member_id,
    party_id,
)
from minicanton.core.lf.package import Package, PackageRegistry, load_package
from minicanton.core.topology.mappings import (
    HostingParticipant,
    MediatorDomainState,
    NamespaceDelegation,
    OwnerToKeyMapping,
    ParticipantPermission,
    ParticipantState,
    PartyToParticipant,
    TopologyMapping,
    TrustLevel,
    VettedPackages,
)
from minicanton.core.topology.parameters import SECOND_US, DomainParameters
from minicanton.core.topology.snapshot import TopologySnapshot
from minicanton.core.topology.state import TopologyState
from minicanton.core.topology.transactions import TopologyChangeOp, TopologyTransaction

REPO = Path(__file__).resolve().parents[2]
DVP_PACKAGE = load_package((REPO / "examples" / "dvp.py").read_text())
PAINT_PACKAGE = load_package((Path(__file__).parent / "packages" / "paint.py").read_text())
ACCOUNTS_PACKAGE = load_package(
    (Path(__file__).parent / "packages" / "accounts.py").read_text())
PROBE_PACKAGE = load_package((Path(__file__).parent / "packages" / "probe.py").read_text())
T0_US = 1_700_000_000_000_000
START_US = T0_US + SECOND_US  # the topology below is effective by then
DOMAIN_ID = "domain::1220" + "ab" * 32
RESPONSE_TIMEOUT_US = 2 * SECOND_US
REACTION_TIMEOUT_US = 1 * SECOND_US
TOLERANCE_US = 10 * SECOND_US

DVP_HOSTING: dict[str, tuple[str, ...]] = {
    "bank": ("Bank",), "sr": ("SR",), "alice": ("Alice",), "bob": ("Bob",),
}
PAINT_HOSTING: dict[str, tuple[str, ...]] = {"a": ("A",), "bank": ("Bank",), "p": ("P",)}


@dataclass
class SimMember:
    id: MemberId
    key: SigningKeyPair
    encryption: EncryptionKeyPair

    @property
    def participant(self) -> ParticipantId:
        return ParticipantId(self.id)


def default_parameters() -> DomainParameters:
    return DomainParameters(
        confirmation_response_timeout_us=RESPONSE_TIMEOUT_US,
        mediator_reaction_timeout_us=REACTION_TIMEOUT_US,
        ledger_time_record_time_tolerance_us=TOLERANCE_US,
    )


class SimDomain:
    """Participants named by `hosting` keys, each hosting the parties (hints) it lists."""

    def __init__(
        self,
        hosting: Mapping[str, Sequence[str]] = DVP_HOSTING,
        packages: Sequence[Package] = (DVP_PACKAGE, PAINT_PACKAGE),
        *,
        seed: int = 3,
        parameters: DomainParameters | None = None,
        vip: Iterable[str] = (),
        vetting: Mapping[str, Sequence[Package]] | None = None,
    ) -> None:
        self.entropy = SeededEntropy(seed)
        self.root = SigningKeyPair.generate(self.entropy)
        self.state = TopologyState(self.root.fingerprint, parameters or default_parameters())
        self.registry = PackageRegistry(packages)
        self._at_us = T0_US
        self.submit(NamespaceDelegation(self.root.fingerprint, self.root.public, True))
        self.mediator = self._member(MemberKind.MEDIATOR, "mediator")
        self.submit(MediatorDomainState(frozenset({self.mediator.id})))
        package_ids = frozenset(PackageId(p.package_id) for p in packages)
        self.participants: dict[str, SimMember] = {}
        self.parties: dict[str, PartyId] = {}
        for name, hints in hosting.items():
            trust = TrustLevel.VIP if name in set(vip) else TrustLevel.ORDINARY
            node = self._member(MemberKind.PARTICIPANT, name)
            self.participants[name] = node
            self.submit(ParticipantState(node.participant, ParticipantPermission.SUBMISSION,
                                         trust))
            vetted = package_ids if vetting is None or name not in vetting else frozenset(
                PackageId(p.package_id) for p in vetting[name])
            self.submit(VettedPackages(node.participant, vetted))
            for hint in hints:
                self.host(hint, {name: ParticipantPermission.SUBMISSION})

    def _member(self, kind: MemberKind, hint: str) -> SimMember:
        key = SigningKeyPair.generate(self.entropy)
        member = SimMember(member_id(kind, hint, key.fingerprint), key,
                           EncryptionKeyPair.generate(self.entropy))
        encryption = (member.encryption.public,) if kind is MemberKind.PARTICIPANT else ()
        self.submit(OwnerToKeyMapping(member.id, (key.public,), encryption), member.key)
        return member

    def host(self, hint: str, on: Mapping[str, ParticipantPermission]) -> PartyId:
        party = self.parties.setdefault(hint, party_id(hint, self.root.fingerprint))
        hosts = tuple(HostingParticipant(self.participants[n].participant, permission)
                      for n, permission in on.items())
        self.submit(PartyToParticipant(party, hosts))
        return party

    def submit(self, mapping: TopologyMapping, *extra: SigningKeyPair) -> None:
        self._at_us += 1
        tx = TopologyTransaction(TopologyChangeOp.REPLACE, self.state.next_serial(mapping.key),
                                 mapping)
        self.state.accept(tx.sign(self.root, *extra), self._at_us)

    def snapshot(self, ts_us: int) -> TopologySnapshot:
        return self.state.snapshot(ts_us)

    def party(self, hint: str) -> PartyId:
        return self.parties[hint]

    def participant_of(self, name: str) -> ParticipantId:
        return self.participants[name].participant

    def name_of(self, member: str) -> str:
        for name, node in self.participants.items():
            if node.id == member:
                return name
        return "mediator" if member == self.mediator.id else member
