"""Keeping the sequencers' member registry in step with the topology.

Theory of operation
-------------------
The sequencer authenticates members and checks the signature of every submission against one
registered key per member, set through its admin API. The topology is the source of truth, and
this is the bridge: at the effective time of each accepted change to a member's keys or to a
participant's admission, the manager sets that member's registration to its current (last)
signing key in the topology *as of that time*, or disables it when its keys or its participant
state were removed. Until then the sequencer keeps the previous key, so a submission signed
with a key being revoked is still sequenced while the key is valid and refused once the
revocation is effective (give or take one admin call, a few milliseconds).

A newly admitted participant is registered before its onboarding broadcast is sent (so that it
receives it); its registration is confirmed again at the effective time.

This is the only way the sequencers learn of an offboarding or a key revocation, so it never
gives up. Each (member, effective time) to apply is an outbox row written in the same database
transaction as the accepted change (`record_event(..., sequencer_sync=...)`); a task waits for
the effective time, then calls the sequencers' admin API with the one capped backoff until a
call succeeds, and only then deletes the row. A sequencer outage delays the change; a crash or
restart of the manager resumes from the rows left (`resume`). Calls for one member are
serialized and each applies the member's state as of the moment it is made (never before the
effective time), so a retried older change can never undo a newer one. At start the manager
also reconciles every member whose last change is already effective (a safety net for
registries changed behind its back) and schedules the others.

The domain parameters travel the same way: a parameters change is an outbox row for the
pseudo-member `DOMAIN_PARAMETERS`, applied by setting the sequencers' maximum request size
(which they enforce, up to their configured ceiling) to the parameter as of that time.

Participants, mediators and the manager itself are registered; sequencers are not members of
their own service. Disabling is final at the sequencer (a disabled member id cannot register
again), so it happens only when a member's keys or a participant's state are removed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from minicanton.core.ids import MemberId, MemberKind, ParticipantId, parse_member_id
from minicanton.core.topology.mappings import (
    DomainParametersState,
    OwnerToKeyMapping,
    ParticipantState,
)
from minicanton.core.topology.state import StoredTopologyTransaction
from minicanton.core.topology.transactions import TopologyTransaction
from minicanton.runtime.clock import Clock
from minicanton.runtime.retry import Backoff
from minicanton.runtime.topology_client import TopologyClient
from minicanton.topology.sequencer_admin import SequencerAdmin

log = logging.getLogger(__name__)
_REGISTERED_KINDS = (MemberKind.PARTICIPANT, MemberKind.MEDIATOR, MemberKind.TOPOLOGY_MANAGER)
_LOUD_ATTEMPTS = 5  # a WARNING for each of the first failures, then for every 12th
DOMAIN_PARAMETERS = MemberId("*domain-parameters")  # an outbox key no member id can take


class SyncOutbox(Protocol):
    """Where the (member, effective time) pairs still to apply are kept (the manager's store)."""

    async def pending_sequencer_syncs(self) -> list[tuple[str, int]]: ...

    async def sequencer_sync_done(self, member: str, effective_us: int) -> None: ...


def sequencer_syncs(accepted: Sequence[StoredTopologyTransaction]) -> list[tuple[str, int]]:
    """The outbox rows an event's accepted transactions call for."""
    found = {(member, stored.valid_from_us) for stored in accepted
             if (member := member_of(stored.transaction)) is not None}
    return sorted(found)


def member_of(transaction: TopologyTransaction) -> MemberId | None:
    """The member whose sequencer registration `transaction` may change."""
    mapping = transaction.mapping
    if isinstance(mapping, DomainParametersState):
        return DOMAIN_PARAMETERS
    if isinstance(mapping, OwnerToKeyMapping):
        member = mapping.member
    elif isinstance(mapping, ParticipantState):
        member = MemberId(mapping.participant)
    else:
        return None
    return member if parse_member_id(member)[0] in _REGISTERED_KINDS else None


class SequencerMemberSync:
    def __init__(self, admin: SequencerAdmin, topology: TopologyClient, outbox: SyncOutbox,
                 clock: Clock) -> None:
        self._admin = admin
        self._topology = topology
        self._outbox = outbox
        self._clock = clock
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._scheduled: set[tuple[MemberId, int]] = set()
        self._backoff = Backoff(initial_ms=50, max_ms=5_000)

    def on_accepted(self, accepted: Sequence[StoredTopologyTransaction]) -> None:
        """After the event's outbox rows are stored: apply them at their effective times."""
        for member, at_us in sequencer_syncs(accepted):
            self._schedule(MemberId(member), at_us)

    async def resume(self) -> None:
        """At start: what a previous run left unapplied (a crash, or stopped mid-outage)."""
        for member, at_us in await self._outbox.pending_sequencer_syncs():
            self._schedule(MemberId(member), at_us)

    async def reconcile_all(self) -> None:
        """At start: bring every member in line with the topology now, except those with a
        change still to come, which are scheduled at its effective time."""
        now_us = self._clock()
        latest: dict[MemberId, int] = {}
        for stored in self._topology.state.transactions():
            member = member_of(stored.transaction)
            if member is not None:
                latest[member] = max(latest.get(member, 0), stored.valid_from_us)
        latest.setdefault(DOMAIN_PARAMETERS, 0)  # genesis parameters have no transaction
        for member, from_us in sorted(latest.items()):
            if from_us > now_us:
                self._schedule(member, from_us)
            else:
                await self.reconcile(member, now_us)

    async def reconcile(self, member: MemberId, at_us: int) -> None:
        """Set `member`'s registration to its state as of now (at `at_us` at the earliest):
        under the lock, so the last call made carries the newest state."""
        async with self._lock:
            at_us = max(at_us, self._clock())
            snapshot = self._topology.snapshot(at_us)
            if member == DOMAIN_PARAMETERS:
                wanted = snapshot.parameters.max_request_size_bytes
                enforced = await self._admin.set_max_request_size(wanted)
                log.info("sequencers: maximum request size %d as of %d (enforced: %d)",
                         wanted, at_us, enforced)
                return
            key = snapshot.current_signing_key(member)
            admitted = (parse_member_id(member)[0] is not MemberKind.PARTICIPANT
                        or ParticipantId(member) in snapshot.participants())
            if key is None or not admitted:
                await self._admin.disable(member)
                log.info("sequencers: %s disabled as of %d", member, at_us)
            else:
                await self._admin.register(member, key)
                log.info("sequencers: %s registered with key %s as of %d", member,
                         key.fingerprint, at_us)

    def _schedule(self, member: MemberId, at_us: int) -> None:
        if (member, at_us) in self._scheduled:
            return  # a key mapping and a participant state effective together: once
        self._scheduled.add((member, at_us))
        task = asyncio.get_running_loop().create_task(self._at(member, at_us))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _at(self, member: MemberId, at_us: int) -> None:
        delay_s = (at_us - self._clock()) / 1e6
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        attempt = 0
        while True:  # never give up: the sequencers may be down for a while
            try:
                await self.reconcile(member, at_us)
                await self._outbox.sequencer_sync_done(member, at_us)
                self._scheduled.discard((member, at_us))
                return
            except Exception as error:
                loud = attempt < _LOUD_ATTEMPTS or attempt % 12 == 0
                log.log(logging.WARNING if loud else logging.DEBUG,
                        "sequencer registration of %s as of %d not applied yet (attempt %d), "
                        "retrying: %s", member, at_us, attempt + 1, error)
            await self._backoff.sleep(attempt)
            attempt += 1

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
