from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AuditedMessage(_message.Message):
    __slots__ = ("sequenced_at_us", "envelope_index", "request_id_us", "kind", "recipients", "payload", "summary")
    SEQUENCED_AT_US_FIELD_NUMBER: _ClassVar[int]
    ENVELOPE_INDEX_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_US_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    sequenced_at_us: int
    envelope_index: int
    request_id_us: int
    kind: str
    recipients: _containers.RepeatedScalarFieldContainer[str]
    payload: bytes
    summary: str
    def __init__(self, sequenced_at_us: _Optional[int] = ..., envelope_index: _Optional[int] = ..., request_id_us: _Optional[int] = ..., kind: _Optional[str] = ..., recipients: _Optional[_Iterable[str]] = ..., payload: _Optional[bytes] = ..., summary: _Optional[str] = ...) -> None: ...

class AuditedVerdict(_message.Message):
    __slots__ = ("decided_at_us", "message_id", "verdict", "result", "sent_at_us", "send_error", "summary")
    DECIDED_AT_US_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_US_FIELD_NUMBER: _ClassVar[int]
    SEND_ERROR_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    decided_at_us: int
    message_id: str
    verdict: str
    result: bytes
    sent_at_us: int
    send_error: str
    summary: str
    def __init__(self, decided_at_us: _Optional[int] = ..., message_id: _Optional[str] = ..., verdict: _Optional[str] = ..., result: _Optional[bytes] = ..., sent_at_us: _Optional[int] = ..., send_error: _Optional[str] = ..., summary: _Optional[str] = ...) -> None: ...

class GetRequestRequest(_message.Message):
    __slots__ = ("request_id_us",)
    REQUEST_ID_US_FIELD_NUMBER: _ClassVar[int]
    request_id_us: int
    def __init__(self, request_id_us: _Optional[int] = ...) -> None: ...

class GetRequestResponse(_message.Message):
    __slots__ = ("messages", "verdict")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[AuditedMessage]
    verdict: AuditedVerdict
    def __init__(self, messages: _Optional[_Iterable[_Union[AuditedMessage, _Mapping]]] = ..., verdict: _Optional[_Union[AuditedVerdict, _Mapping]] = ...) -> None: ...

class ListMessagesRequest(_message.Message):
    __slots__ = ("from_us", "to_us", "limit")
    FROM_US_FIELD_NUMBER: _ClassVar[int]
    TO_US_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    from_us: int
    to_us: int
    limit: int
    def __init__(self, from_us: _Optional[int] = ..., to_us: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class ListMessagesResponse(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[AuditedMessage]
    def __init__(self, messages: _Optional[_Iterable[_Union[AuditedMessage, _Mapping]]] = ...) -> None: ...
