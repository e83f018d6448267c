"""The submission pipeline's shell: a Ledger API command in, a confirmation request out.

Theory of operation. `Submitter.submit` (the Ledger API's `CommandSubmitter`)

1. interprets the command with the machine's `prepare_submission` against the topology now
   and the ledger as the submitting parties see it. The engine is synchronous and the store
   is not, so interpretation stops at the first contract (or key) it has not been given
   (`_Missing`, a BaseException so package code cannot catch it), the shell reads it from the
   store and interprets again (Daml's engine asks for contracts the same way). Each restart
   costs a whole interpretation, so the shell reads ahead (shells review #15): before the
   first run, the contracts the commands name, and with every contract it reads, the
   contracts that contract's arguments refer to (a DvP names its Iou and Share), each
   generation in one query. A contract read ahead is read exactly as one read on demand
   (visible to the submitters, else absent), so the outcome is the same, with fewer runs;
2. deduplicates the change and records it in flight, atomically (`start_submission`), with
   the request batch as the row's payload: persisted before it is sent;
3. hands it to the machine (`submit`), registers the caller's completion future, and returns;
4. sends the batch in the background under its deterministic message id, so a resend (after a
   sequencer failover, or after a restart by `resend_unsequenced`) is deduplicated by the
   sequencer. A send the sequencer refuses for good is logged; the machine completes the
   submission as not sequenced once sequencer time passes its max sequencing time.

The completion future is resolved by the event pump after the store committed the completion
(`resolve`), with the row the completion stream shows, and the transaction as committed when
the store wrote it exactly as given (so SubmitAndWaitForTransaction[Tree] answers without
reading it back; otherwise, a transaction already in the ledger say, it reads the store).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Iterable
from typing import cast

from minicanton.core.entropy import Entropy
from minicanton.core.errors import MinicantonError
from minicanton.core.ids import PartyId
from minicanton.core.lf.commands import named_contracts
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.transaction import ContractInstance
from minicanton.core.lf.value import Value, referenced_contracts
from minicanton.core.protocol.commit_set import global_key_hash
from minicanton.core.protocol.conflict_detection import StatesToFetch
from minicanton.core.protocol.deduplication import AlreadyInFlight, Duplicate
from minicanton.core.protocol.participant import ParticipantMachine
from minicanton.core.protocol.participant_effects import (
    PendingPayload,
    SendBatch,
    TrackedSubmission,
    decode_pending_payload,
    encode_pending_payload,
)
from minicanton.core.protocol.submission import CommandSubmission, PreparedSubmission
from minicanton.core.topology.snapshot import TopologySnapshot
from minicanton.participant.ledger_api.backend import SubmissionAccepted, SubmissionRequest
from minicanton.runtime.clock import Clock
from minicanton.store.participant_store import (
    CompletionRow,
    InFlightRow,
    SubmissionEntry,
    TransactionEntry,
    decode_contract,
)
from minicanton.store.postgres.participant_store import PostgresParticipantStore

log = logging.getLogger(__name__)
MAX_LOOKUP_ROUNDS = 1_000
READ_AHEAD_GENERATIONS = 2  # contracts referred to by contracts referred to by the command
READ_AHEAD_CONTRACTS = 256  # at most this many read ahead per interpretation
Sender = Callable[[SendBatch], None]
# a stored completion by change key, with its transaction if stored exactly as given
StoredCompletion = tuple[str, CompletionRow, TransactionEntry | None]


class InterpretationLookupLimit(MinicantonError):
    error_id = "INTERPRETATION_LOOKUP_LIMIT"


class _Missing(BaseException):
    def __init__(self, contract_id: str | None = None,
                 key: tuple[Identifier, Value] | None = None) -> None:
        super().__init__()
        self.contract_id = contract_id
        self.key = key


class _OnDemandLookup:
    """What the engine sees: contracts read so far; an unread one stops interpretation."""

    def __init__(self) -> None:
        self.contracts: dict[str, ContractInstance | None] = {}
        self.keys: dict[str, str | None] = {}

    def lookup_contract(self, contract_id: str) -> ContractInstance | None:
        if contract_id not in self.contracts:
            raise _Missing(contract_id=contract_id)
        return self.contracts[contract_id]

    def lookup_key(self, template_id: Identifier, key: Value) -> str | None:
        key_hash = global_key_hash(template_id, key)
        if key_hash not in self.keys:
            raise _Missing(key=(template_id, key))
        return self.keys[key_hash]


class Submitter:
    def __init__(self, machine: ParticipantMachine, store: PostgresParticipantStore,
                 snapshot_now: Callable[[], TopologySnapshot], sender: Sender,
                 entropy: Entropy, clock: Clock, max_deduplication_duration_us: int) -> None:
        self.machine = machine
        self.store = store
        self.snapshot_now = snapshot_now
        self.sender = sender
        self.entropy = entropy
        self.clock = clock
        self.max_deduplication_duration_us = max_deduplication_duration_us
        self._waiters: dict[str, _Waiter] = {}
        self.interpretations = 0  # runs of the engine, restarts included (a metric)

    async def submit(self, request: SubmissionRequest) -> SubmissionAccepted:
        submission = command_submission(request, self.clock())
        prepared = await self._prepare(submission)
        send = SendBatch(prepared.message_id, prepared.batch, prepared.max_sequencing_time_us)
        change_id = prepared.change_id  # a property that builds it anew on each read
        entry = SubmissionEntry(change_id, submission.submission_id,
                                prepared.message_id, prepared.max_sequencing_time_us,
                                encode_pending_payload(PendingPayload((), (), send)))
        decision = await self.store.start_submission(
            entry, submission.deduplication_period, self.clock(),
            self.max_deduplication_duration_us)
        if isinstance(decision, Duplicate | AlreadyInFlight):
            raise decision.error()
        waiter = _Waiter(asyncio.get_running_loop().create_future())
        self._waiters[change_id.key] = waiter
        for effect in self.machine.submit(prepared):
            if isinstance(effect, SendBatch):
                self.sender(effect)
        log.debug("submitted command %s as %s", submission.command_id, prepared.message_id)
        return SubmissionAccepted(waiter.future, waiter.committed)

    async def _prepare(self, submission: CommandSubmission) -> PreparedSubmission:
        lookup = _OnDemandLookup()
        readers = submission.act_as | submission.read_as
        await self._read_ahead(lookup, named_contracts(submission.commands), readers)
        for _ in range(MAX_LOOKUP_ROUNDS):
            self.interpretations += 1
            try:
                return self.machine.prepare_submission(
                    submission, lookup, self.snapshot_now(), self.clock(), self.entropy)
            except _Missing as missing:
                await self._read(lookup, missing, readers)
        raise InterpretationLookupLimit(
            f"interpretation asked for more than {MAX_LOOKUP_ROUNDS} contracts or keys one "
            "after another")

    async def _read_ahead(self, lookup: _OnDemandLookup, wanted: Iterable[str],
                          readers: frozenset[str]) -> None:
        """Read `wanted` and, generation by generation, the contracts they refer to."""
        for _ in range(READ_AHEAD_GENERATIONS + 1):
            fresh = sorted({c for c in wanted if c not in lookup.contracts})
            room = READ_AHEAD_CONTRACTS - len(lookup.contracts)
            if not fresh or room <= 0:
                return
            rows = await self.store.lookup_contracts(fresh[:room], readers)
            loaded = {c: decode_contract(rows[c].contract.payload) if c in rows else None
                      for c in fresh[:room]}
            lookup.contracts.update(loaded)
            wanted = {c for contract in loaded.values() if contract is not None
                      for c in referenced_contracts(contract.argument)}

    async def _read(self, lookup: _OnDemandLookup, missing: _Missing,
                    readers: frozenset[str]) -> None:
        if missing.contract_id is not None:
            await self._read_ahead(lookup, (missing.contract_id,), readers)
            if missing.contract_id not in lookup.contracts:  # read-ahead room used up
                lookup.contracts[missing.contract_id] = await self._visible(
                    missing.contract_id, readers)
            return
        assert missing.key is not None
        key_hash = global_key_hash(*missing.key)
        _, assigned = await self.store.load_states(StatesToFetch(frozenset(),
                                                                 frozenset({key_hash})))
        contract_id = assigned.get(key_hash)
        if contract_id is not None and await self._visible(contract_id, readers) is None:
            contract_id = None  # a key the submitters may not see does not resolve
        lookup.keys[key_hash] = contract_id

    async def _visible(self, contract_id: str, readers: frozenset[str]
                       ) -> ContractInstance | None:
        row = await self.store.lookup_contract(contract_id, readers)
        return None if row is None else decode_contract(row.contract.payload)

    # -- completions -----------------------------------------------------------------------

    def resolve(self, rows: Iterable[StoredCompletion]) -> None:
        """Hand stored completions (by change key) to the callers waiting for them, each
        with its transaction when it was stored exactly as given at the completion's offset."""
        for change_key, row, transaction in rows:
            waiter = self._waiters.pop(change_key, None)
            if waiter is not None and not waiter.future.done():
                waiter.transaction = transaction
                waiter.future.set_result(row)


class _Waiter:
    """A caller waiting for its submission's completion (and, then, its transaction)."""

    __slots__ = ("future", "transaction")

    def __init__(self, future: asyncio.Future[CompletionRow]) -> None:
        self.future = future
        self.transaction: TransactionEntry | None = None

    def committed(self) -> TransactionEntry | None:
        return self.transaction


def command_submission(request: SubmissionRequest, now_us: int) -> CommandSubmission:
    ledger_time_us = None
    if request.min_ledger_time_abs_us is not None or request.min_ledger_time_rel_us is not None:
        ledger_time_us = max(now_us, request.min_ledger_time_abs_us or 0,
                             now_us + (request.min_ledger_time_rel_us or 0))
    # PartyId is a NewType of str: the request's party sets are the machine's as they are
    # (frozenset() of a frozenset is that frozenset; no set built per submission)
    return CommandSubmission(
        commands=request.commands, act_as=frozenset(cast(frozenset[PartyId], request.act_as)),
        application_id=request.application_id, command_id=request.command_id,
        submission_id=request.submission_id or secrets.token_hex(16),
        read_as=frozenset(cast(frozenset[PartyId], request.read_as)),
        workflow_id=request.workflow_id, ledger_time_us=ledger_time_us,
        deduplication_period=request.deduplication_period,
    )


def tracked_submissions(rows: Iterable[InFlightRow]) -> list[TrackedSubmission]:
    return [TrackedSubmission(r.entry.change_id, r.entry.submission_id, r.entry.message_id,
                              r.entry.max_sequencing_time_us, r.sequenced_at_us)
            for r in rows]


def unsequenced_sends(rows: Iterable[InFlightRow], now_us: int) -> list[SendBatch]:
    """The requests of in-flight submissions not yet sequenced and still in time: sent again
    after a restart (a copy already sequenced is deduplicated by the sequencer)."""
    sends = []
    for row in rows:
        if row.sequenced_at_us is not None or row.entry.max_sequencing_time_us <= now_us:
            continue
        if row.entry.payload:
            responses = decode_pending_payload(row.entry.payload).responses
            if responses is not None:
                sends.append(responses)
    return sends
