from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ParticipantPermission(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PARTICIPANT_PERMISSION_UNSPECIFIED: _ClassVar[ParticipantPermission]
    PARTICIPANT_PERMISSION_OBSERVATION: _ClassVar[ParticipantPermission]
    PARTICIPANT_PERMISSION_CONFIRMATION: _ClassVar[ParticipantPermission]
    PARTICIPANT_PERMISSION_SUBMISSION: _ClassVar[ParticipantPermission]

class TrustLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRUST_LEVEL_UNSPECIFIED: _ClassVar[TrustLevel]
    TRUST_LEVEL_ORDINARY: _ClassVar[TrustLevel]
    TRUST_LEVEL_VIP: _ClassVar[TrustLevel]

class ConfirmationPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONFIRMATION_POLICY_UNSPECIFIED: _ClassVar[ConfirmationPolicy]
    CONFIRMATION_POLICY_SIGNATORY: _ClassVar[ConfirmationPolicy]
    CONFIRMATION_POLICY_VIP: _ClassVar[ConfirmationPolicy]
    CONFIRMATION_POLICY_FULL: _ClassVar[ConfirmationPolicy]

class OnboardingStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ONBOARDING_STATUS_UNSPECIFIED: _ClassVar[OnboardingStatus]
    ONBOARDING_STATUS_PENDING: _ClassVar[OnboardingStatus]
    ONBOARDING_STATUS_ADMITTED: _ClassVar[OnboardingStatus]
    ONBOARDING_STATUS_REJECTED: _ClassVar[OnboardingStatus]
PARTICIPANT_PERMISSION_UNSPECIFIED: ParticipantPermission
PARTICIPANT_PERMISSION_OBSERVATION: ParticipantPermission
PARTICIPANT_PERMISSION_CONFIRMATION: ParticipantPermission
PARTICIPANT_PERMISSION_SUBMISSION: ParticipantPermission
TRUST_LEVEL_UNSPECIFIED: TrustLevel
TRUST_LEVEL_ORDINARY: TrustLevel
TRUST_LEVEL_VIP: TrustLevel
CONFIRMATION_POLICY_UNSPECIFIED: ConfirmationPolicy
CONFIRMATION_POLICY_SIGNATORY: ConfirmationPolicy
CONFIRMATION_POLICY_VIP: ConfirmationPolicy
CONFIRMATION_POLICY_FULL: ConfirmationPolicy
ONBOARDING_STATUS_UNSPECIFIED: OnboardingStatus
ONBOARDING_STATUS_PENDING: OnboardingStatus
ONBOARDING_STATUS_ADMITTED: OnboardingStatus
ONBOARDING_STATUS_REJECTED: OnboardingStatus

class DomainParameters(_message.Message):
    __slots__ = ("confirmation_response_timeout_us", "mediator_reaction_timeout_us", "ledger_time_record_time_tolerance_us", "topology_change_delay_us", "max_request_size_bytes", "default_confirmation_policy")
    CONFIRMATION_RESPONSE_TIMEOUT_US_FIELD_NUMBER: _ClassVar[int]
    MEDIATOR_REACTION_TIMEOUT_US_FIELD_NUMBER: _ClassVar[int]
    LEDGER_TIME_RECORD_TIME_TOLERANCE_US_FIELD_NUMBER: _ClassVar[int]
    TOPOLOGY_CHANGE_DELAY_US_FIELD_NUMBER: _ClassVar[int]
    MAX_REQUEST_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_CONFIRMATION_POLICY_FIELD_NUMBER: _ClassVar[int]
    confirmation_response_timeout_us: int
    mediator_reaction_timeout_us: int
    ledger_time_record_time_tolerance_us: int
    topology_change_delay_us: int
    max_request_size_bytes: int
    default_confirmation_policy: ConfirmationPolicy
    def __init__(self, confirmation_response_timeout_us: _Optional[int] = ..., mediator_reaction_timeout_us: _Optional[int] = ..., ledger_time_record_time_tolerance_us: _Optional[int] = ..., topology_change_delay_us: _Optional[int] = ..., max_request_size_bytes: _Optional[int] = ..., default_confirmation_policy: _Optional[_Union[ConfirmationPolicy, str]] = ...) -> None: ...

class TransactionSummary(_message.Message):
    __slots__ = ("hash", "operation", "serial", "mapping")
    HASH_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    MAPPING_FIELD_NUMBER: _ClassVar[int]
    hash: str
    operation: str
    serial: int
    mapping: str
    def __init__(self, hash: _Optional[str] = ..., operation: _Optional[str] = ..., serial: _Optional[int] = ..., mapping: _Optional[str] = ...) -> None: ...

class TopologyChange(_message.Message):
    __slots__ = ("transactions", "sequenced_us", "effective_us", "unchanged")
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCED_US_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_US_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    transactions: _containers.RepeatedCompositeFieldContainer[TransactionSummary]
    sequenced_us: int
    effective_us: int
    unchanged: bool
    def __init__(self, transactions: _Optional[_Iterable[_Union[TransactionSummary, _Mapping]]] = ..., sequenced_us: _Optional[int] = ..., effective_us: _Optional[int] = ..., unchanged: bool = ...) -> None: ...

class GetDomainInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DomainInfo(_message.Message):
    __slots__ = ("domain_id", "domain_namespace", "namespace_public_key", "topology_manager_id", "genesis_parameters", "admission_policy")
    DOMAIN_ID_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    TOPOLOGY_MANAGER_ID_FIELD_NUMBER: _ClassVar[int]
    GENESIS_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    ADMISSION_POLICY_FIELD_NUMBER: _ClassVar[int]
    domain_id: str
    domain_namespace: str
    namespace_public_key: bytes
    topology_manager_id: str
    genesis_parameters: DomainParameters
    admission_policy: str
    def __init__(self, domain_id: _Optional[str] = ..., domain_namespace: _Optional[str] = ..., namespace_public_key: _Optional[bytes] = ..., topology_manager_id: _Optional[str] = ..., genesis_parameters: _Optional[_Union[DomainParameters, _Mapping]] = ..., admission_policy: _Optional[str] = ...) -> None: ...

class RequestOnboardingRequest(_message.Message):
    __slots__ = ("key_mapping", "permission")
    KEY_MAPPING_FIELD_NUMBER: _ClassVar[int]
    PERMISSION_FIELD_NUMBER: _ClassVar[int]
    key_mapping: bytes
    permission: ParticipantPermission
    def __init__(self, key_mapping: _Optional[bytes] = ..., permission: _Optional[_Union[ParticipantPermission, str]] = ...) -> None: ...

class RequestOnboardingResponse(_message.Message):
    __slots__ = ("status", "change")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    status: OnboardingStatus
    change: TopologyChange
    def __init__(self, status: _Optional[_Union[OnboardingStatus, str]] = ..., change: _Optional[_Union[TopologyChange, _Mapping]] = ...) -> None: ...

class OnboardingRequestInfo(_message.Message):
    __slots__ = ("participant", "status", "signing_key_fingerprints", "encryption_key_fingerprints", "permission", "requested_at_us", "decided_at_us", "reason", "effective_us")
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SIGNING_KEY_FINGERPRINTS_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTION_KEY_FINGERPRINTS_FIELD_NUMBER: _ClassVar[int]
    PERMISSION_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_US_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_US_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_US_FIELD_NUMBER: _ClassVar[int]
    participant: str
    status: OnboardingStatus
    signing_key_fingerprints: _containers.RepeatedScalarFieldContainer[str]
    encryption_key_fingerprints: _containers.RepeatedScalarFieldContainer[str]
    permission: ParticipantPermission
    requested_at_us: int
    decided_at_us: int
    reason: str
    effective_us: int
    def __init__(self, participant: _Optional[str] = ..., status: _Optional[_Union[OnboardingStatus, str]] = ..., signing_key_fingerprints: _Optional[_Iterable[str]] = ..., encryption_key_fingerprints: _Optional[_Iterable[str]] = ..., permission: _Optional[_Union[ParticipantPermission, str]] = ..., requested_at_us: _Optional[int] = ..., decided_at_us: _Optional[int] = ..., reason: _Optional[str] = ..., effective_us: _Optional[int] = ...) -> None: ...

class GetOnboardingStatusRequest(_message.Message):
    __slots__ = ("participant",)
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    participant: str
    def __init__(self, participant: _Optional[str] = ...) -> None: ...

class ListOnboardingRequestsRequest(_message.Message):
    __slots__ = ("pending_only",)
    PENDING_ONLY_FIELD_NUMBER: _ClassVar[int]
    pending_only: bool
    def __init__(self, pending_only: bool = ...) -> None: ...

class ListOnboardingRequestsResponse(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[OnboardingRequestInfo]
    def __init__(self, requests: _Optional[_Iterable[_Union[OnboardingRequestInfo, _Mapping]]] = ...) -> None: ...

class ApproveOnboardingRequest(_message.Message):
    __slots__ = ("participant", "trust_level")
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    TRUST_LEVEL_FIELD_NUMBER: _ClassVar[int]
    participant: str
    trust_level: TrustLevel
    def __init__(self, participant: _Optional[str] = ..., trust_level: _Optional[_Union[TrustLevel, str]] = ...) -> None: ...

class ApproveOnboardingResponse(_message.Message):
    __slots__ = ("change",)
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    change: TopologyChange
    def __init__(self, change: _Optional[_Union[TopologyChange, _Mapping]] = ...) -> None: ...

class RejectOnboardingRequest(_message.Message):
    __slots__ = ("participant", "reason")
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    participant: str
    reason: str
    def __init__(self, participant: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RejectOnboardingResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class OffboardParticipantRequest(_message.Message):
    __slots__ = ("participant",)
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    participant: str
    def __init__(self, participant: _Optional[str] = ...) -> None: ...

class OffboardParticipantResponse(_message.Message):
    __slots__ = ("change",)
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    change: TopologyChange
    def __init__(self, change: _Optional[_Union[TopologyChange, _Mapping]] = ...) -> None: ...

class SetTrustLevelRequest(_message.Message):
    __slots__ = ("participant", "trust_level")
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    TRUST_LEVEL_FIELD_NUMBER: _ClassVar[int]
    participant: str
    trust_level: TrustLevel
    def __init__(self, participant: _Optional[str] = ..., trust_level: _Optional[_Union[TrustLevel, str]] = ...) -> None: ...

class SetTrustLevelResponse(_message.Message):
    __slots__ = ("change",)
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    change: TopologyChange
    def __init__(self, change: _Optional[_Union[TopologyChange, _Mapping]] = ...) -> None: ...

class AddDomainMemberRequest(_message.Message):
    __slots__ = ("key_mapping",)
    KEY_MAPPING_FIELD_NUMBER: _ClassVar[int]
    key_mapping: bytes
    def __init__(self, key_mapping: _Optional[bytes] = ...) -> None: ...

class AddDomainMemberResponse(_message.Message):
    __slots__ = ("change",)
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    change: TopologyChange
    def __init__(self, change: _Optional[_Union[TopologyChange, _Mapping]] = ...) -> None: ...

class RemoveDomainMemberRequest(_message.Message):
    __slots__ = ("member",)
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    member: str
    def __init__(self, member: _Optional[str] = ...) -> None: ...

class RemoveDomainMemberResponse(_message.Message):
    __slots__ = ("change",)
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    change: TopologyChange
    def __init__(self, change: _Optional[_Union[TopologyChange, _Mapping]] = ...) -> None: ...

class HostingParticipant(_message.Message):
    __slots__ = ("participant", "permission")
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    PERMISSION_FIELD_NUMBER: _ClassVar[int]
    participant: str
    permission: ParticipantPermission
    def __init__(self, participant: _Optional[str] = ..., permission: _Optional[_Union[ParticipantPermission, str]] = ...) -> None: ...

class AllocatePartyRequest(_message.Message):
    __slots__ = ("party", "hosts")
    PARTY_FIELD_NUMBER: _ClassVar[int]
    HOSTS_FIELD_NUMBER: _ClassVar[int]
    party: str
    hosts: _containers.RepeatedCompositeFieldContainer[HostingParticipant]
    def __init__(self, party: _Optional[str] = ..., hosts: _Optional[_Iterable[_Union[HostingParticipant, _Mapping]]] = ...) -> None: ...

class AllocatePartyResponse(_message.Message):
    __slots__ = ("change",)
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    change: TopologyChange
    def __init__(self, change: _Optional[_Union[TopologyChange, _Mapping]] = ...) -> None: ...

class VetPackagesRequest(_message.Message):
    __slots__ = ("participant", "package_ids", "replace")
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_IDS_FIELD_NUMBER: _ClassVar[int]
    REPLACE_FIELD_NUMBER: _ClassVar[int]
    participant: str
    package_ids: _containers.RepeatedScalarFieldContainer[str]
    replace: bool
    def __init__(self, participant: _Optional[str] = ..., package_ids: _Optional[_Iterable[str]] = ..., replace: bool = ...) -> None: ...

class VetPackagesResponse(_message.Message):
    __slots__ = ("change",)
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    change: TopologyChange
    def __init__(self, change: _Optional[_Union[TopologyChange, _Mapping]] = ...) -> None: ...

class PrepareKeyMappingRequest(_message.Message):
    __slots__ = ("member", "add_signing_keys", "add_encryption_keys", "remove_fingerprints")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    ADD_SIGNING_KEYS_FIELD_NUMBER: _ClassVar[int]
    ADD_ENCRYPTION_KEYS_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FINGERPRINTS_FIELD_NUMBER: _ClassVar[int]
    member: str
    add_signing_keys: _containers.RepeatedScalarFieldContainer[bytes]
    add_encryption_keys: _containers.RepeatedScalarFieldContainer[bytes]
    remove_fingerprints: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, member: _Optional[str] = ..., add_signing_keys: _Optional[_Iterable[bytes]] = ..., add_encryption_keys: _Optional[_Iterable[bytes]] = ..., remove_fingerprints: _Optional[_Iterable[str]] = ...) -> None: ...

class PrepareKeyMappingResponse(_message.Message):
    __slots__ = ("transaction", "hash", "sign_with")
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    SIGN_WITH_FIELD_NUMBER: _ClassVar[int]
    transaction: bytes
    hash: str
    sign_with: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, transaction: _Optional[bytes] = ..., hash: _Optional[str] = ..., sign_with: _Optional[_Iterable[str]] = ...) -> None: ...

class SubmitKeyMappingRequest(_message.Message):
    __slots__ = ("signed_transaction",)
    SIGNED_TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    signed_transaction: bytes
    def __init__(self, signed_transaction: _Optional[bytes] = ...) -> None: ...

class SubmitKeyMappingResponse(_message.Message):
    __slots__ = ("change",)
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    change: TopologyChange
    def __init__(self, change: _Optional[_Union[TopologyChange, _Mapping]] = ...) -> None: ...

class RevokeKeyRequest(_message.Message):
    __slots__ = ("member", "fingerprint")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    member: str
    fingerprint: str
    def __init__(self, member: _Optional[str] = ..., fingerprint: _Optional[str] = ...) -> None: ...

class RevokeKeyResponse(_message.Message):
    __slots__ = ("change",)
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    change: TopologyChange
    def __init__(self, change: _Optional[_Union[TopologyChange, _Mapping]] = ...) -> None: ...

class SetDomainParametersRequest(_message.Message):
    __slots__ = ("confirmation_response_timeout_us", "mediator_reaction_timeout_us", "ledger_time_record_time_tolerance_us", "topology_change_delay_us", "max_request_size_bytes", "default_confirmation_policy")
    CONFIRMATION_RESPONSE_TIMEOUT_US_FIELD_NUMBER: _ClassVar[int]
    MEDIATOR_REACTION_TIMEOUT_US_FIELD_NUMBER: _ClassVar[int]
    LEDGER_TIME_RECORD_TIME_TOLERANCE_US_FIELD_NUMBER: _ClassVar[int]
    TOPOLOGY_CHANGE_DELAY_US_FIELD_NUMBER: _ClassVar[int]
    MAX_REQUEST_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_CONFIRMATION_POLICY_FIELD_NUMBER: _ClassVar[int]
    confirmation_response_timeout_us: int
    mediator_reaction_timeout_us: int
    ledger_time_record_time_tolerance_us: int
    topology_change_delay_us: int
    max_request_size_bytes: int
    default_confirmation_policy: ConfirmationPolicy
    def __init__(self, confirmation_response_timeout_us: _Optional[int] = ..., mediator_reaction_timeout_us: _Optional[int] = ..., ledger_time_record_time_tolerance_us: _Optional[int] = ..., topology_change_delay_us: _Optional[int] = ..., max_request_size_bytes: _Optional[int] = ..., default_confirmation_policy: _Optional[_Union[ConfirmationPolicy, str]] = ...) -> None: ...

class SetDomainParametersResponse(_message.Message):
    __slots__ = ("change", "parameters")
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    change: TopologyChange
    parameters: DomainParameters
    def __init__(self, change: _Optional[_Union[TopologyChange, _Mapping]] = ..., parameters: _Optional[_Union[DomainParameters, _Mapping]] = ...) -> None: ...

class ListRequest(_message.Message):
    __slots__ = ("as_of_us", "filter")
    AS_OF_US_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    as_of_us: int
    filter: str
    def __init__(self, as_of_us: _Optional[int] = ..., filter: _Optional[str] = ...) -> None: ...

class ParticipantInfo(_message.Message):
    __slots__ = ("participant", "permission", "trust_level")
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    PERMISSION_FIELD_NUMBER: _ClassVar[int]
    TRUST_LEVEL_FIELD_NUMBER: _ClassVar[int]
    participant: str
    permission: ParticipantPermission
    trust_level: TrustLevel
    def __init__(self, participant: _Optional[str] = ..., permission: _Optional[_Union[ParticipantPermission, str]] = ..., trust_level: _Optional[_Union[TrustLevel, str]] = ...) -> None: ...

class ListParticipantsResponse(_message.Message):
    __slots__ = ("participants",)
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    participants: _containers.RepeatedCompositeFieldContainer[ParticipantInfo]
    def __init__(self, participants: _Optional[_Iterable[_Union[ParticipantInfo, _Mapping]]] = ...) -> None: ...

class PartyInfo(_message.Message):
    __slots__ = ("party", "hosts")
    PARTY_FIELD_NUMBER: _ClassVar[int]
    HOSTS_FIELD_NUMBER: _ClassVar[int]
    party: str
    hosts: _containers.RepeatedCompositeFieldContainer[HostingParticipant]
    def __init__(self, party: _Optional[str] = ..., hosts: _Optional[_Iterable[_Union[HostingParticipant, _Mapping]]] = ...) -> None: ...

class ListPartiesResponse(_message.Message):
    __slots__ = ("parties",)
    PARTIES_FIELD_NUMBER: _ClassVar[int]
    parties: _containers.RepeatedCompositeFieldContainer[PartyInfo]
    def __init__(self, parties: _Optional[_Iterable[_Union[PartyInfo, _Mapping]]] = ...) -> None: ...

class KeyInfo(_message.Message):
    __slots__ = ("fingerprint", "public_key")
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    fingerprint: str
    public_key: bytes
    def __init__(self, fingerprint: _Optional[str] = ..., public_key: _Optional[bytes] = ...) -> None: ...

class MemberKeys(_message.Message):
    __slots__ = ("member", "signing_keys", "encryption_keys")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    SIGNING_KEYS_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTION_KEYS_FIELD_NUMBER: _ClassVar[int]
    member: str
    signing_keys: _containers.RepeatedCompositeFieldContainer[KeyInfo]
    encryption_keys: _containers.RepeatedCompositeFieldContainer[KeyInfo]
    def __init__(self, member: _Optional[str] = ..., signing_keys: _Optional[_Iterable[_Union[KeyInfo, _Mapping]]] = ..., encryption_keys: _Optional[_Iterable[_Union[KeyInfo, _Mapping]]] = ...) -> None: ...

class ListKeysResponse(_message.Message):
    __slots__ = ("members",)
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[MemberKeys]
    def __init__(self, members: _Optional[_Iterable[_Union[MemberKeys, _Mapping]]] = ...) -> None: ...

class ListMembersResponse(_message.Message):
    __slots__ = ("members",)
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, members: _Optional[_Iterable[str]] = ...) -> None: ...

class VettedPackagesInfo(_message.Message):
    __slots__ = ("participant", "package_ids")
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_IDS_FIELD_NUMBER: _ClassVar[int]
    participant: str
    package_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, participant: _Optional[str] = ..., package_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListVettedPackagesResponse(_message.Message):
    __slots__ = ("participants",)
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    participants: _containers.RepeatedCompositeFieldContainer[VettedPackagesInfo]
    def __init__(self, participants: _Optional[_Iterable[_Union[VettedPackagesInfo, _Mapping]]] = ...) -> None: ...

class GetDomainParametersResponse(_message.Message):
    __slots__ = ("parameters",)
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    parameters: DomainParameters
    def __init__(self, parameters: _Optional[_Union[DomainParameters, _Mapping]] = ...) -> None: ...

class FetchTopologyStateRequest(_message.Message):
    __slots__ = ("known_up_to_us",)
    KNOWN_UP_TO_US_FIELD_NUMBER: _ClassVar[int]
    known_up_to_us: int
    def __init__(self, known_up_to_us: _Optional[int] = ...) -> None: ...

class StoredTopologyTransaction(_message.Message):
    __slots__ = ("signed_transaction", "sequenced_us")
    SIGNED_TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    SEQUENCED_US_FIELD_NUMBER: _ClassVar[int]
    signed_transaction: bytes
    sequenced_us: int
    def __init__(self, signed_transaction: _Optional[bytes] = ..., sequenced_us: _Optional[int] = ...) -> None: ...

class FetchTopologyStateResponse(_message.Message):
    __slots__ = ("transactions", "known_up_to_us")
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    KNOWN_UP_TO_US_FIELD_NUMBER: _ClassVar[int]
    transactions: _containers.RepeatedCompositeFieldContainer[StoredTopologyTransaction]
    known_up_to_us: int
    def __init__(self, transactions: _Optional[_Iterable[_Union[StoredTopologyTransaction, _Mapping]]] = ..., known_up_to_us: _Optional[int] = ...) -> None: ...
