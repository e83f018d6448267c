"""Typed errors of the topology manager's requests.

The refusals the planner decides are protocol rules and live with it in the core
(`core.topology.errors`); they are re-exported here for the manager's shell. The rest are the
shell's own: authentication, an unsequenced broadcast, a manager or database not ready. Each
names its Daml-style `error_id` and the gRPC status the admin API answers with.
"""

from __future__ import annotations

from minicanton.core.topology.errors import (
    AlreadyOnboarded,
    PartyAlreadyAllocated,
    PermissionDenied,
    TopologyRequestError,
    UnknownKey,
    UnknownMember,
    UnknownParticipant,
)

__all__ = [
    "AlreadyOnboarded", "ChangeNotSequenced", "DatabaseUnavailable", "NoPendingOnboarding",
    "NotReady", "PartyAlreadyAllocated", "PermissionDenied", "SequencersUnreachable",
    "TopologyRequestError", "Unauthenticated", "UnknownKey", "UnknownMember",
    "UnknownParticipant",
]


class Unauthenticated(TopologyRequestError):
    error_id = "TOPOLOGY_UNAUTHENTICATED"
    grpc_status = "UNAUTHENTICATED"


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
