from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RecipientGroup(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECIPIENT_GROUP_UNSPECIFIED: _ClassVar[RecipientGroup]
    ALL_MEMBERS: _ClassVar[RecipientGroup]
    ALL_PARTICIPANTS: _ClassVar[RecipientGroup]
    MEDIATOR_GROUP: _ClassVar[RecipientGroup]
RECIPIENT_GROUP_UNSPECIFIED: RecipientGroup
ALL_MEMBERS: RecipientGroup
ALL_PARTICIPANTS: RecipientGroup
MEDIATOR_GROUP: RecipientGroup

class Signature(_message.Message):
    __slots__ = ("signed_by", "purpose", "raw")
    SIGNED_BY_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    signed_by: str
    purpose: int
    raw: bytes
    def __init__(self, signed_by: _Optional[str] = ..., purpose: _Optional[int] = ..., raw: _Optional[bytes] = ...) -> None: ...

class Recipient(_message.Message):
    __slots__ = ("member", "group")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    member: str
    group: RecipientGroup
    def __init__(self, member: _Optional[str] = ..., group: _Optional[_Union[RecipientGroup, str]] = ...) -> None: ...

class Envelope(_message.Message):
    __slots__ = ("recipients", "content")
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    recipients: _containers.RepeatedCompositeFieldContainer[Recipient]
    content: bytes
    def __init__(self, recipients: _Optional[_Iterable[_Union[Recipient, _Mapping]]] = ..., content: _Optional[bytes] = ...) -> None: ...

class Batch(_message.Message):
    __slots__ = ("envelopes",)
    ENVELOPES_FIELD_NUMBER: _ClassVar[int]
    envelopes: _containers.RepeatedCompositeFieldContainer[Envelope]
    def __init__(self, envelopes: _Optional[_Iterable[_Union[Envelope, _Mapping]]] = ...) -> None: ...

class SubmissionRequest(_message.Message):
    __slots__ = ("domain_id", "sender", "message_id", "max_sequencing_time_us", "batch")
    DOMAIN_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_SEQUENCING_TIME_US_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    domain_id: str
    sender: str
    message_id: str
    max_sequencing_time_us: int
    batch: Batch
    def __init__(self, domain_id: _Optional[str] = ..., sender: _Optional[str] = ..., message_id: _Optional[str] = ..., max_sequencing_time_us: _Optional[int] = ..., batch: _Optional[_Union[Batch, _Mapping]] = ...) -> None: ...

class SignedSubmissionRequest(_message.Message):
    __slots__ = ("request", "signature", "run_proof")
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    RUN_PROOF_FIELD_NUMBER: _ClassVar[int]
    request: SubmissionRequest
    signature: Signature
    run_proof: _containers.RepeatedCompositeFieldContainer[RunProofStep]
    def __init__(self, request: _Optional[_Union[SubmissionRequest, _Mapping]] = ..., signature: _Optional[_Union[Signature, _Mapping]] = ..., run_proof: _Optional[_Iterable[_Union[RunProofStep, _Mapping]]] = ...) -> None: ...

class SendAccepted(_message.Message):
    __slots__ = ("timestamp_us", "duplicate")
    TIMESTAMP_US_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    timestamp_us: int
    duplicate: bool
    def __init__(self, timestamp_us: _Optional[int] = ..., duplicate: bool = ...) -> None: ...

class SendRejected(_message.Message):
    __slots__ = ("error_id", "message")
    ERROR_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    error_id: str
    message: str
    def __init__(self, error_id: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class SendResponse(_message.Message):
    __slots__ = ("message_id", "accepted", "rejected")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    accepted: SendAccepted
    rejected: SendRejected
    def __init__(self, message_id: _Optional[str] = ..., accepted: _Optional[_Union[SendAccepted, _Mapping]] = ..., rejected: _Optional[_Union[SendRejected, _Mapping]] = ...) -> None: ...

class Deliver(_message.Message):
    __slots__ = ("sender", "message_id", "batch")
    SENDER_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    sender: str
    message_id: str
    batch: Batch
    def __init__(self, sender: _Optional[str] = ..., message_id: _Optional[str] = ..., batch: _Optional[_Union[Batch, _Mapping]] = ...) -> None: ...

class DeliverError(_message.Message):
    __slots__ = ("message_id", "error_id", "reason")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    error_id: str
    reason: str
    def __init__(self, message_id: _Optional[str] = ..., error_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class SequencedEvent(_message.Message):
    __slots__ = ("domain_id", "member", "counter", "timestamp_us", "previous_timestamp_us", "deliver", "deliver_error")
    DOMAIN_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    COUNTER_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_US_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_TIMESTAMP_US_FIELD_NUMBER: _ClassVar[int]
    DELIVER_FIELD_NUMBER: _ClassVar[int]
    DELIVER_ERROR_FIELD_NUMBER: _ClassVar[int]
    domain_id: str
    member: str
    counter: int
    timestamp_us: int
    previous_timestamp_us: int
    deliver: Deliver
    deliver_error: DeliverError
    def __init__(self, domain_id: _Optional[str] = ..., member: _Optional[str] = ..., counter: _Optional[int] = ..., timestamp_us: _Optional[int] = ..., previous_timestamp_us: _Optional[int] = ..., deliver: _Optional[_Union[Deliver, _Mapping]] = ..., deliver_error: _Optional[_Union[DeliverError, _Mapping]] = ...) -> None: ...

class SignedSequencedEvent(_message.Message):
    __slots__ = ("event", "signature", "run_proof")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    RUN_PROOF_FIELD_NUMBER: _ClassVar[int]
    event: bytes
    signature: Signature
    run_proof: _containers.RepeatedCompositeFieldContainer[RunProofStep]
    def __init__(self, event: _Optional[bytes] = ..., signature: _Optional[_Union[Signature, _Mapping]] = ..., run_proof: _Optional[_Iterable[_Union[RunProofStep, _Mapping]]] = ...) -> None: ...

class RunProofStep(_message.Message):
    __slots__ = ("sibling", "sibling_is_left")
    SIBLING_FIELD_NUMBER: _ClassVar[int]
    SIBLING_IS_LEFT_FIELD_NUMBER: _ClassVar[int]
    sibling: bytes
    sibling_is_left: bool
    def __init__(self, sibling: _Optional[bytes] = ..., sibling_is_left: bool = ...) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("member", "from_counter")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    FROM_COUNTER_FIELD_NUMBER: _ClassVar[int]
    member: str
    from_counter: int
    def __init__(self, member: _Optional[str] = ..., from_counter: _Optional[int] = ...) -> None: ...

class ChallengeRequest(_message.Message):
    __slots__ = ("member",)
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    member: str
    def __init__(self, member: _Optional[str] = ...) -> None: ...

class Challenge(_message.Message):
    __slots__ = ("nonce", "expires_at_us")
    NONCE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_US_FIELD_NUMBER: _ClassVar[int]
    nonce: bytes
    expires_at_us: int
    def __init__(self, nonce: _Optional[bytes] = ..., expires_at_us: _Optional[int] = ...) -> None: ...

class AuthenticateRequest(_message.Message):
    __slots__ = ("member", "nonce", "signature")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    member: str
    nonce: bytes
    signature: Signature
    def __init__(self, member: _Optional[str] = ..., nonce: _Optional[bytes] = ..., signature: _Optional[_Union[Signature, _Mapping]] = ...) -> None: ...

class AuthToken(_message.Message):
    __slots__ = ("token", "expires_at_us")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_US_FIELD_NUMBER: _ClassVar[int]
    token: str
    expires_at_us: int
    def __init__(self, token: _Optional[str] = ..., expires_at_us: _Optional[int] = ...) -> None: ...

class AcknowledgeRequest(_message.Message):
    __slots__ = ("member", "timestamp_us")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_US_FIELD_NUMBER: _ClassVar[int]
    member: str
    timestamp_us: int
    def __init__(self, member: _Optional[str] = ..., timestamp_us: _Optional[int] = ...) -> None: ...

class AcknowledgeResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SequencerInfo(_message.Message):
    __slots__ = ("domain_id", "sequencer_id", "sequencer_public_key", "node_index", "total_nodes")
    DOMAIN_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCER_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCER_PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    NODE_INDEX_FIELD_NUMBER: _ClassVar[int]
    TOTAL_NODES_FIELD_NUMBER: _ClassVar[int]
    domain_id: str
    sequencer_id: str
    sequencer_public_key: bytes
    node_index: int
    total_nodes: int
    def __init__(self, domain_id: _Optional[str] = ..., sequencer_id: _Optional[str] = ..., sequencer_public_key: _Optional[bytes] = ..., node_index: _Optional[int] = ..., total_nodes: _Optional[int] = ...) -> None: ...

class SignedSubmissionRequestBatch(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[SignedSubmissionRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[SignedSubmissionRequest, _Mapping]]] = ...) -> None: ...

class SignedSequencedEventBatch(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[SignedSequencedEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[SignedSequencedEvent, _Mapping]]] = ...) -> None: ...

class SendResponseBatch(_message.Message):
    __slots__ = ("responses",)
    RESPONSES_FIELD_NUMBER: _ClassVar[int]
    responses: _containers.RepeatedCompositeFieldContainer[SendResponse]
    def __init__(self, responses: _Optional[_Iterable[_Union[SendResponse, _Mapping]]] = ...) -> None: ...

class StoredEnvelope(_message.Message):
    __slots__ = ("member_numbers", "envelope")
    MEMBER_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    member_numbers: _containers.RepeatedScalarFieldContainer[int]
    envelope: Envelope
    def __init__(self, member_numbers: _Optional[_Iterable[int]] = ..., envelope: _Optional[_Union[Envelope, _Mapping]] = ...) -> None: ...

class StoredBatch(_message.Message):
    __slots__ = ("envelopes",)
    ENVELOPES_FIELD_NUMBER: _ClassVar[int]
    envelopes: _containers.RepeatedCompositeFieldContainer[StoredEnvelope]
    def __init__(self, envelopes: _Optional[_Iterable[_Union[StoredEnvelope, _Mapping]]] = ...) -> None: ...
