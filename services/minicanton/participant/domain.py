"""Joining the domain: the topology manager's answer, the trust anchor, onboarding.

Theory of operation. At every start the participant asks the topology manager who the domain
is (`GetDomainInfo`, retried while the manager starts). The domain's namespace (the
fingerprint of its root key) is the trust anchor every topology transaction is checked
against: pinned by `domain_namespace` in the config, or else trusted on first use and then
remembered in the key file, so a later start that meets another domain (or another root key)
refuses to run instead of silently following it.

Onboarding is idempotent. The participant asks for its own status; a participant the manager
has never heard of sends its key mapping signed by its signing key (the proof of possession:
`initial_key_mapping`), then, on a permissioned domain, polls until an admin admits it (or
rejects it: a clear error). Admission registers it with the sequencers before the broadcast
that admits it, so it receives its own admission; the node starts its subscription once the
admission is effective.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import grpc

from minicanton.codec.gen.minicanton.topology.v1 import topology_admin_pb2 as pb
from minicanton.codec.topology import parameters_from_proto
from minicanton.core.crypto.signing import SigningPublicKey
from minicanton.core.errors import MinicantonError
from minicanton.core.ids import MemberId
from minicanton.core.topology.parameters import DomainParameters
from minicanton.core.topology.planning import initial_key_mapping
from minicanton.participant import keys as key_file
from minicanton.participant.keys import DomainBinding, ParticipantKeys
from minicanton.runtime.retry import Backoff
from minicanton.runtime.sequencer_trust import trusted_sequencer_keys
from minicanton.runtime.topology_admin_client import TopologyAdminClient, TopologyCallFailed

log = logging.getLogger(__name__)
T = TypeVar("T")
NOT_FOUND = "TOPOLOGY_NO_PENDING_ONBOARDING"


class DomainJoinFailed(MinicantonError):
    error_id = "PARTICIPANT_DOMAIN_JOIN_FAILED"


@dataclass(frozen=True, slots=True)
class DomainInfo:
    domain_id: str
    domain_namespace: str
    genesis_parameters: DomainParameters


async def retrying(what: str, call: Callable[[], Awaitable[T]], timeout_s: float) -> T:
    """`call` until it stops failing with UNAVAILABLE/DEADLINE_EXCEEDED (a node starting)."""
    backoff = Backoff(initial_ms=50, max_ms=1_000)
    deadline = time.monotonic() + timeout_s
    attempt = 0
    while True:
        try:
            return await call()
        except (TopologyCallFailed, grpc.aio.AioRpcError) as error:
            code = error.status if isinstance(error, TopologyCallFailed) else error.code()
            retryable = code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
            if not retryable or time.monotonic() > deadline:
                raise DomainJoinFailed(f"{what}: {_describe(error)}") from None
        await backoff.sleep(attempt)
        attempt += 1


def _describe(error: Exception) -> str:
    if isinstance(error, MinicantonError):
        return f"{error.error_id}: {error.message}"
    if isinstance(error, grpc.aio.AioRpcError):
        return f"{error.code().name}: {error.details()}"
    return str(error)


async def domain_info(client: TopologyAdminClient, timeout_s: float) -> DomainInfo:
    info: pb.DomainInfo = await retrying(
        "cannot reach the topology manager", client.domain_info, timeout_s)
    return DomainInfo(info.domain_id, info.domain_namespace,
                      parameters_from_proto(info.genesis_parameters))


def bind_domain(keys: ParticipantKeys, info: DomainInfo, pinned: str | None,
                path: Path) -> ParticipantKeys:
    """Check the domain against the pin and the key file; remember it at the first start."""
    if pinned is not None and info.domain_namespace != pinned:
        raise DomainJoinFailed(
            f"the topology manager announces namespace {info.domain_namespace}, the config "
            f"pins {pinned}")
    binding = DomainBinding(info.domain_id, info.domain_namespace)
    if keys.domain is None:
        keys = keys.bound_to(binding)
        key_file.save(path, keys)
        log.info("joined domain %s (namespace %s)", info.domain_id, info.domain_namespace)
        return keys
    if keys.domain != binding:
        raise DomainJoinFailed(
            f"this participant belongs to domain {keys.domain.domain_id} (namespace "
            f"{keys.domain.domain_namespace}); the topology manager serves {info.domain_id} "
            f"(namespace {info.domain_namespace})")
    return keys


async def onboard(client: TopologyAdminClient, keys: ParticipantKeys,
                  timeout_s: float) -> int:
    """Make sure the domain admitted us; the admission's effective time (0: long effective)."""
    participant = keys.participant_id
    deadline = time.monotonic() + timeout_s
    status = await _status(client, participant, timeout_s)
    if status is None:
        mapping = initial_key_mapping(MemberId(participant), [keys.signing],
                                      [keys.encryption.public])
        response = await retrying("onboarding request refused",
                                  lambda: client.request_onboarding(mapping), timeout_s)
        if response.status == pb.ONBOARDING_STATUS_ADMITTED:
            log.info("admitted to the domain, effective at %d", response.change.effective_us)
            return int(response.change.effective_us)
        status = await _status(client, participant, timeout_s)
    attempt = 0
    while status is not None and status.status == pb.ONBOARDING_STATUS_PENDING:
        if attempt == 0:
            log.info("onboarding request pending: waiting for the domain admin to approve")
        if time.monotonic() > deadline:
            raise DomainJoinFailed("the onboarding request is still pending; an admin must "
                                   f"approve {participant}")
        await asyncio.sleep(min(1.0, 0.1 * (attempt + 1)))
        attempt += 1
        status = await _status(client, participant, timeout_s)
    if status is None or status.status != pb.ONBOARDING_STATUS_ADMITTED:
        reason = "" if status is None else f": {status.reason}"
        raise DomainJoinFailed(f"the domain rejected the onboarding of {participant}{reason}")
    return 0 if attempt == 0 else int(status.decided_at_us)


async def _status(client: TopologyAdminClient, participant: str,
                  timeout_s: float) -> pb.OnboardingRequestInfo | None:
    try:
        return await retrying("cannot read the onboarding status",
                              lambda: _raw_status(client, participant), timeout_s)
    except _NeverAsked:
        return None


class _NeverAsked(Exception):
    pass


async def _raw_status(client: TopologyAdminClient, participant: str) -> pb.OnboardingRequestInfo:
    try:
        return await client.onboarding_status(participant)
    except TopologyCallFailed as error:
        if error.status == grpc.StatusCode.NOT_FOUND or error.error_id == NOT_FOUND:
            raise _NeverAsked() from None
        raise


async def sequencer_keys(endpoints: list[str], configured_hex: list[str], domain_id: str,
                         keys: ParticipantKeys, timeout_s: float) -> list[SigningPublicKey]:
    """The sequencer keys events must be signed with (`runtime.sequencer_trust`, the same
    for every member). `keys` is unused: `GetInfo` needs no authentication."""
    del keys
    return await trusted_sequencer_keys(endpoints, configured_hex, domain_id, timeout_s)
