"""The event pump: sequenced events, in order, through the machine, into the store.

Theory of operation (the sequencer client hands `handle_batch` the verified events queued up
while the previous batch was handled, in order):

1. On the very first event ever (no clean position), fetch the topology accepted before it
   from the topology manager (a late joiner never received those broadcasts) and accept it.
2. For each event in order: take the topology snapshot at its timestamp, then accept its own
   topology broadcasts (effective only after the change delay, so the snapshot is unaffected),
   and `prepare_event` it (decrypt, validate: pure, independent of our state).
3. Ask the store once for every state the batch's requests need and the machine's cache lacks
   (`states_to_fetch` -> `load_states` -> `provide_states`), then `process` each event
   strictly in timestamp order (conflict detection, responses, verdicts, timeouts). The cache
   holds every state an earlier event of the batch changed, and `provide_states` never
   overwrites the cache, so a store that has not seen those changes yet answers correctly.
4. Persist the effects of consecutive events, the accepted topology AND the clean position of
   the last of them in one database transaction (`apply_event` of the merged effects: one
   commit for the batch). A batch is split where an event with a rejection completion would
   otherwise get a later offset than a following event's transaction.
5. Only then: send the machine's batches (persist before send; their message ids are
   deterministic, so a resend after a crash is deduplicated by the sequencer), ask for time
   proofs, raise alarms, announce the new ledger end to the Ledger API streams, and hand the
   stored completions to the submitters waiting for them.

Any exception stops the sequencer client and with it the node (exit non-zero): in-memory
state may then be ahead of the database, and a restart rebuilds it from the database. The
store skips effects at or below its clean position, so a replay stores nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from minicanton.core.protocol.commit_set import GlobalKeyHash
from minicanton.core.protocol.conflict_detection import StatesToFetch
from minicanton.core.protocol.participant import ParticipantMachine, PreparedEvent
from minicanton.core.protocol.participant_effects import (
    Effect,
    RaiseAlarm,
    RequestTimeProof,
    SendBatch,
)
from minicanton.core.sequencing.chain import VerifiedEvent
from minicanton.core.sequencing.events import SequencedEvent
from minicanton.core.topology.mappings import PartyToParticipant
from minicanton.core.topology.snapshot import TopologySnapshot
from minicanton.core.topology.transactions import SignedTopologyTransaction
from minicanton.participant.domain_time import DomainTime
from minicanton.participant.effects import event_effects, merge_effects
from minicanton.participant.ledger_api.backend import LedgerEndNotifier
from minicanton.participant.submitter import StoredCompletion
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
    completions: Callable[[Iterable[StoredCompletion]], None]
    parties_changed: Callable[[TopologySnapshot], None]


@dataclass(frozen=True, slots=True)
class _Step:
    """One event of a batch after the machine: what it caused and what it stores."""

    ts_us: int
    effects: list[Effect]
    stored: EventEffects
    ingested: IngestResult


class EventPump:
    def __init__(self, machine: ParticipantMachine, topology: TopologyClient,
                 store: PostgresParticipantStore, notifier: LedgerEndNotifier,
                 domain_time: DomainTime, fetch_topology: FetchTopology,
                 actions: PumpActions, first_event: bool) -> None:
        self.machine = machine
        self.topology = topology
        self.store = store
        self.writer = store.event_writer()  # its own connection: no pool round per batch
        self.notifier = notifier
        self.domain_time = domain_time
        self.fetch_topology = fetch_topology
        self.actions = actions
        self._first_event = first_event
        self.events_processed = 0
        self.commits = 0

    async def handle(self, verified: VerifiedEvent) -> None:
        await self.handle_batch([verified])

    async def handle_batch(self, batch: list[VerifiedEvent]) -> None:
        bootstrap = await self._bootstrap(batch[0].event.timestamp_us) if (
            self._first_event and batch) else None
        prepared = [self._prepare(verified.event) for verified in batch]
        if bootstrap is not None:  # stored with the first event
            prepared[0] = (prepared[0][0], bootstrap + prepared[0][1])
        await self._load_states([p for p, _ in prepared])
        group: list[_Step] = []
        for item, ingested in prepared:
            step = self._process(item, ingested)
            if group and _offsets_out_of_order(group, step):
                await self._commit(group)
                group = []
            group.append(step)
        await self._commit(group)

    def _prepare(self, event: SequencedEvent) -> tuple[PreparedEvent, IngestResult]:
        snapshot = self.topology.snapshot(event.timestamp_us)
        ingested = self.topology.ingest_event(event)
        return self.machine.prepare_event(event, snapshot), ingested

    async def _load_states(self, prepared: list[PreparedEvent]) -> None:
        contract_ids: set[str] = set()
        key_hashes: set[GlobalKeyHash] = set()
        for item in prepared:
            wanted = self.machine.states_to_fetch(item)
            contract_ids |= wanted.contract_ids
            key_hashes |= wanted.key_hashes
        if contract_ids or key_hashes:
            self.machine.provide_states(*await self.writer.load_states(
                StatesToFetch(frozenset(contract_ids), frozenset(key_hashes))))

    def _process(self, prepared: PreparedEvent, ingested: IngestResult) -> _Step:
        event = prepared.event
        effects = self.machine.process(prepared)
        position = CleanPosition(event.counter, event.timestamp_us)
        return _Step(event.timestamp_us, effects,
                     event_effects(position, effects, ingested.rows), ingested)

    async def _commit(self, group: list[_Step]) -> None:
        stored = merge_effects([step.stored for step in group])
        applied, exact = await self.writer.apply_event(stored)
        self._first_event = False
        self.events_processed += len(group)
        self.commits += 1
        self._after_commit(group, stored, applied, exact)

    async def _bootstrap(self, ts_us: int) -> IngestResult:
        if not self._first_event:
            return IngestResult()
        transactions = await self.fetch_topology(ts_us - 1)
        result = self.topology.bootstrap(transactions, before_us=ts_us)
        self._first_event = False  # the batch's later events are not the first
        log.info("bootstrapped the topology: %d transactions before %d",
                 len(result.accepted), ts_us)
        return result

    def _after_commit(self, group: list[_Step], stored: EventEffects,
                      applied: AppliedEvent, exact: bool) -> None:
        self.domain_time.advance(group[-1].ts_us)
        self.notifier.advance(applied.ledger_end)
        if not applied.already_applied:
            self.actions.completions(stored_completions(stored, applied, exact=exact))
        for step in group:
            self._act(step.effects)
        if any(isinstance(s.transaction.mapping, PartyToParticipant)
               for step in group for s in step.ingested.accepted):
            self.actions.parties_changed(self.topology.head())

    def _act(self, effects: Sequence[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, SendBatch):
                self.actions.send(effect)
            elif isinstance(effect, RequestTimeProof):
                self.actions.time_proof()
            elif isinstance(effect, RaiseAlarm):
                log.error("ALARM %s at %d: %s", effect.code, effect.ts_us, effect.message,
                          extra={"fields": {"alarm": effect.code, "ts_us": effect.ts_us}})


def _offsets_out_of_order(group: list[_Step], step: _Step) -> bool:
    """Merged, the group's rejections would get offsets after `step`'s transactions (the
    store numbers a write's transactions first): commit the group first."""
    if step.stored.transactions:
        for earlier in group:
            if earlier.stored.rejections:
                return True
    return False


def stored_completions(stored: EventEffects, applied: AppliedEvent, *, exact: bool = False
                       ) -> list[StoredCompletion]:
    """The completions one event stored, with their offsets, by change key; with each its
    transaction if the store wrote them `exact`ly as given (each at its completion's offset:
    not so for a transaction already in the ledger, which keeps its earlier offset)."""
    rows: list[StoredCompletion] = []
    for entry, offset in zip(stored.transactions, applied.transaction_offsets, strict=True):
        completion = entry.completion
        if completion is not None and completion.change_key is not None:
            rows.append((completion.change_key,
                         CompletionRow(offset, completion, entry.transaction_id),
                         entry if exact else None))
    for completion, offset in zip(stored.rejections, applied.rejection_offsets, strict=True):
        if completion.change_key is not None:
            rows.append((completion.change_key, CompletionRow(offset, completion, None), None))
    return rows

