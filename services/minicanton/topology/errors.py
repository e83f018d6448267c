"""Typed errors of the topology manager's requests (the core's own are in core/topology).

Each names its Daml-style `error_id` and the gRPC status the admin API answers with.
"""

from __future__ import annotations

from minicanton.core.topology.errors import TopologyError


class TopologyRequestError(TopologyError):
    error_id = "TOPOLOGY_REQUEST_REJECTED"
    grpc_status = "FAILED_PRECONDITION"


class Unauthenticated(TopologyRequestError):
    error_id = "TOPOLOGY_UNAUTHENTICATED"
    grpc_status = "UNAUTHENTICATED"


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


class NoPendingOnboarding(TopologyRequestError):
    error_id = "TOPOLOGY_NO_PENDING_ONBOARDING"
    grpc_status = "NOT_FOUND"


class ChangeNotSequenced(TopologyRequestError):
    """The broadcast was not sequenced in time (sequencer unreachable or slow): nothing
    changed; the same request may be retried."""

    error_id = "TOPOLOGY_CHANGE_NOT_SEQUENCED"
    grpc_status = "UNAVAILABLE"


class NotReady(TopologyRequestError):
    error_id = "TOPOLOGY_MANAGER_NOT_READY"
    grpc_status = "UNAVAILABLE"


class SequencersUnreachable(TopologyRequestError):
    error_id = "TOPOLOGY_SEQUENCERS_UNREACHABLE"
    grpc_status = "UNAVAILABLE"


class DatabaseUnavailable(TopologyRequestError):
    error_id = "TOPOLOGY_DATABASE_UNAVAILABLE"
    grpc_status = "UNAVAILABLE"
