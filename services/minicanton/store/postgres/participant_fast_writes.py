"""The participant store's hot writes in one round trip each (migration 0005's functions).

Theory of operation
-------------------
`apply_event` used to take six to fifteen statements per batch of events and
`start_submission` seven, each a network round trip with its own client CPU; together they
were a fifth of a participant's CPU per transaction. Here each is one statement calling a
PL/pgSQL function, still one database transaction, with the same effects in the same order:

* `fast_apply_event`: the store numbers the offsets from the ledger end it last wrote (the
  event pump is the only writer), and the function writes the rows only if, under the
  ``ledger_state`` row lock, that is still the ledger end, the event is not a replay, and no
  transaction id is in the ledger already. It answers ``'stale'`` otherwise, and a
  transaction id already there fails its insert in the unique index (migration 0011: the
  whole call is rolled back; taken here as ``'duplicate'``). Either way nothing is written
  and the store takes its statement-by-statement path, which handles those (rare) cases.
  Contract changes carry a `step` (`_TransactionRows`), and the function applies them step by
  step, archives before creates, as that path does transaction by transaction, so a key
  passed from an archived contract to its successor never trips the unique key index.
* `fast_start_submission`: under the change's advisory lock, a change neither in flight nor
  ever accepted is recorded in flight at once (no deduplication period can make it a
  duplicate); otherwise the function writes nothing and returns what the store holds, the
  caller decides with `check_deduplication`, and takes the statement-by-statement path only
  if it must record the submission after all.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from minicanton.core.protocol.deduplication import (
    AcceptedCommand,
    ChangeId,
    InFlightSubmission,
)
from minicanton.core.protocol.offsets import Offset, offset_of
from minicanton.store.participant_store import (
    CompletionEntry,
    EventEffects,
    SubmissionEntry,
    TransactionEntry,
    encode_activeness_result,
)
from minicanton.store.postgres.participant_rows import template_text

APPLY_SQL = (
    "SELECT participant_apply_event($1, $2, $3, $4, $5::participant_transaction_row[], "
    "$6::participant_event_row[], $7::participant_witness_row[], "
    "$8::participant_contract_change[], $9::participant_completion_row[], "
    "$10::participant_completion_row[], $11::participant_pending_row[], $12::text[], "
    "$13::participant_sequenced_row[], $14::participant_topology_row[])"
)
# the unique index that refuses a transaction id already in the ledger
DUPLICATE_TRANSACTION_ID = "transactions_transaction_id_key"
START_SQL = "SELECT * FROM participant_start_submission($1, $2, $3, $4, $5, $6, $7, $8)"


async def fast_apply_event(
    conn: Any, effects: EventEffects, ledger_end: int
) -> tuple[str, tuple[Offset, ...], tuple[Offset, ...], int]:
    """Write `effects` numbering offsets after `ledger_end`: the function's answer, the
    transactions' and rejections' offsets and the new ledger end counter."""
    transactions = effects.transactions
    if len({t.transaction_id for t in transactions}) != len(transactions):
        return "duplicate", (), (), ledger_end  # one id twice in the batch: the slow path
    new_end = ledger_end + len(transactions) + len(effects.rejections)
    offsets = [offset_of(n) for n in range(ledger_end + 1, new_end + 1)]
    tx_offsets = tuple(offsets[:len(transactions)])
    rejection_offsets = tuple(offsets[len(transactions):])
    rows = _TransactionRows(tx_offsets, transactions)
    completions = rows.completions + [
        _completion(offset, c, None) for offset, c in zip(rejection_offsets, effects.rejections,
                                                          strict=True)]
    try:
        # an empty array goes as NULL: the function skips both alike (cardinality(NULL) > 0
        # is not true, unnest(NULL) has no rows), and asyncpg encodes a NULL for nothing
        # where an empty array parameter costs it about as much as three elements
        answer = await conn.fetchval(
            APPLY_SQL,
            effects.position.sequencer_counter, effects.position.sequencer_ts_us, ledger_end,
            new_end, rows.transactions or None, rows.events or None, rows.witnesses or None,
            rows.contracts or None, completions or None, _dedup(completions) or None,
            [_pending(p) for p in effects.pending_added] or None,
            effects.pending_removed or None,
            list({s.change_key: (s.change_key, s.request_id, s.sequenced_at_us)
                  for s in effects.submissions_sequenced}.values()) or None,
            [(t.sequenced_ts_us, t.position, t.effective_from_us, t.payload)
             for t in effects.topology] or None,
        )
    except asyncpg.UniqueViolationError as error:
        if error.constraint_name != DUPLICATE_TRANSACTION_ID:
            raise
        return "duplicate", (), (), ledger_end  # nothing written (migration 0011)
    return str(answer), tx_offsets, rejection_offsets, new_end


class _TransactionRows:
    """The rows of a batch's transactions for `participant_apply_event`, built in one pass.

    Contract changes carry a `step`: the function applies the steps in order, each one's
    archives before its creates and divulged contracts. A transaction that archives nothing
    joins the step before it (its inserts do not depend on the order of that step's inserts;
    a duplicate contract id fails the statement either way), so a batch of creates is one
    step; one that archives starts a step of its own, so its archives see every contract
    created before it, as applying the transactions one by one would."""

    __slots__ = ("completions", "contracts", "events", "transactions", "witnesses")

    def __init__(self, offsets: tuple[Offset, ...],
                 transactions: tuple[TransactionEntry, ...]) -> None:
        self.transactions: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.witnesses: list[tuple[Any, ...]] = []
        self.contracts: list[tuple[Any, ...]] = []
        self.completions: list[tuple[Any, ...]] = []
        step = 0
        for number, (offset, entry) in enumerate(zip(offsets, transactions, strict=True)):
            if entry.archived and number:
                step += 1
            self._add(step, offset, entry)

    def _add(self, step: int, offset: Offset, entry: TransactionEntry) -> None:
        self.transactions.append((
            offset, entry.transaction_id, entry.command_id, entry.workflow_id,
            entry.application_id, sorted(entry.submitters), entry.ledger_time_us,
            entry.record_time_us))
        for e in entry.events:
            self.events.append((offset, e.node_id, e.parent_node_id, e.kind, e.contract_id,
                                template_text(e.template_id), e.consuming, e.payload))
            flat = e.flat_witnesses
            for party in sorted(e.tree_witnesses | flat):
                self.witnesses.append((offset, e.node_id, party, party in flat))
        contracts = self.contracts
        for contract_id in sorted(entry.archived):
            contracts.append((step, "archive", offset, contract_id, None, None, None, None,
                              None, None, None))
        for c in entry.created:
            contracts.append((step, "create", offset, c.contract_id,
                              template_text(c.template_id), sorted(c.signatories),
                              sorted(c.stakeholders), c.key_hash, c.payload,
                              c.ledger_time_us, None))
        for d in entry.divulged:
            divulged = d.contract
            template = template_text(divulged.template_id)
            for party in sorted(d.parties):
                contracts.append((step, "divulge", offset, divulged.contract_id, template,
                                  None, None, None, divulged.payload, divulged.ledger_time_us,
                                  party))
        if entry.completion is not None:
            self.completions.append(_completion(offset, entry.completion,
                                                entry.transaction_id))


def _completion(offset: Offset, completion: CompletionEntry,
                transaction_id: str | None) -> tuple[Any, ...]:
    return (offset, completion.application_id, sorted(completion.act_as), completion.command_id,
            completion.submission_id, transaction_id, completion.status_code,
            completion.error_id, completion.message, completion.record_time_us,
            completion.change_key)


def _dedup(completions: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The accepted completions (with a transaction id and a change key), the last one per
    change key: what upserting them one by one would leave."""
    last = {row[10]: row for row in completions if row[5] is not None and row[10] is not None}
    return list(last.values())


def _pending(pending: Any) -> tuple[Any, ...]:
    locks = pending.locks
    result = locks.activeness_result
    return (locks.request_id, locks.request_ts_us, locks.decision_time_us,
            sorted(locks.contract_ids), sorted(locks.key_hashes), pending.payload,
            None if result is None else encode_activeness_result(result))


# started, what is in flight for the change, what was accepted for it, the dedup horizon
StartAnswer = tuple[bool, InFlightSubmission | None, AcceptedCommand | None, Offset]


async def fast_start_submission(conn: Any, entry: SubmissionEntry) -> StartAnswer:
    """Record `entry` in flight if its change is neither in flight nor accepted (True);
    else (False) what the store holds for it. Also the deduplication pruning horizon.
    (`submission_starts.StartBatcher` does the same for several entries at once.)"""
    row = await conn.fetchrow(START_SQL, *start_row(entry))
    return start_answer(entry.change_id, row)


def start_row(entry: SubmissionEntry) -> tuple[Any, ...]:
    """The arguments of `participant_start_submission`, in order (one
    `participant_start_row` of the batched function)."""
    change = entry.change_id
    return (change.key, change.application_id, change.command_id, sorted(change.act_as),
            entry.submission_id, entry.message_id, entry.max_sequencing_time_us,
            entry.payload)


def start_answer(change: ChangeId, row: Any) -> StartAnswer:
    return bool(row["started"]), _in_flight(change, row), _accepted(change, row), Offset(
        row["pruned_up_to"])


def _in_flight(change: ChangeId, row: Any) -> InFlightSubmission | None:
    if row["in_flight_submission_id"] is None:
        return None
    return InFlightSubmission(change, row["in_flight_submission_id"],
                              row["in_flight_max_sequencing_time_us"],
                              row["in_flight_sequenced_at_us"])


def _accepted(change: ChangeId, row: Any) -> AcceptedCommand | None:
    if row["accepted_submission_id"] is None:
        return None
    return AcceptedCommand(change, row["accepted_submission_id"],
                           Offset(row["accepted_completion_offset"]),
                           row["accepted_record_time_us"])
