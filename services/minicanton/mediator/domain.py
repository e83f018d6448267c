"""Who the domain is, for a mediator that is given the topology manager's endpoint.

At activation the mediator asks the topology manager for the domain's id, namespace (the
trust anchor every topology transaction is checked against; a namespace pinned in the config
must match) and genesis parameters, retrying while the manager starts. A mediator added after
the domain started did not receive the broadcasts sequenced before it was registered: before
its first event ever (at T0) it fetches every transaction sequenced before T0 from the manager
(`fetch_state(T0 - 1)`, signed as itself) and feeds them to `TopologyClient.bootstrap`, which
validates each exactly like a broadcast one.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import grpc

from minicanton.codec.topology import parameters_from_proto
from minicanton.core.errors import MinicantonError
from minicanton.core.ids import Fingerprint
from minicanton.core.topology.parameters import DomainParameters
from minicanton.core.topology.transactions import SignedTopologyTransaction
from minicanton.mediator.config import MediatorConfig
from minicanton.runtime.retry import Backoff
from minicanton.runtime.topology_admin_client import TopologyAdminClient, TopologyCallFailed

T = TypeVar("T")
RETRYABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


class DomainUnknown(MinicantonError):
    error_id = "MEDIATOR_DOMAIN_UNKNOWN"


@dataclass(frozen=True, slots=True)
class Domain:
    domain_id: str
    namespace: Fingerprint
    genesis_parameters: DomainParameters


async def resolve_domain(config: MediatorConfig, timeout_s: float = 60.0) -> Domain:
    """From the config alone, or from the topology manager (checked against any pin)."""
    if config.topology_manager is None:
        assert config.domain_id is not None and config.domain_namespace is not None
        return Domain(config.domain_id, Fingerprint(config.domain_namespace),
                      config.parameters.to_parameters())
    async with TopologyAdminClient(config.topology_manager) as client:
        info = await _retrying(client.domain_info, timeout_s)
    for name, pinned, announced in (("namespace", config.domain_namespace, info.domain_namespace),
                                    ("domain id", config.domain_id, info.domain_id)):
        if pinned is not None and pinned != announced:
            raise DomainUnknown(f"the topology manager announces {name} {announced}, "
                                f"the config pins {pinned}")
    return Domain(info.domain_id, Fingerprint(info.domain_namespace),
                  parameters_from_proto(info.genesis_parameters))


async def fetch_topology_before(
    config: MediatorConfig, domain: Domain, first_event_us: int, timeout_s: float = 60.0
) -> list[tuple[SignedTopologyTransaction, int]]:
    """Every topology transaction sequenced before our first event (none without a manager)."""
    if config.topology_manager is None:
        return []
    async with TopologyAdminClient(
        config.topology_manager, member=config.mediator_id, member_key=config.signing_key,
        domain_id=domain.domain_id,
    ) as client:
        transactions, _known_us = await _retrying(
            lambda: client.fetch_state(first_event_us - 1), timeout_s)
    return transactions


async def _retrying(call: Callable[[], Awaitable[T]], timeout_s: float) -> T:
    backoff = Backoff(initial_ms=50, max_ms=1_000)
    deadline = time.monotonic() + timeout_s
    attempt = 0
    while True:
        try:
            return await call()
        except TopologyCallFailed as error:
            if error.status not in RETRYABLE or time.monotonic() > deadline:
                raise DomainUnknown(
                    f"the topology manager did not answer: {error.error_id}: {error.message}"
                ) from None
        await backoff.sleep(attempt)
        attempt += 1
