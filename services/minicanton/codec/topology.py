"""Protobuf <-> core for the topology manager's API (minicanton.topology.v1).

Topology transactions themselves travel as the core's canonical bytes (their signatures cover
those bytes' hash); this module maps only what is around them: enums, domain parameters,
listings of a `TopologySnapshot`, and the summary of an accepted change. Untrusted input
raises `InvalidArgument` (or a subclass), never a protobuf or enum exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from minicanton.codec.gen.minicanton.topology.v1 import topology_admin_pb2 as pb
from minicanton.core.crypto.encryption import EncryptionPublicKey
from minicanton.core.crypto.signing import Signature, SigningPublicKey
from minicanton.core.errors import InvalidArgument
from minicanton.core.hashing import Hash, HashPurpose, hash_of
from minicanton.core.ids import Fingerprint, MemberId, ParticipantId
from minicanton.core.topology.errors import TopologyDecodeError
from minicanton.core.topology.mappings import (
    HostingParticipant,
    MappingCode,
    ParticipantPermission,
    PartyToParticipant,
    TrustLevel,
    VettedPackages,
)
from minicanton.core.topology.parameters import ConfirmationPolicy, DomainParameters
from minicanton.core.topology.snapshot import TopologySnapshot
from minicanton.core.topology.state import StoredTopologyTransaction
from minicanton.core.topology.transactions import (
    SignedTopologyTransaction,
    TopologyTransaction,
)

_POLICY_TO_PB = {
    ConfirmationPolicy.SIGNATORY: pb.CONFIRMATION_POLICY_SIGNATORY,
    ConfirmationPolicy.VIP: pb.CONFIRMATION_POLICY_VIP,
    ConfirmationPolicy.FULL: pb.CONFIRMATION_POLICY_FULL,
}
_POLICY_FROM_PB = {v: k for k, v in _POLICY_TO_PB.items()}


def permission_from_proto(value: int, *, default: ParticipantPermission
                          = ParticipantPermission.SUBMISSION) -> ParticipantPermission:
    if value == pb.PARTICIPANT_PERMISSION_UNSPECIFIED:
        return default
    try:
        return ParticipantPermission(int(value))
    except ValueError:
        raise InvalidArgument(f"unknown participant permission {value}") from None


def permission_to_proto(permission: ParticipantPermission) -> pb.ParticipantPermission:
    return pb.ParticipantPermission.Value(  # type: ignore[no-any-return]
        f"PARTICIPANT_PERMISSION_{permission.name}")


def trust_level_from_proto(value: int, *, default: TrustLevel | None = None) -> TrustLevel:
    if value == pb.TRUST_LEVEL_UNSPECIFIED and default is not None:
        return default
    try:
        return TrustLevel(int(value))
    except ValueError:
        raise InvalidArgument(f"trust level must be ORDINARY or VIP, got {value}") from None


def trust_level_to_proto(level: TrustLevel) -> pb.TrustLevel:
    return pb.TrustLevel.Value(f"TRUST_LEVEL_{level.name}")  # type: ignore[no-any-return]


def policy_from_proto(value: int) -> ConfirmationPolicy:
    policy = _POLICY_FROM_PB.get(value)  # type: ignore[call-overload]
    if policy is None:
        raise InvalidArgument(f"confirmation policy must be SIGNATORY, VIP or FULL, got {value}")
    return policy  # type: ignore[no-any-return]


def parameters_to_proto(parameters: DomainParameters) -> pb.DomainParameters:
    return pb.DomainParameters(
        confirmation_response_timeout_us=parameters.confirmation_response_timeout_us,
        mediator_reaction_timeout_us=parameters.mediator_reaction_timeout_us,
        ledger_time_record_time_tolerance_us=parameters.ledger_time_record_time_tolerance_us,
        topology_change_delay_us=parameters.topology_change_delay_us,
        max_request_size_bytes=parameters.max_request_size_bytes,
        default_confirmation_policy=_POLICY_TO_PB[parameters.default_confirmation_policy],
    )


def parameters_from_proto(message: pb.DomainParameters) -> DomainParameters:
    return DomainParameters(
        confirmation_response_timeout_us=message.confirmation_response_timeout_us,
        mediator_reaction_timeout_us=message.mediator_reaction_timeout_us,
        ledger_time_record_time_tolerance_us=message.ledger_time_record_time_tolerance_us,
        topology_change_delay_us=message.topology_change_delay_us,
        max_request_size_bytes=message.max_request_size_bytes,
        default_confirmation_policy=policy_from_proto(message.default_confirmation_policy),
    )


_PARAMETER_FIELDS = (
    "confirmation_response_timeout_us",
    "mediator_reaction_timeout_us",
    "ledger_time_record_time_tolerance_us",
    "topology_change_delay_us",
    "max_request_size_bytes",
)


def parameters_change_from_proto(
    message: pb.SetDomainParametersRequest, current: DomainParameters
) -> DomainParameters:
    """`current` with the fields the request sets; validated by `DomainParameters`."""
    changes: dict[str, object] = {
        name: getattr(message, name) for name in _PARAMETER_FIELDS if message.HasField(name)
    }
    if message.HasField("default_confirmation_policy"):
        changes["default_confirmation_policy"] = policy_from_proto(
            message.default_confirmation_policy)
    if not changes:
        raise InvalidArgument("set at least one domain parameter")
    values = {name: getattr(current, name) for name in (*_PARAMETER_FIELDS,
                                                         "default_confirmation_policy")}
    return DomainParameters(**{**values, **changes})


def hosts_from_proto(hosts: Iterable[pb.HostingParticipant]) -> tuple[HostingParticipant, ...]:
    return tuple(
        HostingParticipant(ParticipantId(h.participant), permission_from_proto(h.permission))
        for h in hosts
    )


def signed_transaction_from_bytes(data: bytes, what: str) -> SignedTopologyTransaction:
    if not data:
        raise InvalidArgument(f"{what} is empty")
    try:
        return SignedTopologyTransaction.from_bytes(data)
    except TopologyDecodeError as error:
        raise TopologyDecodeError(f"{what}: {error.message}") from None


def summary_to_proto(transaction: TopologyTransaction) -> pb.TransactionSummary:
    return pb.TransactionSummary(
        hash=transaction.hash.hex, operation=transaction.operation.name,
        serial=transaction.serial, mapping=str(transaction.key),
    )


def change_to_proto(
    transactions: Sequence[SignedTopologyTransaction], sequenced_us: int, effective_us: int
) -> pb.TopologyChange:
    return pb.TopologyChange(
        transactions=[summary_to_proto(s.transaction) for s in transactions],
        sequenced_us=sequenced_us, effective_us=effective_us,
        unchanged=not transactions,
    )


def stored_to_proto(stored: StoredTopologyTransaction) -> pb.StoredTopologyTransaction:
    return pb.StoredTopologyTransaction(
        signed_transaction=stored.signed.to_bytes(), sequenced_us=stored.sequenced_us)


# --- listings of a snapshot --------------------------------------------------------------


def _matches(text: str, needle: str) -> bool:
    return not needle or needle in text


def participants_to_proto(
    snapshot: TopologySnapshot, needle: str = ""
) -> pb.ListParticipantsResponse:
    return pb.ListParticipantsResponse(participants=[
        pb.ParticipantInfo(participant=participant,
                           permission=permission_to_proto(attributes.permission),
                           trust_level=trust_level_to_proto(attributes.trust_level))
        for participant, attributes in sorted(snapshot.participants().items())
        if _matches(participant, needle)
    ])


def parties_to_proto(snapshot: TopologySnapshot, needle: str = "") -> pb.ListPartiesResponse:
    mappings = sorted(
        (m for m in snapshot.all_mappings(MappingCode.PARTY_TO_PARTICIPANT)
         if isinstance(m, PartyToParticipant) and _matches(m.party, needle)),
        key=lambda m: m.party,
    )
    return pb.ListPartiesResponse(parties=[
        pb.PartyInfo(party=m.party, hosts=[
            pb.HostingParticipant(participant=h.participant,
                                  permission=permission_to_proto(h.permission))
            for h in m.participants
        ])
        for m in mappings
    ])


def keys_to_proto(snapshot: TopologySnapshot, needle: str = "") -> pb.ListKeysResponse:
    members = sorted(m for m in snapshot.members() if _matches(m, needle))
    return pb.ListKeysResponse(members=[_member_keys(snapshot, m) for m in members])


def _member_keys(snapshot: TopologySnapshot, member: MemberId) -> pb.MemberKeys:
    return pb.MemberKeys(
        member=member,
        signing_keys=[pb.KeyInfo(fingerprint=k.fingerprint, public_key=k.raw)
                      for k in snapshot.signing_keys(member)],
        encryption_keys=[pb.KeyInfo(fingerprint=k.fingerprint, public_key=k.raw)
                         for k in snapshot.encryption_keys(member)],
    )


def members_to_proto(members: Iterable[MemberId], needle: str = "") -> pb.ListMembersResponse:
    return pb.ListMembersResponse(members=sorted(m for m in members if _matches(m, needle)))


def vetted_to_proto(
    snapshot: TopologySnapshot, needle: str = ""
) -> pb.ListVettedPackagesResponse:
    mappings = sorted(
        (m for m in snapshot.all_mappings(MappingCode.VETTED_PACKAGES)
         if isinstance(m, VettedPackages) and _matches(m.participant, needle)),
        key=lambda m: m.participant,
    )
    return pb.ListVettedPackagesResponse(participants=[
        pb.VettedPackagesInfo(participant=m.participant, package_ids=sorted(m.package_ids))
        for m in mappings
    ])


# --- member-signed requests --------------------------------------------------------------

MEMBER_HEADER = "x-minicanton-member"
TIMESTAMP_HEADER = "x-minicanton-timestamp-us"
SIGNATURE_HEADER = "x-minicanton-signature"
_REQUEST_LABEL = "minicanton.topology.request.v1"


def member_request_hash(
    domain_id: str, method: str, member: str, timestamp_us: int, body: bytes
) -> Hash:
    """What a member signs to call the topology manager for itself (see the proto's header).
    A distinct label keeps it apart from the sequencer's challenge under the same purpose."""
    return hash_of(HashPurpose.AUTH_CHALLENGE, _REQUEST_LABEL, domain_id, method, member,
                   timestamp_us.to_bytes(8, "big", signed=True), body)


def signature_to_header(signature: Signature) -> str:
    return f"{signature.signed_by}:{signature.raw.hex()}"


def signature_from_header(text: str) -> Signature:
    signed_by, sep, raw_hex = text.partition(":")
    try:
        raw = bytes.fromhex(raw_hex)
    except ValueError:
        raw = b""
    if not sep or len(raw) != 64:
        raise InvalidArgument(f"{SIGNATURE_HEADER} must be '<fingerprint>:<128 hex digits>'")
    return Signature(Fingerprint(signed_by), HashPurpose.AUTH_CHALLENGE, raw)


def signing_key_from_bytes(raw: bytes) -> SigningPublicKey:
    if len(raw) != 32:
        raise InvalidArgument(f"a signing key is a raw 32-byte Ed25519 key, got {len(raw)} bytes")
    return SigningPublicKey(raw)


def encryption_key_from_bytes(raw: bytes) -> EncryptionPublicKey:
    if len(raw) != 32:
        raise InvalidArgument(
            f"an encryption key is a raw 32-byte X25519 key, got {len(raw)} bytes")
    return EncryptionPublicKey(raw)
