"""Topology mappings: the facts a topology transaction adds, replaces or removes.

Names follow Canton's topology model. Each mapping has a *unique key* (`MappingKey`): at any
time at most one mapping per key is in force, and a newer transaction for the same key
replaces the older one. So a key rotation is an `OwnerToKeyMapping` replacing the member's
previous one (add the new key, later drop the old), a revocation is a replacement without the
key (or a REMOVE of the whole mapping), and a trust-level change is a new `ParticipantState`.

Set-like fields are frozensets (or tuples normalised to a canonical order) so that equal facts
are equal values and encode to equal bytes. Key lists keep their order: the last key is the
member's *current* one, the one others encrypt to and the one it should sign with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum
from typing import TypeAlias

from minicanton.core.crypto.encryption import EncryptionPublicKey
from minicanton.core.crypto.signing import SigningPublicKey
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
from minicanton.core.topology.errors import InvalidTopologyMapping
from minicanton.core.topology.parameters import DomainParameters

MAX_KEYS_PER_MEMBER = 16
_FINGERPRINT = re.compile(r"^1220[0-9a-f]{64}$")
_PACKAGE_ID = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")


class MappingCode(IntEnum):
    """Stable numbers: they are encoded in every transaction, never renumber one."""

    NAMESPACE_DELEGATION = 1
    OWNER_TO_KEY_MAPPING = 2
    PARTICIPANT_STATE = 3
    PARTY_TO_PARTICIPANT = 4
    MEDIATOR_DOMAIN_STATE = 5
    SEQUENCER_DOMAIN_STATE = 6
    VETTED_PACKAGES = 7
    DOMAIN_PARAMETERS_STATE = 8


class ParticipantPermission(IntEnum):
    """Ordered: a higher permission includes the lower ones. Stable numbers (encoded)."""

    OBSERVATION = 1
    CONFIRMATION = 2
    SUBMISSION = 3

    @property
    def can_confirm(self) -> bool:
        return self >= ParticipantPermission.CONFIRMATION

    @property
    def can_submit(self) -> bool:
        return self is ParticipantPermission.SUBMISSION


class TrustLevel(IntEnum):
    """Seed 003: a VIP participant is trusted to act honestly. Stable numbers (encoded)."""

    ORDINARY = 1
    VIP = 2


@dataclass(frozen=True, slots=True)
class MappingKey:
    """The unique key: at most one mapping per key is in force at a time."""

    code: MappingCode
    identifier: str

    def __init__(self, code: MappingCode, identifier: str) -> None:
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "identifier", identifier)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MappingKey):
            return NotImplemented
        return self.code == other.code and self.identifier == other.identifier

    def __hash__(self) -> int:
        return hash((self.code, self.identifier))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, MappingKey):
            return NotImplemented
        return (self.code, self.identifier) < (other.code, other.identifier)

    def __le__(self, other: object) -> bool:
        if not isinstance(other, MappingKey):
            return NotImplemented
        return (self.code, self.identifier) <= (other.code, other.identifier)

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, MappingKey):
            return NotImplemented
        return (self.code, self.identifier) > (other.code, other.identifier)

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, MappingKey):
            return NotImplemented
        return (self.code, self.identifier) >= (other.code, other.identifier)

    def __str__(self) -> str:
        return f"{self.code.name}({self.identifier})"


def _member_of_kind(member: str, kinds: tuple[MemberKind, ...], what: str) -> None:
    try:
        kind, _ = parse_member_id(member)
    except InvalidArgument as err:
        raise InvalidTopologyMapping(f"{what}: {err.message}") from None
    if kind not in kinds:
        expected = "/".join(k.value for k in kinds)
        raise InvalidTopologyMapping(f"{what}: {member!r} is not a {expected} member id")


def _check_fingerprint(value: str, what: str) -> None:
    if not isinstance(value, str) or not _FINGERPRINT.match(value):
        raise InvalidTopologyMapping(f"{what}: {value!r} is not a key fingerprint")


def _check_signing_key(key: SigningPublicKey, what: str) -> None:
    if not isinstance(key, SigningPublicKey) or len(key.raw) != 32:
        raise InvalidTopologyMapping(f"{what}: a signing key is a 32-byte Ed25519 public key")


@dataclass(frozen=True, slots=True)
class NamespaceDelegation:
    """`target_key` may sign for `namespace`. The root certificate is the self-signed one whose
    target's fingerprint *is* the namespace; only root delegations may authorise further
    delegations."""

    namespace: Fingerprint
    target_key: SigningPublicKey
    is_root_delegation: bool

    def __post_init__(self) -> None:
        _check_fingerprint(self.namespace, "namespace delegation")
        _check_signing_key(self.target_key, "namespace delegation")
        if self.is_root_certificate and not self.is_root_delegation:
            raise InvalidTopologyMapping("the root certificate must be a root delegation")

    @property
    def is_root_certificate(self) -> bool:
        return self.target_key.fingerprint == self.namespace

    @property
    def key(self) -> MappingKey:
        return MappingKey(MappingCode.NAMESPACE_DELEGATION,
                          f"{self.namespace}/{self.target_key.fingerprint}")


@dataclass(frozen=True, slots=True)
class OwnerToKeyMapping:
    """A member's Ed25519 signing keys and X25519 encryption keys. The last key of each list is
    the current one."""

    member: MemberId
    signing_keys: tuple[SigningPublicKey, ...]
    encryption_keys: tuple[EncryptionPublicKey, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "signing_keys", tuple(self.signing_keys))
        object.__setattr__(self, "encryption_keys", tuple(self.encryption_keys))
        what = f"key mapping of {self.member!r}"
        _member_of_kind(self.member, tuple(MemberKind), what)
        if not 1 <= len(self.signing_keys) <= MAX_KEYS_PER_MEMBER:
            raise InvalidTopologyMapping(f"{what}: needs 1-{MAX_KEYS_PER_MEMBER} signing keys")
        for key in self.signing_keys:
            _check_signing_key(key, what)
        if len({k.fingerprint for k in self.signing_keys}) != len(self.signing_keys):
            raise InvalidTopologyMapping(f"{what}: duplicate signing key")
        self._check_encryption_keys(what)

    def _check_encryption_keys(self, what: str) -> None:
        keys = self.encryption_keys
        if len(keys) > MAX_KEYS_PER_MEMBER:
            raise InvalidTopologyMapping(f"{what}: at most {MAX_KEYS_PER_MEMBER} encryption keys")
        if any(not isinstance(k, EncryptionPublicKey) for k in keys):
            raise InvalidTopologyMapping(f"{what}: encryption keys must be EncryptionPublicKey")
        if len(set(keys)) != len(keys):
            raise InvalidTopologyMapping(f"{what}: duplicate encryption key")
        # Views are encrypted to participants, so a participant without one cannot take part.
        if self.member.startswith(MemberKind.PARTICIPANT.value + "::") and not keys:
            raise InvalidTopologyMapping(f"{what}: a participant needs an encryption key")

    @property
    def key(self) -> MappingKey:
        return MappingKey(MappingCode.OWNER_TO_KEY_MAPPING, self.member)


@dataclass(frozen=True, slots=True)
class ParticipantState:
    """Admits a participant to the domain with a permission (capping its parties' permissions)
    and a trust level. Removing it offboards the participant."""

    participant: ParticipantId
    permission: ParticipantPermission = ParticipantPermission.SUBMISSION
    trust_level: TrustLevel = TrustLevel.ORDINARY

    def __post_init__(self) -> None:
        _member_of_kind(self.participant, (MemberKind.PARTICIPANT,), "participant state")
        if not isinstance(self.permission, ParticipantPermission):
            raise InvalidTopologyMapping(f"participant state: bad permission {self.permission!r}")
        if not isinstance(self.trust_level, TrustLevel):
            raise InvalidTopologyMapping(f"participant state: bad trust level {self.trust_level!r}")

    @property
    def key(self) -> MappingKey:
        return MappingKey(MappingCode.PARTICIPANT_STATE, self.participant)


@dataclass(frozen=True, slots=True, order=True)
class HostingParticipant:
    participant: ParticipantId
    permission: ParticipantPermission

    def __post_init__(self) -> None:
        _member_of_kind(self.participant, (MemberKind.PARTICIPANT,), "hosting participant")
        if not isinstance(self.permission, ParticipantPermission):
            raise InvalidTopologyMapping(f"hosting participant: bad permission {self.permission!r}")


@dataclass(frozen=True, slots=True)
class PartyToParticipant:
    """Hosts `party` on one or more participants, each with its own permission. Stored sorted by
    participant, one entry per participant."""

    party: PartyId
    participants: tuple[HostingParticipant, ...]

    def __post_init__(self) -> None:
        try:
            UniqueIdentifier.parse(self.party)
        except InvalidArgument as err:
            raise InvalidTopologyMapping(f"party to participant: {err.message}") from None
        hosts = tuple(sorted(self.participants))
        object.__setattr__(self, "participants", hosts)
        if not hosts:
            raise InvalidTopologyMapping(f"party {self.party!r} needs a hosting participant")
        if len({h.participant for h in hosts}) != len(hosts):
            raise InvalidTopologyMapping(f"party {self.party!r}: a participant is listed twice")

    @property
    def key(self) -> MappingKey:
        return MappingKey(MappingCode.PARTY_TO_PARTICIPANT, self.party)


def _member_set(members: frozenset[MemberId], kind: MemberKind, what: str) -> None:
    if not members:
        raise InvalidTopologyMapping(f"{what}: needs at least one member (REMOVE it instead)")
    for member in members:
        _member_of_kind(member, (kind,), what)


@dataclass(frozen=True, slots=True)
class MediatorDomainState:
    """The active mediators of the domain."""

    mediators: frozenset[MemberId]

    def __post_init__(self) -> None:
        object.__setattr__(self, "mediators", frozenset(self.mediators))
        _member_set(self.mediators, MemberKind.MEDIATOR, "mediator domain state")

    @property
    def key(self) -> MappingKey:
        return MappingKey(MappingCode.MEDIATOR_DOMAIN_STATE, "domain")


@dataclass(frozen=True, slots=True)
class SequencerDomainState:
    """The active sequencers of the domain."""

    sequencers: frozenset[MemberId]

    def __post_init__(self) -> None:
        object.__setattr__(self, "sequencers", frozenset(self.sequencers))
        _member_set(self.sequencers, MemberKind.SEQUENCER, "sequencer domain state")

    @property
    def key(self) -> MappingKey:
        return MappingKey(MappingCode.SEQUENCER_DOMAIN_STATE, "domain")


@dataclass(frozen=True, slots=True)
class VettedPackages:
    """The packages a participant agrees to validate with (Canton's package vetting)."""

    participant: ParticipantId
    package_ids: frozenset[PackageId]

    def __post_init__(self) -> None:
        object.__setattr__(self, "package_ids", frozenset(self.package_ids))
        _member_of_kind(self.participant, (MemberKind.PARTICIPANT,), "vetted packages")
        for package_id in self.package_ids:
            if not isinstance(package_id, str) or not _PACKAGE_ID.match(package_id):
                raise InvalidTopologyMapping(f"vetted packages: bad package id {package_id!r}")

    @property
    def key(self) -> MappingKey:
        return MappingKey(MappingCode.VETTED_PACKAGES, self.participant)


@dataclass(frozen=True, slots=True)
class DomainParametersState:
    parameters: DomainParameters

    def __post_init__(self) -> None:
        if not isinstance(self.parameters, DomainParameters):
            raise InvalidTopologyMapping("domain parameters state needs DomainParameters")

    @property
    def key(self) -> MappingKey:
        return MappingKey(MappingCode.DOMAIN_PARAMETERS_STATE, "domain")


TopologyMapping: TypeAlias = (
    NamespaceDelegation
    | OwnerToKeyMapping
    | ParticipantState
    | PartyToParticipant
    | MediatorDomainState
    | SequencerDomainState
    | VettedPackages
    | DomainParametersState
)

MAPPING_CODES: dict[type[TopologyMapping], MappingCode] = {
    NamespaceDelegation: MappingCode.NAMESPACE_DELEGATION,
    OwnerToKeyMapping: MappingCode.OWNER_TO_KEY_MAPPING,
    ParticipantState: MappingCode.PARTICIPANT_STATE,
    PartyToParticipant: MappingCode.PARTY_TO_PARTICIPANT,
    MediatorDomainState: MappingCode.MEDIATOR_DOMAIN_STATE,
    SequencerDomainState: MappingCode.SEQUENCER_DOMAIN_STATE,
    VettedPackages: MappingCode.VETTED_PACKAGES,
    DomainParametersState: MappingCode.DOMAIN_PARAMETERS_STATE,
}
