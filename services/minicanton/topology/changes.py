"""The topology planner moved to the core (`minicanton.core.topology.planning`): it is
protocol logic, pure, and members use `initial_key_mapping` too. Re-exported here for the
CLI and older imports."""

from __future__ import annotations

from minicanton.core.topology.planning import (
    DomainKeys,
    Planner,
    Signed,
    check_onboarding_request,
    genesis,
    initial_key_mapping,
)

__all__ = ["DomainKeys", "Planner", "Signed", "check_onboarding_request", "genesis",
           "initial_key_mapping"]
