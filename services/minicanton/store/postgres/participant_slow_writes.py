"""The participant store's writes one statement at a time: the path the one-round-trip
writes (participant_fast_writes.py) hand over to when they decline, and the deduplication reads.

Every write of one sequenced event happens in one transaction that first locks the single
``ledger_state`` row: offsets are handed out under the lock, and a replayed event is detected
by comparing its sequencer counter with the stored one. A write statement runs only when it
has something to write (`write_rows`, and the ``ANY`` updates below). A transaction id
already in the ledger is never written twice: the commit is skipped with a
`PARTICIPANT_DUPLICATE_TRANSACTION` alarm, the rest of the event (its completion, pointing at
the transaction already there, its pending requests, its clean position) is written as usual.
"""

from __future__ import annotations

import logging
from typing import Any

from minicanton.core.protocol.deduplication import (
    AcceptedCommand,
    ChangeId,
    DeduplicationDecision,
    DeduplicationPeriod,
    InFlightSubmission,
    NotDuplicate,
    check_deduplication,
)
from minicanton.core.protocol.offsets import Offset, offset_of
from minicanton.core.protocol.participant_effects import DUPLICATE_TRANSACTION
from minicanton.store.participant_store import (
    AppliedEvent,
    CompletionEntry,
    EventEffects,
    StoredContract,
    SubmissionEntry,
    TransactionEntry,
    encode_activeness_result,
)
from minicanton.store.postgres.participant_rows import template_text

log = logging.getLogger(__name__)


async def apply_event_slowly(conn: Any, effects: EventEffects) -> AppliedEvent:
    """`apply_event` one statement at a time, for what the one-round-trip write declines: a
    replayed event, a transaction id already in the ledger, a ledger end moved by another
    writer."""
    async with conn.transaction():
        state = await conn.fetchrow(
            "SELECT ledger_end_counter, sequencer_counter FROM ledger_state FOR UPDATE"
        )
        counter = int(state["ledger_end_counter"])
        stored = state["sequencer_counter"]
        if stored is not None and effects.position.sequencer_counter <= stored:
            return AppliedEvent(True, (), (), offset_of(counter))
        transaction_offsets = []
        for entry in effects.transactions:
            if await _insert_transaction(conn, offset_of(counter + 1), entry):
                counter += 1
                transaction_offsets.append(offset_of(counter))
            else:
                counter, offset = await _skip_duplicate(conn, counter, entry)
                transaction_offsets.append(offset)
        rejection_offsets = []
        for completion in effects.rejections:
            counter += 1
            rejection_offsets.append(offset_of(counter))
            await insert_completion(conn, offset_of(counter), completion, None)
        await _write_protocol_state(conn, effects)
        await conn.execute(
            "UPDATE ledger_state SET ledger_end_counter = $1, sequencer_counter = $2, "
            "sequencer_ts_us = $3",
            counter, effects.position.sequencer_counter, effects.position.sequencer_ts_us,
        )
    return AppliedEvent(
        False, tuple(transaction_offsets), tuple(rejection_offsets), offset_of(counter)
    )


async def start_submission_slowly(
    conn: Any,
    entry: SubmissionEntry,
    period: DeduplicationPeriod | None,
    now_us: int,
    max_deduplication_duration_us: int,
) -> DeduplicationDecision:
    """`start_submission` in a transaction of its own statements, when the decision needs
    the deduplication period (the change was accepted before, or the period is an offset)."""
    key = entry.change_id.key
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)
        in_flight = await in_flight_for(conn, entry.change_id)
        accepted = await accepted_for(conn, entry.change_id)
        # Read after the entry: an expiry committing in between removed the entry and
        # raised the horizon in one transaction, so this statement sees the new horizon.
        pruned_up_to = await dedup_pruned_up_to(conn)
        decision = check_deduplication(
            period, now_us, accepted, in_flight, max_deduplication_duration_us,
            pruned_up_to,
        )
        if isinstance(decision, NotDuplicate):
            await conn.execute(
                "INSERT INTO in_flight_submissions (change_key, application_id, command_id, "
                "act_as, submission_id, message_id, max_sequencing_time_us, payload) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                key, entry.change_id.application_id, entry.change_id.command_id,
                sorted(entry.change_id.act_as), entry.submission_id, entry.message_id,
                entry.max_sequencing_time_us, entry.payload,
            )
        return decision



async def _insert_transaction(conn: Any, offset: Offset, entry: TransactionEntry) -> bool:
    """Write one transaction at `offset`; False (nothing written) if its id is taken."""
    inserted = await conn.fetchval(
        "INSERT INTO transactions (ledger_offset, transaction_id, command_id, workflow_id, "
        "application_id, submitters, ledger_time_us, record_time_us) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
        "ON CONFLICT (transaction_id) DO NOTHING RETURNING ledger_offset",
        offset, entry.transaction_id, entry.command_id, entry.workflow_id,
        entry.application_id, sorted(entry.submitters), entry.ledger_time_us,
        entry.record_time_us,
    )
    if inserted is None:
        return False
    await _write_rows(
        conn,
        "INSERT INTO events (ledger_offset, node_id, parent_node_id, kind, contract_id, "
        "template_id, consuming, payload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [(offset, e.node_id, e.parent_node_id, e.kind, e.contract_id,
          template_text(e.template_id), e.consuming, e.payload) for e in entry.events],
    )
    await _write_rows(
        conn,
        "INSERT INTO event_witnesses (ledger_offset, node_id, party, flat) "
        "VALUES ($1, $2, $3, $4)",
        [(offset, e.node_id, party, party in e.flat_witnesses)
         for e in entry.events for party in sorted(e.tree_witnesses | e.flat_witnesses)],
    )
    await _apply_contracts(conn, offset, entry)
    if entry.completion is not None:
        await insert_completion(conn, offset, entry.completion, entry.transaction_id)
    return True


async def _skip_duplicate(conn: Any, counter: int, entry: TransactionEntry) -> tuple[int, Offset]:
    """A commit whose transaction id is in the ledger already: nothing is written twice. A
    completion on it completes its submission with that transaction, at a new offset. Returns
    the ledger end counter and the entry's offset (its completion's, or the transaction's)."""
    log.error("ALARM %s: transaction %s is already in the ledger, not committed again",
              DUPLICATE_TRANSACTION, entry.transaction_id,
              extra={"fields": {"alarm": DUPLICATE_TRANSACTION,
                                "transaction_id": entry.transaction_id}})
    if entry.completion is None:
        return counter, Offset(await conn.fetchval(
            "SELECT ledger_offset FROM transactions WHERE transaction_id = $1",
            entry.transaction_id))
    await insert_completion(conn, offset_of(counter + 1), entry.completion, entry.transaction_id)
    return counter + 1, offset_of(counter + 1)


async def _apply_contracts(conn: Any, offset: Offset, entry: TransactionEntry) -> None:
    # Archive before create: a transaction may archive a keyed contract and create its
    # successor with the same key, and the unique key index must see the archive first.
    if entry.archived:
        await conn.execute(
            "UPDATE contracts SET archived_at_offset = $1 "
            "WHERE contract_id = ANY($2::text[]) AND archived_at_offset IS NULL",
            offset, sorted(entry.archived),
        )
    await _write_rows(
        conn,
        "INSERT INTO contracts (contract_id, template_id, signatories, stakeholders, key_hash, "
        "payload, ledger_time_us, created_at_offset) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [(*_contract_values(c), offset) for c in entry.created],
    )
    await _write_rows(
        conn,
        "INSERT INTO divulged_contracts (contract_id, party, template_id, payload, "
        "ledger_time_us, divulged_at_offset) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (contract_id, party) DO NOTHING",
        [(d.contract.contract_id, party, template_text(d.contract.template_id),
          d.contract.payload, d.contract.ledger_time_us, offset)
         for d in entry.divulged for party in sorted(d.parties)],
    )


async def _write_rows(conn: Any, statement: str, rows: list[tuple[Any, ...]]) -> None:
    """`executemany`, skipped when there is nothing to write."""
    if rows:
        await conn.executemany(statement, rows)


def _contract_values(c: StoredContract) -> tuple[Any, ...]:
    return (c.contract_id, template_text(c.template_id), sorted(c.signatories),
            sorted(c.stakeholders), c.key_hash, c.payload, c.ledger_time_us)


async def insert_completion(
    conn: Any, offset: Offset, completion: CompletionEntry, transaction_id: str | None
) -> None:
    await conn.execute(
        "INSERT INTO completions (ledger_offset, application_id, act_as, command_id, "
        "submission_id, transaction_id, status_code, error_id, message, record_time_us) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        offset, completion.application_id, sorted(completion.act_as), completion.command_id,
        completion.submission_id, transaction_id, completion.status_code, completion.error_id,
        completion.message, completion.record_time_us,
    )
    if completion.change_key is None:
        return
    await conn.execute(
        "DELETE FROM in_flight_submissions WHERE change_key = $1", completion.change_key
    )
    if transaction_id is not None:
        await conn.execute(
            "INSERT INTO command_dedup (change_key, submission_id, completion_offset, "
            "record_time_us) VALUES ($1, $2, $3, $4) ON CONFLICT (change_key) DO UPDATE SET "
            "submission_id = $2, completion_offset = $3, record_time_us = $4",
            completion.change_key, completion.submission_id, offset, completion.record_time_us,
        )


async def _write_protocol_state(conn: Any, effects: EventEffects) -> None:
    await _write_rows(
        conn,
        "INSERT INTO pending_requests (request_id, request_ts_us, decision_time_us, "
        "locked_contracts, locked_keys, payload, activeness_result) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
        [(p.locks.request_id, p.locks.request_ts_us, p.locks.decision_time_us,
          sorted(p.locks.contract_ids), sorted(p.locks.key_hashes), p.payload,
          None if p.locks.activeness_result is None
          else encode_activeness_result(p.locks.activeness_result))
         for p in effects.pending_added],
    )
    if effects.pending_removed:
        await conn.execute(
            "DELETE FROM pending_requests WHERE request_id = ANY($1::text[])",
            list(effects.pending_removed),
        )
    await _write_rows(
        conn,
        "UPDATE in_flight_submissions SET request_id = $2, sequenced_at_us = $3 "
        "WHERE change_key = $1",
        [(s.change_key, s.request_id, s.sequenced_at_us) for s in effects.submissions_sequenced],
    )
    await _write_rows(
        conn,
        "INSERT INTO topology_transactions (sequenced_ts_us, position, effective_from_us, "
        "payload) VALUES ($1, $2, $3, $4)",
        [(t.sequenced_ts_us, t.position, t.effective_from_us, t.payload)
         for t in effects.topology],
    )


async def in_flight_for(conn: Any, change_id: ChangeId) -> InFlightSubmission | None:
    row = await conn.fetchrow(
        "SELECT * FROM in_flight_submissions WHERE change_key = $1", change_id.key
    )
    if row is None:
        return None
    return InFlightSubmission(change_id, row["submission_id"], row["max_sequencing_time_us"],
                              row["sequenced_at_us"])


async def dedup_pruned_up_to(conn: Any) -> Offset:
    return Offset(await conn.fetchval("SELECT pruned_up_to FROM command_dedup_state"))


async def accepted_for(conn: Any, change_id: ChangeId) -> AcceptedCommand | None:
    row = await conn.fetchrow("SELECT * FROM command_dedup WHERE change_key = $1", change_id.key)
    if row is None:
        return None
    return AcceptedCommand(change_id, row["submission_id"], Offset(row["completion_offset"]),
                           row["record_time_us"])
