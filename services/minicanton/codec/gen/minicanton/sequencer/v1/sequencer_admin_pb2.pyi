from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RegisterMemberRequest(_message.Message):
    __slots__ = ("member", "signing_public_key")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    SIGNING_PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    member: str
    signing_public_key: bytes
    def __init__(self, member: _Optional[str] = ..., signing_public_key: _Optional[bytes] = ...) -> None: ...

class RegisterMemberResponse(_message.Message):
    __slots__ = ("newly_registered",)
    NEWLY_REGISTERED_FIELD_NUMBER: _ClassVar[int]
    newly_registered: bool
    def __init__(self, newly_registered: bool = ...) -> None: ...

class DisableMemberRequest(_message.Message):
    __slots__ = ("member",)
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    member: str
    def __init__(self, member: _Optional[str] = ...) -> None: ...

class DisableMemberResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListMembersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MemberInfo(_message.Message):
    __slots__ = ("member", "signing_public_key", "enabled", "acknowledged_timestamp_us")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    SIGNING_PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_TIMESTAMP_US_FIELD_NUMBER: _ClassVar[int]
    member: str
    signing_public_key: bytes
    enabled: bool
    acknowledged_timestamp_us: int
    def __init__(self, member: _Optional[str] = ..., signing_public_key: _Optional[bytes] = ..., enabled: bool = ..., acknowledged_timestamp_us: _Optional[int] = ...) -> None: ...

class ListMembersResponse(_message.Message):
    __slots__ = ("members",)
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[MemberInfo]
    def __init__(self, members: _Optional[_Iterable[_Union[MemberInfo, _Mapping]]] = ...) -> None: ...

class PruneRequest(_message.Message):
    __slots__ = ("retention_ms",)
    RETENTION_MS_FIELD_NUMBER: _ClassVar[int]
    retention_ms: int
    def __init__(self, retention_ms: _Optional[int] = ...) -> None: ...

class PruneResponse(_message.Message):
    __slots__ = ("pruned_up_to_timestamp_us", "events_removed")
    PRUNED_UP_TO_TIMESTAMP_US_FIELD_NUMBER: _ClassVar[int]
    EVENTS_REMOVED_FIELD_NUMBER: _ClassVar[int]
    pruned_up_to_timestamp_us: int
    events_removed: int
    def __init__(self, pruned_up_to_timestamp_us: _Optional[int] = ..., events_removed: _Optional[int] = ...) -> None: ...

class SetDomainLimitsRequest(_message.Message):
    __slots__ = ("max_request_size_bytes",)
    MAX_REQUEST_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    max_request_size_bytes: int
    def __init__(self, max_request_size_bytes: _Optional[int] = ...) -> None: ...

class SetDomainLimitsResponse(_message.Message):
    __slots__ = ("enforced_max_request_size_bytes",)
    ENFORCED_MAX_REQUEST_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    enforced_max_request_size_bytes: int
    def __init__(self, enforced_max_request_size_bytes: _Optional[int] = ...) -> None: ...

class StatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InstanceStatus(_message.Message):
    __slots__ = ("node_index", "watermark_us", "online")
    NODE_INDEX_FIELD_NUMBER: _ClassVar[int]
    WATERMARK_US_FIELD_NUMBER: _ClassVar[int]
    ONLINE_FIELD_NUMBER: _ClassVar[int]
    node_index: int
    watermark_us: int
    online: bool
    def __init__(self, node_index: _Optional[int] = ..., watermark_us: _Optional[int] = ..., online: bool = ...) -> None: ...

class StatusResponse(_message.Message):
    __slots__ = ("node_index", "instances")
    NODE_INDEX_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    node_index: int
    instances: _containers.RepeatedCompositeFieldContainer[InstanceStatus]
    def __init__(self, node_index: _Optional[int] = ..., instances: _Optional[_Iterable[_Union[InstanceStatus, _Mapping]]] = ...) -> None: ...
