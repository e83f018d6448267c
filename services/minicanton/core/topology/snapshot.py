"""`TopologySnapshot`: the topology as of one timestamp, and the history it reads from.

`MappingHistory` is append-only: for each unique key, the versions in acceptance order, each
with the effective time it starts at (`None` mapping after a REMOVE). A version is in force
from its effective time until the next version of the same key starts: [from, until).

A snapshot is a view on that history at `timestamp_us` that ignores every version appended
after the snapshot was taken (`cutoff`, a log position). Since histories are only appended to,
a snapshot never changes once taken, yet taking one costs nothing and answering a query costs
a binary search per key it touches.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from minicanton.core.crypto.encryption import EncryptionPublicKey
from minicanton.core.crypto.signing import (
    Signature,
    SigningPublicKey,
    verify_signature,
)
from minicanton.core.hashing import Hash, HashPurpose
from minicanton.core.ids import Fingerprint, MemberId, PackageId, ParticipantId, PartyId
from minicanton.core.topology.errors import MemberKeyNotValid
from minicanton.core.topology.mappings import (
    DomainParametersState,
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

_DOMAIN = "domain"


@dataclass(slots=True)
class _KeyVersions:
    positions: list[int] = field(default_factory=list)
    froms_us: list[int] = field(default_factory=list)
    mappings: list[TopologyMapping | None] = field(default_factory=list)


class MappingHistory:
    """Append-only versions per unique key, plus the indexes the snapshot queries need."""

    def __init__(self) -> None:
        self._versions: dict[MappingKey, _KeyVersions] = {}
        self._keys_by_code: dict[MappingCode, list[MappingKey]] = {c: [] for c in MappingCode}
        self._parties_by_participant: dict[ParticipantId, list[PartyId]] = {}

    def append(
        self, position: int, from_us: int, key: MappingKey, mapping: TopologyMapping | None
    ) -> None:
        versions = self._versions.get(key)
        if versions is None:
            versions = self._versions[key] = _KeyVersions()
            self._keys_by_code[key.code].append(key)
        versions.positions.append(position)
        versions.froms_us.append(from_us)
        versions.mappings.append(mapping)
        if isinstance(mapping, PartyToParticipant):
            for host in mapping.participants:
                parties = self._parties_by_participant.setdefault(host.participant, [])
                if mapping.party not in parties:
                    parties.append(mapping.party)

    def at(self, key: MappingKey, t_us: int, cutoff: int) -> TopologyMapping | None:
        versions = self._versions.get(key)
        if versions is None:
            return None
        visible = bisect_left(versions.positions, cutoff)
        index = bisect_right(versions.froms_us, t_us, 0, visible) - 1
        return versions.mappings[index] if index >= 0 else None

    def keys(self, code: MappingCode) -> list[MappingKey]:
        return self._keys_by_code[code]

    def versions(self, key: MappingKey) -> list[tuple[int, int, TopologyMapping | None]]:
        """(position, from_us, mapping) of every version of `key`, oldest first."""
        v = self._versions.get(key)
        return [] if v is None else list(zip(v.positions, v.froms_us, v.mappings, strict=True))

    def parties_ever_hosted_by(self, participant: ParticipantId) -> list[PartyId]:
        return self._parties_by_participant.get(participant, [])


@dataclass(frozen=True, slots=True)
class ParticipantAttributes:
    permission: ParticipantPermission
    trust_level: TrustLevel

    def __init__(self, permission: ParticipantPermission, trust_level: TrustLevel) -> None:
        object.__setattr__(self, "permission", permission)
        object.__setattr__(self, "trust_level", trust_level)


@dataclass(frozen=True, slots=True, eq=False)
class TopologySnapshot:
    """The topology in force at `timestamp_us`, for every member alike."""

    domain_namespace: Fingerprint
    timestamp_us: int
    genesis_parameters: DomainParameters
    _history: MappingHistory
    _cutoff: int
    # answers of `_at` by key: a snapshot never changes once taken (see the module doc), and
    # one event or submission asks for the parameters and the same hosts and keys many times
    _memo: dict[MappingKey, TopologyMapping | None] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    _hosts: dict[PartyId, Mapping[ParticipantId, ParticipantPermission]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def __init__(
        self,
        domain_namespace: Fingerprint,
        timestamp_us: int,
        genesis_parameters: DomainParameters,
        _history: MappingHistory,
        _cutoff: int,
    ) -> None:
        object.__setattr__(self, "domain_namespace", domain_namespace)
        object.__setattr__(self, "timestamp_us", timestamp_us)
        object.__setattr__(self, "genesis_parameters", genesis_parameters)
        object.__setattr__(self, "_history", _history)
        object.__setattr__(self, "_cutoff", _cutoff)
        object.__setattr__(self, "_memo", {})
        object.__setattr__(self, "_hosts", {})

    def _at(self, key: MappingKey) -> TopologyMapping | None:
        memo = self._memo
        if key in memo:
            return memo[key]
        found = memo[key] = self._history.at(key, self.timestamp_us, self._cutoff)
        return found

    def _all(self, code: MappingCode) -> Iterator[TopologyMapping]:
        for key in self._history.keys(code):
            mapping = self._at(key)
            if mapping is not None:
                yield mapping

    @property
    def parameters(self) -> DomainParameters:
        state = self._at(MappingKey(MappingCode.DOMAIN_PARAMETERS_STATE, _DOMAIN))
        return state.parameters if isinstance(state, DomainParametersState) else (
            self.genesis_parameters
        )

    # --- the domain's namespace -------------------------------------------------------

    def namespace_delegations(self) -> dict[Fingerprint, NamespaceDelegation]:
        """Keys that may sign for the domain namespace, by fingerprint. Without the root
        certificate in force there are none: nothing else can be authorised."""
        found = {
            m.target_key.fingerprint: m
            for m in self._all(MappingCode.NAMESPACE_DELEGATION)
            if isinstance(m, NamespaceDelegation) and m.namespace == self.domain_namespace
        }
        return found if self.domain_namespace in found else {}

    # --- members and keys -------------------------------------------------------------

    def key_mapping(self, member: MemberId) -> OwnerToKeyMapping | None:
        mapping = self._at(MappingKey(MappingCode.OWNER_TO_KEY_MAPPING, member))
        return mapping if isinstance(mapping, OwnerToKeyMapping) else None

    def members(self) -> frozenset[MemberId]:
        """Every member with keys in force."""
        return frozenset(
            m.member for m in self._all(MappingCode.OWNER_TO_KEY_MAPPING)
            if isinstance(m, OwnerToKeyMapping)
        )

    def signing_keys(self, member: MemberId) -> tuple[SigningPublicKey, ...]:
        mapping = self.key_mapping(member)
        return mapping.signing_keys if mapping else ()

    def current_signing_key(self, member: MemberId) -> SigningPublicKey | None:
        keys = self.signing_keys(member)
        return keys[-1] if keys else None

    def signing_key(self, member: MemberId, fingerprint: Fingerprint) -> SigningPublicKey | None:
        """`member`'s key with that fingerprint, if it is valid at this snapshot's time."""
        return next((k for k in self.signing_keys(member) if k.fingerprint == fingerprint), None)

    def is_signing_key_valid(self, member: MemberId, fingerprint: Fingerprint) -> bool:
        return self.signing_key(member, fingerprint) is not None

    def verify_member_signature(
        self, member: MemberId, hash_: Hash, purpose: HashPurpose, signature: Signature
    ) -> None:
        """Raise `MemberKeyNotValid` unless the signer is one of `member`'s keys in force here,
        and `CryptoError` unless the signature checks out."""
        key = self.signing_key(member, signature.signed_by)
        if key is None:
            raise MemberKeyNotValid(
                f"key {signature.signed_by} is not a signing key of {member} "
                f"at {self.timestamp_us}"
            )
        verify_signature(key, hash_, purpose, signature)

    def encryption_keys(self, member: MemberId) -> tuple[EncryptionPublicKey, ...]:
        mapping = self.key_mapping(member)
        return mapping.encryption_keys if mapping else ()

    def current_encryption_key(self, member: MemberId) -> EncryptionPublicKey | None:
        """The X25519 key others wrap view keys for."""
        keys = self.encryption_keys(member)
        return keys[-1] if keys else None

    # --- participants and parties -----------------------------------------------------

    def participant_attributes(self, participant: ParticipantId) -> ParticipantAttributes | None:
        state = self._at(MappingKey(MappingCode.PARTICIPANT_STATE, participant))
        if not isinstance(state, ParticipantState):
            return None
        return ParticipantAttributes(state.permission, state.trust_level)

    def participants(self) -> dict[ParticipantId, ParticipantAttributes]:
        """Admitted participants (a `ParticipantState` in force)."""
        return {
            m.participant: ParticipantAttributes(m.permission, m.trust_level)
            for m in self._all(MappingCode.PARTICIPANT_STATE)
            if isinstance(m, ParticipantState)
        }

    def is_vip(self, participant: ParticipantId) -> bool:
        attributes = self.participant_attributes(participant)
        return attributes is not None and attributes.trust_level is TrustLevel.VIP

    def hosting_participants(self, party: PartyId) -> Mapping[ParticipantId, ParticipantPermission]:
        """Admitted participants hosting `party`, each with the party's permission capped by the
        participant's own (as Canton does): an observation-only participant cannot confirm.
        Remembered per party (read-only): one request asks for the same parties' hosts from
        every check."""
        known = self._hosts.get(party)
        if known is not None:
            return known
        mapping = self._at(MappingKey(MappingCode.PARTY_TO_PARTICIPANT, party))
        hosts: dict[ParticipantId, ParticipantPermission] = {}
        if isinstance(mapping, PartyToParticipant):
            for host in mapping.participants:
                attributes = self.participant_attributes(host.participant)
                if attributes is not None:
                    hosts[host.participant] = min(host.permission, attributes.permission)
        answer = self._hosts[party] = MappingProxyType(hosts)
        return answer

    def parties_hosted_by(self, participant: ParticipantId) -> dict[PartyId, ParticipantPermission]:
        found: dict[PartyId, ParticipantPermission] = {}
        for party in self._history.parties_ever_hosted_by(participant):
            permission = self.hosting_participants(party).get(participant)
            if permission is not None:
                found[party] = permission
        return found

    def known_parties(self) -> frozenset[PartyId]:
        return frozenset(
            m.party for m in self._all(MappingCode.PARTY_TO_PARTICIPANT)
            if isinstance(m, PartyToParticipant)
        )

    def vetted_packages(self, participant: ParticipantId) -> frozenset[PackageId]:
        mapping = self._at(MappingKey(MappingCode.VETTED_PACKAGES, participant))
        return mapping.package_ids if isinstance(mapping, VettedPackages) else frozenset()

    # --- domain entities --------------------------------------------------------------

    def mediators(self) -> frozenset[MemberId]:
        mapping = self._at(MappingKey(MappingCode.MEDIATOR_DOMAIN_STATE, _DOMAIN))
        return mapping.mediators if isinstance(mapping, MediatorDomainState) else frozenset()

    def sequencers(self) -> frozenset[MemberId]:
        mapping = self._at(MappingKey(MappingCode.SEQUENCER_DOMAIN_STATE, _DOMAIN))
        return mapping.sequencers if isinstance(mapping, SequencerDomainState) else frozenset()

    def mapping(self, key: MappingKey) -> TopologyMapping | None:
        """The mapping in force for any unique key (for admin listings and validation)."""
        return self._at(key)

    def all_mappings(self, code: MappingCode) -> list[TopologyMapping]:
        return list(self._all(code))

