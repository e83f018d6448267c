"""Canonical bytes of topology mappings (the transaction envelope is in `transactions.py`).

The format is deliberately tiny and strict: fixed-width big-endian integers, u32 length
prefixes, set-like fields sorted, every mapping behind a stable `MappingCode`. Decoding rejects
truncation, trailing bytes, unknown codes and values the dataclasses refuse, always with a
`TopologyDecodeError`; callers additionally require that re-encoding gives back the input, so
one transaction has exactly one encoding and its hash is a function of its meaning.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable

from minicanton.core.crypto.encryption import EncryptionPublicKey
from minicanton.core.crypto.signing import SigningPublicKey
from minicanton.core.errors import CryptoError, InvalidArgument
from minicanton.core.ids import Fingerprint, MemberId, PackageId, ParticipantId, PartyId
from minicanton.core.topology.errors import TopologyDecodeError
from minicanton.core.topology.mappings import (
    MAPPING_CODES,
    DomainParametersState,
    HostingParticipant,
    MappingCode,
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
from minicanton.core.topology.parameters import ConfirmationPolicy, DomainParameters

_U32 = struct.Struct(">I")


class Writer:
    __slots__ = ("_out",)

    def __init__(self) -> None:
        self._out = bytearray()

    def u8(self, value: int) -> None:
        self._out += value.to_bytes(1, "big")

    def u32(self, value: int) -> None:
        self._out += value.to_bytes(4, "big")

    def i64(self, value: int) -> None:
        self._out += value.to_bytes(8, "big", signed=True)

    def raw(self, value: bytes) -> None:
        self.u32(len(value))
        self._out += value

    def text(self, value: str) -> None:
        self.raw(value.encode("utf-8"))

    def texts(self, values: Iterable[str]) -> None:
        items = sorted(values)
        self.u32(len(items))
        for item in items:
            self.text(item)

    def getvalue(self) -> bytes:
        return bytes(self._out)


class Reader:
    """Fixed-width reads index and unpack in place: every protocol message a node receives is
    read through here, field by field."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def _take(self, length: int) -> bytes:
        start = self._pos
        end = start + length
        if end > len(self._data):
            raise self._truncated(length)
        self._pos = end
        return self._data[start:end]

    def _truncated(self, length: int) -> TopologyDecodeError:
        return TopologyDecodeError(
            f"truncated: need {length} bytes at offset {self._pos}, have {len(self._data)}")

    def u8(self) -> int:
        start = self._pos
        if start >= len(self._data):
            raise self._truncated(1)
        self._pos = start + 1
        return self._data[start]

    def u32(self) -> int:
        start = self._pos
        if start + 4 > len(self._data):
            raise self._truncated(4)
        self._pos = start + 4
        value: int = _U32.unpack_from(self._data, start)[0]
        return value

    def i64(self) -> int:
        return int.from_bytes(self._take(8), "big", signed=True)

    def raw(self) -> bytes:
        length = self.u32()
        start = self._pos
        end = start + length
        if end > len(self._data):
            raise self._truncated(length)
        self._pos = end
        return self._data[start:end]

    def text(self) -> str:
        try:
            return self.raw().decode("utf-8")
        except UnicodeDecodeError:
            raise TopologyDecodeError("text field is not UTF-8") from None

    def count(self, min_item_bytes: int) -> int:
        """A list length, refused when the remaining bytes cannot hold that many items."""
        n = self.u32()
        if n * min_item_bytes > len(self._data) - self._pos:
            raise TopologyDecodeError(f"list of {n} items cannot fit in the remaining bytes")
        return n

    def texts(self) -> list[str]:
        return [self.text() for _ in range(self.count(4))]

    def end(self) -> None:
        if self._pos != len(self._data):
            raise TopologyDecodeError(f"{len(self._data) - self._pos} trailing bytes")


def write_parameters(w: Writer, p: DomainParameters) -> None:
    w.i64(p.confirmation_response_timeout_us)
    w.i64(p.mediator_reaction_timeout_us)
    w.i64(p.ledger_time_record_time_tolerance_us)
    w.i64(p.topology_change_delay_us)
    w.i64(p.max_request_size_bytes)
    w.text(p.default_confirmation_policy.value)


def read_parameters(r: Reader) -> DomainParameters:
    confirmation, reaction, tolerance, delay, size = [r.i64() for _ in range(5)]
    policy_text = r.text()
    try:
        return DomainParameters(
            confirmation_response_timeout_us=confirmation,
            mediator_reaction_timeout_us=reaction,
            ledger_time_record_time_tolerance_us=tolerance,
            topology_change_delay_us=delay,
            max_request_size_bytes=size,
            default_confirmation_policy=ConfirmationPolicy(policy_text),
        )
    except (InvalidArgument, ValueError) as err:
        raise TopologyDecodeError(f"invalid domain parameters: {err}") from None


def write_mapping(w: Writer, mapping: TopologyMapping) -> None:
    w.u8(MAPPING_CODES[type(mapping)])
    match mapping:
        case NamespaceDelegation():
            w.text(mapping.namespace)
            w.raw(mapping.target_key.raw)
            w.u8(int(mapping.is_root_delegation))
        case OwnerToKeyMapping():
            w.text(mapping.member)
            w.u32(len(mapping.signing_keys))
            for key in mapping.signing_keys:
                w.raw(key.raw)
            w.u32(len(mapping.encryption_keys))
            for encryption_key in mapping.encryption_keys:
                w.raw(encryption_key.raw)
        case ParticipantState():
            w.text(mapping.participant)
            w.u8(mapping.permission)
            w.u8(mapping.trust_level)
        case PartyToParticipant():
            w.text(mapping.party)
            w.u32(len(mapping.participants))
            for host in mapping.participants:
                w.text(host.participant)
                w.u8(host.permission)
        case MediatorDomainState():
            w.texts(mapping.mediators)
        case SequencerDomainState():
            w.texts(mapping.sequencers)
        case VettedPackages():
            w.text(mapping.participant)
            w.texts(mapping.package_ids)
        case DomainParametersState():
            write_parameters(w, mapping.parameters)


def read_mapping(r: Reader) -> TopologyMapping:
    code_number = r.u8()
    try:
        code = MappingCode(code_number)
    except ValueError:
        raise TopologyDecodeError(f"unknown topology mapping code {code_number}") from None
    try:
        return _READERS[code](r)
    except (InvalidArgument, CryptoError, ValueError, TypeError) as err:
        raise TopologyDecodeError(f"invalid {code.name.lower()}: {err}") from None


def _read_namespace_delegation(r: Reader) -> TopologyMapping:
    namespace = Fingerprint(r.text())
    key = SigningPublicKey(r.raw())
    flag = r.u8()
    if flag not in (0, 1):
        raise TopologyDecodeError(f"boolean field holds {flag}")
    return NamespaceDelegation(namespace, key, bool(flag))


def _read_owner_to_key(r: Reader) -> TopologyMapping:
    member = MemberId(r.text())
    signing = tuple(SigningPublicKey(r.raw()) for _ in range(r.count(4)))
    encryption = tuple(EncryptionPublicKey(r.raw()) for _ in range(r.count(4)))
    return OwnerToKeyMapping(member, signing, encryption)


def _read_participant_state(r: Reader) -> TopologyMapping:
    participant = ParticipantId(r.text())
    permission = ParticipantPermission(r.u8())
    return ParticipantState(participant, permission, TrustLevel(r.u8()))


def _read_party_to_participant(r: Reader) -> TopologyMapping:
    party = PartyId(r.text())
    hosts = tuple(
        HostingParticipant(ParticipantId(r.text()), ParticipantPermission(r.u8()))
        for _ in range(r.count(5))
    )
    return PartyToParticipant(party, hosts)


def _read_mediators(r: Reader) -> TopologyMapping:
    return MediatorDomainState(frozenset(MemberId(m) for m in r.texts()))


def _read_sequencers(r: Reader) -> TopologyMapping:
    return SequencerDomainState(frozenset(MemberId(s) for s in r.texts()))


def _read_vetted_packages(r: Reader) -> TopologyMapping:
    participant = ParticipantId(r.text())
    return VettedPackages(participant, frozenset(PackageId(p) for p in r.texts()))


def _read_parameters_state(r: Reader) -> TopologyMapping:
    return DomainParametersState(read_parameters(r))


_READERS: dict[MappingCode, Callable[[Reader], TopologyMapping]] = {
    MappingCode.NAMESPACE_DELEGATION: _read_namespace_delegation,
    MappingCode.OWNER_TO_KEY_MAPPING: _read_owner_to_key,
    MappingCode.PARTICIPANT_STATE: _read_participant_state,
    MappingCode.PARTY_TO_PARTICIPANT: _read_party_to_participant,
    MappingCode.MEDIATOR_DOMAIN_STATE: _read_mediators,
    MappingCode.SEQUENCER_DOMAIN_STATE: _read_sequencers,
    MappingCode.VETTED_PACKAGES: _read_vetted_packages,
    MappingCode.DOMAIN_PARAMETERS_STATE: _read_parameters_state,
}
