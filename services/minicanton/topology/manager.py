"""The topology manager's requests: plan, check, broadcast, wait until sequenced and applied.

Theory of operation
-------------------
The manager is a member like any other: it learns what is accepted only from its own
sequencer subscription, through the same `TopologyClient` every member uses, and stores it
with its clean position. A request changes nothing by itself; `apply` runs one change at a
time (a lock), so each plan sees the previous change accepted:

1. plan the signed transactions against the head topology (`changes.Planner`; empty when the
   requested state is already accepted, so a retry is harmless);
2. check them with the core exactly as members will (`TopologyState.check`): bad input fails
   here with a typed error and nothing is sent or stored;
3. run `before_send` (a new participant is registered with the sequencers here, so that it
   receives its own onboarding);
4. broadcast them in one `TopologyBroadcast` to all members and wait until the manager's own
   subscription has processed the event: the answer carries the sequencing time and the
   effective time (sequencing + the delay in force), which are every member's too.

If the sequencer does not sequence the broadcast in time the caller gets
`ChangeNotSequenced` (UNAVAILABLE); should it be sequenced after all, it is accepted then like
any other, and a retried request finds it already accepted. Onboarding requests are kept in the
store while pending (permissioned domains) and marked admitted in the same database
transaction that stores the participant's accepted state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from minicanton.codec.topology import signed_transaction_from_bytes
from minicanton.core.errors import InvalidArgument
from minicanton.core.ids import MemberKind, ParticipantId, parse_member_id
from minicanton.core.topology.mappings import OwnerToKeyMapping, ParticipantPermission, TrustLevel
from minicanton.core.topology.planning import DomainKeys, Planner, Signed, check_onboarding_request
from minicanton.core.topology.state import StoredTopologyTransaction, TopologyState
from minicanton.core.topology.transactions import SignedTopologyTransaction, TopologyBroadcast
from minicanton.runtime.clock import Clock
from minicanton.runtime.topology_client import TopologyClient
from minicanton.store.topology_store import (
    OnboardingRecord,
    OnboardingState,
    TopologyManagerStore,
)
from minicanton.topology.errors import (
    NoPendingOnboarding,
    TopologyRequestError,
)
from minicanton.topology.sequencer_admin import SequencerAdmin


class Broadcaster(Protocol):
    async def broadcast(self, payload: bytes, timeout_s: float) -> int:
        """Send to all members; the sequencing time, or `ChangeNotSequenced`."""
        ...

    async def wait_processed(self, ts_us: int, timeout_s: float) -> int:
        """Until the manager's subscription has processed every event up to `ts_us` (asking
        for a time proof when no event comes); the timestamp processed up to."""
        ...


@dataclass(frozen=True, slots=True)
class ChangeOutcome:
    transactions: tuple[SignedTopologyTransaction, ...] = ()  # empty: nothing changed
    sequenced_us: int = 0
    effective_us: int = 0


Plan = Callable[[Planner], Signed]
BeforeSend = Callable[[Signed], Awaitable[None]]


class TopologyManager:
    def __init__(
        self, topology: TopologyClient, keys: DomainKeys, store: TopologyManagerStore,
        sequencers: SequencerAdmin, broadcaster: Broadcaster, clock: Clock, *,
        admission_open: bool, change_timeout_s: float,
    ) -> None:
        self.topology = topology
        self.keys = keys
        self.store = store
        self.sequencers = sequencers
        self.broadcaster = broadcaster
        self.clock = clock
        self.admission_open = admission_open
        self.change_timeout_s = change_timeout_s
        self._lock = asyncio.Lock()

    @property
    def state(self) -> TopologyState:
        return self.topology.state

    def planner(self) -> Planner:
        return Planner(self.state, self.keys)

    async def apply(self, plan: Plan, before_send: BeforeSend | None = None,
                    scratch: TopologyState | None = None) -> ChangeOutcome:
        async with self._lock:
            signed = plan(self.planner())
            if not signed:
                return ChangeOutcome()
            self.check(signed, scratch)
            if before_send is not None:
                await before_send(signed)
            payload = TopologyBroadcast(signed).to_bytes()
            ts_us = await self.broadcaster.broadcast(payload, self.change_timeout_s)
            await self.broadcaster.wait_processed(ts_us, self.change_timeout_s)
            return self._outcome(signed)

    def check(self, signed: Signed, scratch: TopologyState | None = None) -> None:
        """Validate as members will. Transactions of one plan are independent of each other,
        except a genesis, which is checked in order on a `scratch` state."""
        at_us = max(self.clock(), self.state.last_sequenced_us or 0)
        for transaction in signed:
            if scratch is None:
                self.state.check(transaction, at_us)
            else:
                scratch.accept(transaction, at_us)

    def _outcome(self, signed: Signed) -> ChangeOutcome:
        stored = [self.state.get(s.hash) for s in signed]
        missing = [s.transaction.key for s, found in zip(signed, stored, strict=True)
                   if found is None]
        if missing:
            raise TopologyRequestError(
                f"the sequenced change was refused on acceptance ({missing[0]}): see the alarms")
        accepted = [s for s in stored if s is not None]
        return ChangeOutcome(tuple(signed), accepted[0].sequenced_us,
                             max(s.valid_from_us for s in accepted))

    async def register_mediators(self, signed: Signed) -> None:
        """Before a broadcast that gives mediators keys: register them with the sequencers,
        so they receive it."""
        for transaction in signed:
            mapping = transaction.transaction.mapping
            if isinstance(mapping, OwnerToKeyMapping) and (
                    parse_member_id(mapping.member)[0] is MemberKind.MEDIATOR):
                await self.sequencers.register(mapping.member, mapping.signing_keys[-1])

    # --- onboarding --------------------------------------------------------------------

    async def request_onboarding(
        self, key_mapping: bytes, permission: ParticipantPermission
    ) -> tuple[OnboardingState, ChangeOutcome]:
        signed = signed_transaction_from_bytes(key_mapping, "key_mapping")
        mapping = check_onboarding_request(signed)
        async with self._lock:  # validate now: a bad request is never stored
            self.check(self.planner().onboarding(signed, permission))
        previous = await self.store.get_request(mapping.member)
        if previous is not None and previous.status is OnboardingState.ADMITTED and (
                ParticipantId(mapping.member) in self.state.head().participants()):
            return OnboardingState.ADMITTED, ChangeOutcome()
        await self.store.save_request(OnboardingRecord(
            mapping.member, key_mapping, int(permission), OnboardingState.PENDING,
            self.clock()))
        if not self.admission_open:
            return OnboardingState.PENDING, ChangeOutcome()
        return OnboardingState.ADMITTED, await self.admit(mapping.member, TrustLevel.ORDINARY)

    async def admit(self, participant: str, trust_level: TrustLevel) -> ChangeOutcome:
        record = await self.store.get_request(participant)
        if record is None or record.status is not OnboardingState.PENDING:
            raise NoPendingOnboarding(f"{participant} has no pending onboarding request")
        signed = signed_transaction_from_bytes(record.key_mapping, "key_mapping")
        permission = ParticipantPermission(record.permission)

        async def register(planned: Signed) -> None:
            mapping = check_onboarding_request(signed)
            await self.sequencers.register(mapping.member, mapping.signing_keys[-1])

        outcome = await self.apply(lambda p: p.onboarding(signed, permission, trust_level),
                                   register)
        if not outcome.transactions:  # already accepted earlier: just close the request
            await self.store.decide(participant, OnboardingState.ADMITTED, self.clock())
        return outcome

    async def reject(self, participant: str, reason: str) -> None:
        if not await self.store.decide(participant, OnboardingState.REJECTED, self.clock(),
                                       reason):
            raise NoPendingOnboarding(f"{participant} has no pending onboarding request")

    async def onboarding_status(self, participant: str) -> OnboardingRecord:
        record = await self.store.get_request(participant)
        if record is None:
            raise NoPendingOnboarding(f"{participant} never asked to join this domain")
        return record

    # --- late joiners ------------------------------------------------------------------

    async def accepted_up_to(
        self, known_up_to_us: int
    ) -> tuple[Sequence[StoredTopologyTransaction], int]:
        """Every accepted transaction once all events up to `known_up_to_us` are processed,
        and the time the answer is complete up to."""
        if known_up_to_us > self.clock() + 60_000_000:
            raise InvalidArgument("known_up_to_us is more than a minute in the future")
        processed_us = await self.broadcaster.wait_processed(known_up_to_us,
                                                             self.change_timeout_s)
        return self.state.transactions(), processed_us
