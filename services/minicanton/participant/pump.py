"""The event pump: one sequenced event at a time, through the machine, into the store.

Theory of operation (the sequencer client calls `handle` for each verified event, in order):

1. On the very first event ever (no clean position), fetch the topology accepted before it
   from the topology manager (a late joiner never received those broadcasts) and accept it.
2. Take the topology snapshot at the event's timestamp, then accept the event's own topology
   broadcasts (effective only after the change delay, so the snapshot is unaffected).
3. Feed the machine: `prepare_event` (decrypt, validate), `states_to_fetch` -> the store's
   `load_states` -> `provide_states`, then `process` (conflict detection, responses,
   verdicts, timeouts), strictly in timestamp order.
4. Persist the machine's effects, the accepted topology AND the clean position in one
   database transaction (`apply_event`).
5. Only then: send the machine's batches (persist before send; their message ids are
   deterministic, so a resend after a crash is deduplicated by the sequencer), ask for time
   proofs, raise alarms, announce the new ledger end to the Ledger API streams, and hand the
   stored completions to the submitters waiting for them.

Any exception stops the sequencer client and with it the node (exit non-zero): in-memory
state may then be ahead of the database, and a restart rebuilds it from the database. The
store skips an event at or below its clean position, so a replay stores nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from minicanton.core.protocol.participant import ParticipantMachine
from minicanton.core.protocol.participant_effects import (
    Effect,
    RaiseAlarm,
    RequestTimeProof,
    SendBatch,
)
from minicanton.core.sequencing.chain import VerifiedEvent
from minicanton.core.topology.mappings import PartyToParticipant
from minicanton.core.topology.snapshot import TopologySnapshot
from minicanton.core.topology.transactions import SignedTopologyTransaction
from minicanton.participant.domain_time import DomainTime
from minicanton.participant.effects import event_effects
from minicanton.participant.ledger_api.backend import LedgerEndNotifier
from minicanton.runtime.topology_client import IngestResult, TopologyClient
from minicanton.store.participant_store import (
    AppliedEvent,
    CleanPosition,
    CompletionRow,
    EventEffects,
)
from minicanton.store.postgres.participant_store import PostgresParticipantStore

log = logging.getLogger(__name__)

FetchTopology = Callable[[int], Awaitable[list[tuple[SignedTopologyTransaction, int]]]]


@dataclass
class PumpActions:
    """What the pump does after a commit; the node wires these to its pieces."""

    send: Callable[[SendBatch], None]
    time_proof: Callable[[], None]
    completions: Callable[[Iterable[tuple[str, CompletionRow]]], None]
    parties_changed: Callable[[TopologySnapshot], None]


class EventPump:
    def __init__(self, machine: ParticipantMachine, topology: TopologyClient,
                 store: PostgresParticipantStore, notifier: LedgerEndNotifier,
                 domain_time: DomainTime, fetch_topology: FetchTopology,
                 actions: PumpActions, first_event: bool) -> None:
        self.machine = machine
        self.topology = topology
        self.store = store
        self.notifier = notifier
        self.domain_time = domain_time
        self.fetch_topology = fetch_topology
        self.actions = actions
        self._first_event = first_event
        self.events_processed = 0

    async def handle(self, verified: VerifiedEvent) -> None:
        event = verified.event
        ts_us = event.timestamp_us
        bootstrap = await self._bootstrap(ts_us)
        snapshot = self.topology.snapshot(ts_us)
        ingested = bootstrap + self.topology.ingest_event(event)
        prepared = self.machine.prepare_event(event, snapshot)
        wanted = self.machine.states_to_fetch(prepared)
        if not wanted.is_empty:
            self.machine.provide_states(*await self.store.load_states(wanted))
        effects = self.machine.process(prepared)
        position = CleanPosition(event.counter, ts_us)
        stored = event_effects(position, effects, ingested.rows)
        applied = await self.store.apply_event(stored)
        self._first_event = False
        self.events_processed += 1
        self._after_commit(ts_us, effects, stored, applied, ingested)

    async def _bootstrap(self, ts_us: int) -> IngestResult:
        if not self._first_event:
            return IngestResult()
        transactions = await self.fetch_topology(ts_us - 1)
        result = self.topology.bootstrap(transactions, before_us=ts_us)
        log.info("bootstrapped the topology: %d transactions before %d",
                 len(result.accepted), ts_us)
        return result

    def _after_commit(self, ts_us: int, effects: Sequence[Effect], stored: EventEffects,
                      applied: AppliedEvent, ingested: IngestResult) -> None:
        self.domain_time.advance(ts_us)
        self.notifier.advance(applied.ledger_end)
        if not applied.already_applied:
            self.actions.completions(stored_completions(stored, applied))
        for effect in effects:
            if isinstance(effect, SendBatch):
                self.actions.send(effect)
            elif isinstance(effect, RequestTimeProof):
                self.actions.time_proof()
            elif isinstance(effect, RaiseAlarm):
                log.error("ALARM %s at %d: %s", effect.code, effect.ts_us, effect.message,
                          extra={"fields": {"alarm": effect.code, "ts_us": effect.ts_us}})
        if any(isinstance(s.transaction.mapping, PartyToParticipant) for s in ingested.accepted):
            self.actions.parties_changed(self.topology.head())


def stored_completions(stored: EventEffects, applied: AppliedEvent
                       ) -> list[tuple[str, CompletionRow]]:
    """The completions one event stored, with their offsets, by change key."""
    rows: list[tuple[str, CompletionRow]] = []
    for entry, offset in zip(stored.transactions, applied.transaction_offsets, strict=True):
        completion = entry.completion
        if completion is not None and completion.change_key is not None:
            rows.append((completion.change_key,
                         CompletionRow(offset, completion, entry.transaction_id)))
    for completion, offset in zip(stored.rejections, applied.rejection_offsets, strict=True):
        if completion.change_key is not None:
            rows.append((completion.change_key, CompletionRow(offset, completion, None)))
    return rows

