"""Typed errors of the topology core.

Each carries a stable Daml-style `error_id` (and the gRPC status name a shell answers with,
read by `runtime.grpc_errors`). The shells map them at the boundary: an admin RPC
turns them into gRPC statuses; a member that receives a topology transaction from the
sequencer which fails `AUTHORIZATION` or `DECODE` raises an alarm (a forged or tampered
transaction) and ignores it, never stores it.
"""

from __future__ import annotations

from minicanton.core.errors import InvalidArgument, MinicantonError


class TopologyError(MinicantonError):
    error_id = "TOPOLOGY_ERROR"


class InvalidDomainParameters(InvalidArgument):
    """A domain parameter is out of its allowed range."""

    error_id = "INVALID_DOMAIN_PARAMETERS"


class InvalidTopologyMapping(InvalidArgument):
    """A mapping is malformed (wrong member kind, empty key list, duplicate entries…)."""

    error_id = "INVALID_TOPOLOGY_MAPPING"


class TopologyDecodeError(TopologyError):
    """Bytes are not the canonical encoding of a topology transaction."""

    error_id = "TOPOLOGY_TRANSACTION_DECODE_ERROR"
    grpc_status = "INVALID_ARGUMENT"


class TopologyAuthorizationError(TopologyError):
    """Signatures missing, by the wrong key, by an unknown key, or not verifying: forged or
    tampered. Members raise an alarm on this one."""

    error_id = "TOPOLOGY_UNAUTHORIZED"
    grpc_status = "PERMISSION_DENIED"


class TopologySerialMismatch(TopologyError):
    """The serial is not the successor of the last accepted one for the same unique key."""

    error_id = "TOPOLOGY_SERIAL_MISMATCH"
    grpc_status = "FAILED_PRECONDITION"


class TopologyMappingNotFound(TopologyError):
    """A REMOVE for a unique key that has no current mapping."""

    error_id = "TOPOLOGY_MAPPING_NOT_FOUND"
    grpc_status = "NOT_FOUND"


class TopologyOutOfOrder(TopologyError):
    """A transaction was offered with a sequencing time before one already accepted."""

    error_id = "TOPOLOGY_OUT_OF_ORDER"
    grpc_status = "FAILED_PRECONDITION"


class MemberKeyNotValid(TopologyError):
    """A member signed with a key that is not (or no longer, or not yet) one of its keys."""

    error_id = "MEMBER_KEY_NOT_VALID"
    grpc_status = "PERMISSION_DENIED"


# --- refusals of a request to the topology manager (the planner's, core/topology/planning) ---


class TopologyRequestError(TopologyError):
    error_id = "TOPOLOGY_REQUEST_REJECTED"
    grpc_status = "FAILED_PRECONDITION"


class PermissionDenied(TopologyRequestError):
    error_id = "TOPOLOGY_PERMISSION_DENIED"
    grpc_status = "PERMISSION_DENIED"


class UnknownParticipant(TopologyRequestError):
    """The participant is not admitted to the domain."""

    error_id = "TOPOLOGY_UNKNOWN_PARTICIPANT"
    grpc_status = "NOT_FOUND"


class UnknownMember(TopologyRequestError):
    error_id = "TOPOLOGY_UNKNOWN_MEMBER"
    grpc_status = "NOT_FOUND"


class UnknownKey(TopologyRequestError):
    error_id = "TOPOLOGY_UNKNOWN_KEY"
    grpc_status = "NOT_FOUND"


class AlreadyOnboarded(TopologyRequestError):
    error_id = "TOPOLOGY_PARTICIPANT_ALREADY_ONBOARDED"
    grpc_status = "ALREADY_EXISTS"


class PartyAlreadyAllocated(TopologyRequestError):
    error_id = "TOPOLOGY_PARTY_ALREADY_ALLOCATED"
    grpc_status = "ALREADY_EXISTS"
