"""An in-memory participant store: what the shell persists from the machine's effects.

It mirrors the Postgres store's contract with the participant machine: all persisted effects
of one event are applied together with the event's clean position; offsets come from
`offsets.offset_of` of a counter kept with it; deduplication uses `DeduplicationTable` (the
store's `start_submission` decision, atomically with recording the submission in flight).
It also answers what the Ledger API would: the contracts visible to a set of parties
(stakeholders, or witnesses of a divulgence), the transactions, the completions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from minicanton.core.ids import RequestId
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.transaction import ContractInstance, ExerciseNode
from minicanton.core.lf.value import Value
from minicanton.core.protocol.commit_set import GlobalKeyHash, global_key_hash
from minicanton.core.protocol.conflict_detection import (
    ContractState,
    RequestLocks,
    StatesToFetch,
)
from minicanton.core.protocol.deduplication import (
    AcceptedCommand,
    DeduplicationTable,
    InFlightSubmission,
    raise_if_duplicate,
)
from minicanton.core.protocol.offsets import Offset, offset_of
from minicanton.core.protocol.participant_effects import (
    Completion,
    Effect,
    EmitCompletion,
    MarkSubmissionSequenced,
    PersistCommit,
    PersistPendingRequest,
    RemovePendingRequest,
    TrackedSubmission,
)
from minicanton.core.protocol.submission import PreparedSubmission

MAX_DEDUPLICATION_DURATION_US = 3_600_000_000


@dataclass(frozen=True)
class LedgerEntry:
    offset: Offset
    commit: PersistCommit

    @property
    def transaction_id(self) -> str:
        return self.commit.transaction_id


@dataclass
class SimParticipantStore:
    parties: frozenset[str]
    active: dict[str, ContractInstance] = field(default_factory=dict)
    archived: dict[str, ContractInstance] = field(default_factory=dict)
    divulged: dict[str, tuple[ContractInstance, frozenset[str]]] = field(default_factory=dict)
    transactions: list[LedgerEntry] = field(default_factory=list)
    transaction_ids: set[str] = field(default_factory=set)  # of `transactions`, for lookups
    completions: list[tuple[Offset, Completion]] = field(default_factory=list)
    pending: dict[RequestId, tuple[RequestLocks, bytes]] = field(default_factory=dict)
    in_flight: dict[str, TrackedSubmission] = field(default_factory=dict)
    dedup: DeduplicationTable = field(
        default_factory=lambda: DeduplicationTable(MAX_DEDUPLICATION_DURATION_US))
    ledger_end: int = 0
    clean_ts_us: int | None = None
    duplicates: list[str] = field(default_factory=list)  # transaction ids committed again
    unknown_archivals: list[str] = field(default_factory=list)  # not active here when archived

    # --- the write path ---------------------------------------------------------------------

    def apply(self, effects: Iterable[Effect], ts_us: int) -> None:
        """One event's effects, with its clean position (all or nothing in the real store)."""
        for effect in effects:
            if isinstance(effect, PersistCommit):
                self._commit(effect)
            elif isinstance(effect, EmitCompletion):
                self._complete(effect.completion, self._next_offset())
            elif isinstance(effect, PersistPendingRequest):
                self.pending[effect.locks.request_id] = (effect.locks, effect.payload)
            elif isinstance(effect, RemovePendingRequest):
                self.pending.pop(effect.request_id, None)
            elif isinstance(effect, MarkSubmissionSequenced):
                tracked = self.in_flight[effect.change_id.key]
                self.in_flight[effect.change_id.key] = TrackedSubmission(
                    tracked.change_id, tracked.submission_id, tracked.message_id,
                    tracked.max_sequencing_time_us, effect.sequenced_at_us)
                self.dedup.mark_sequenced(effect.change_id, effect.sequenced_at_us)
        self.clean_ts_us = ts_us

    def _next_offset(self) -> Offset:
        self.ledger_end += 1
        return offset_of(self.ledger_end)

    def _commit(self, commit: PersistCommit) -> None:
        # as the Postgres store: an alarm, nothing written twice
        if commit.transaction_id in self.transaction_ids:
            self.duplicates.append(commit.transaction_id)
            if commit.completion is not None:
                self._complete(commit.completion, self._next_offset())
            return
        offset = self._next_offset()
        commit_set = commit.commit_set
        for contract_id in commit_set.archived:
            instance = self.active.pop(contract_id, None)
            if instance is None:  # as the Postgres store's UPDATE: nothing to archive
                self.unknown_archivals.append(contract_id)
                continue
            self.archived[contract_id] = instance
        for created in commit_set.created:
            self.active[created.contract.contract_id] = created.contract
        consumed = {n.node.contract_id for n in commit_set.projection.nodes
                    if isinstance(n.node, ExerciseNode) and n.node.consuming}
        for contract_id in consumed:
            self.divulged.pop(contract_id, None)  # we witnessed its archival
        for contract in commit_set.divulged:
            if contract.contract_id in consumed:
                continue
            known = self.divulged.get(contract.contract_id, (contract, frozenset()))[1]
            witnesses = _witnesses_of(commit, contract.contract_id)
            self.divulged[contract.contract_id] = (contract, known | witnesses)
        self.transactions.append(LedgerEntry(offset, commit))
        self.transaction_ids.add(commit.transaction_id)
        if commit.completion is not None:
            self._complete(commit.completion, offset)

    def _complete(self, completion: Completion, offset: Offset) -> None:
        self.completions.append((offset, completion))
        self.in_flight.pop(completion.change_id.key, None)
        accepted = None
        if completion.accepted:
            accepted = AcceptedCommand(completion.change_id, completion.submission_id, offset,
                                       completion.record_time_us)
        self.dedup.complete(completion.change_id, accepted)

    def start_submission(self, prepared: PreparedSubmission, now_us: int) -> None:
        """The shell's deduplication step: deduplicate the change and record it in flight
        (raises if it is a duplicate)."""
        decision = self.dedup.submit(
            InFlightSubmission(prepared.change_id, prepared.submission.submission_id,
                               prepared.max_sequencing_time_us),
            prepared.submission.deduplication_period, now_us,
        )
        raise_if_duplicate(decision)
        self.in_flight[prepared.change_id.key] = TrackedSubmission(
            prepared.change_id, prepared.submission.submission_id, prepared.message_id,
            prepared.max_sequencing_time_us)

    # --- reads ------------------------------------------------------------------------------

    def load_states(
        self, wanted: StatesToFetch
    ) -> tuple[dict[str, ContractState | None], dict[GlobalKeyHash, str | None]]:
        contracts: dict[str, ContractState | None] = {}
        for contract_id in wanted.contract_ids:
            instance = self.active.get(contract_id) or self.archived.get(contract_id)
            contracts[contract_id] = None if instance is None else ContractState(
                contract_id in self.active, _key_hash(instance))
        keys = {k: self._key_owner(k) for k in wanted.key_hashes}
        return contracts, keys

    def _key_owner(self, key_hash: GlobalKeyHash) -> str | None:
        return next((c for c, i in self.active.items() if _key_hash(i) == key_hash), None)

    def lookup(self, readers: Iterable[str]) -> VisibleContracts:
        return VisibleContracts(self, frozenset(readers))

    def active_for(self, party: str) -> dict[str, ContractInstance]:
        return {c: i for c, i in self.active.items() if party in i.stakeholders}

    def completion_of(self, command_id: str) -> list[Completion]:
        return [c for _, c in self.completions if c.change_id.command_id == command_id]

    def recent_transactions(self, since_us: int) -> list[tuple[str, int]]:
        """(transaction id, record time) of what was committed at or after `since_us`: what
        a restarted participant still remembers against replays."""
        return [(e.transaction_id, e.commit.record_time_us) for e in self.transactions
                if e.commit.record_time_us >= since_us]


def _key_hash(instance: ContractInstance) -> GlobalKeyHash | None:
    return None if instance.key is None else global_key_hash(instance.template_id,
                                                             instance.key.key)


def _witnesses_of(commit: PersistCommit, contract_id: str) -> frozenset[str]:
    parties: set[str] = set()
    for node in commit.commit_set.projection.nodes:
        if getattr(node.node, "contract_id", None) == contract_id:
            parties |= node.tree_witnesses
    return frozenset(parties)


@dataclass
class VisibleContracts:
    """The engine's `ContractLookup` for a set of reading parties."""

    store: SimParticipantStore
    readers: frozenset[str]

    def lookup_contract(self, contract_id: str) -> ContractInstance | None:
        instance = self.store.active.get(contract_id)
        if instance is not None and instance.stakeholders & self.readers:
            return instance
        divulged = self.store.divulged.get(contract_id)
        if divulged is not None and divulged[1] & self.readers:
            return divulged[0]
        return None

    def lookup_key(self, template_id: Identifier, key: Value) -> str | None:
        wanted = global_key_hash(template_id, key)
        for contract_id, instance in self.store.active.items():
            if _key_hash(instance) == wanted and instance.stakeholders & self.readers:
                return contract_id
        return None
