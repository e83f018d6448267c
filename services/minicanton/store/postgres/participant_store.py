"""PostgreSQL implementation of the participant store (see store/participant_store.py).

Every write of one sequenced event happens in one transaction that first locks the single
``ledger_state`` row: that row holds the clean position and the ledger end, so offsets are
handed out under the lock (strictly increasing, no gaps) and a replayed event is detected by
comparing its sequencer counter with the stored one. Reads that must agree with the ledger end
(the ACS snapshot) run in one REPEATABLE READ transaction.

A write statement runs only when it has something to write (`_write_rows`, and the ``ANY``
updates below): an ``execute`` with an empty array still costs a round trip, and most events
carry only a few kinds of effects; an event with none writes only the clean position, still in
the same transaction as everything else.

A transaction id already in the ledger is never written twice (replay protection should have
refused its request; the unique index would otherwise fail the event for ever, and a restart
with it): the commit is skipped with a `PARTICIPANT_DUPLICATE_TRANSACTION` alarm, the rest of
the event (its completion, pointing at the transaction already there, its pending requests,
its clean position) is written as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from pathlib import Path
from typing import Any

import asyncpg

from minicanton.core.lf.identifier import Identifier
from minicanton.core.protocol.commit_set import GlobalKeyHash
from minicanton.core.protocol.conflict_detection import ContractState, StatesToFetch
from minicanton.core.protocol.deduplication import (
    AcceptedCommand,
    ChangeId,
    DeduplicationDecision,
    DeduplicationPeriod,
    InFlightSubmission,
    NotDuplicate,
    check_deduplication,
    expiry_horizon_us,
)
from minicanton.core.protocol.offsets import LEDGER_BEGIN, Offset, offset_of
from minicanton.core.protocol.participant_effects import DUPLICATE_TRANSACTION
from minicanton.store.migrations import apply_migrations
from minicanton.store.participant_store import (
    AppliedEvent,
    CleanPosition,
    CompletionEntry,
    CompletionRow,
    ContractRow,
    CreateEventRef,
    EventEffects,
    InFlightRow,
    PendingRequest,
    StoredContract,
    SubmissionEntry,
    TopologyRow,
    TransactionEntry,
    TransactionRow,
    encode_activeness_result,
)
from minicanton.store.postgres.participant_rows import (
    EVENTS_SQL,
    completion_row,
    contract_row,
    divulged_row,
    group_transactions,
    in_flight_row,
    request_locks,
    template_text,
)

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations" / "participant"
STORE_NAME = "participant"


class PostgresParticipantStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def open(
        cls, dsn: str, *, min_size: int = 1, max_size: int = 4
    ) -> PostgresParticipantStore:
        """Apply pending migrations, then connect a pool."""
        await apply_migrations(dsn, STORE_NAME, MIGRATIONS)
        pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size)
        return cls(pool)

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    async def close(self) -> None:
        await self._pool.close()

    # -- the write path: one sequenced event, one transaction ------------------------------

    async def apply_event(self, effects: EventEffects) -> AppliedEvent:
        async with self._pool.acquire() as conn, conn.transaction():
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
                await _insert_completion(conn, offset_of(counter), completion, None)
            await _write_protocol_state(conn, effects)
            await conn.execute(
                "UPDATE ledger_state SET ledger_end_counter = $1, sequencer_counter = $2, "
                "sequencer_ts_us = $3",
                counter, effects.position.sequencer_counter, effects.position.sequencer_ts_us,
            )
        return AppliedEvent(
            False, tuple(transaction_offsets), tuple(rejection_offsets), offset_of(counter)
        )

    async def start_submission(
        self,
        entry: SubmissionEntry,
        period: DeduplicationPeriod | None,
        now_us: int,
        max_deduplication_duration_us: int,
    ) -> DeduplicationDecision:
        """Deduplicate a submission and, if it is new, record it in flight (atomically)."""
        key = entry.change_id.key
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)
            in_flight = await _in_flight_for(conn, entry.change_id)
            accepted = await _accepted_for(conn, entry.change_id)
            # Read after the entry: an expiry committing in between removed the entry and
            # raised the horizon in one transaction, so this statement sees the new horizon.
            pruned_up_to = await _dedup_pruned_up_to(conn)
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

    async def expire_deduplication(self, now_us: int, max_deduplication_duration_us: int) -> int:
        """Drop dedup entries that can no longer make a submission a duplicate, and raise the
        pruning horizon to the highest completion offset dropped (in the same transaction)."""
        async with self._pool.acquire() as conn, conn.transaction():
            horizon = await conn.fetchval(
                "SELECT pruned_up_to FROM command_dedup_state FOR UPDATE"
            )
            gone = await conn.fetch(
                "DELETE FROM command_dedup WHERE record_time_us < $1 RETURNING completion_offset",
                expiry_horizon_us(now_us, max_deduplication_duration_us),
            )
            highest = max((Offset(r["completion_offset"]) for r in gone), default=LEDGER_BEGIN)
            if highest > horizon:
                await conn.execute("UPDATE command_dedup_state SET pruned_up_to = $1", highest)
        return len(gone)

    async def deduplication_pruned_up_to(self) -> Offset:
        """The pruning horizon: offset periods must not start before it (ledger begin when
        nothing has been pruned). The Ledger API may show it as the earliest offset."""
        async with self._pool.acquire() as conn:
            return await _dedup_pruned_up_to(conn)

    # -- reads for the protocol and for restart ------------------------------------------

    async def clean_position(self) -> CleanPosition | None:
        row = await self._pool.fetchrow(
            "SELECT sequencer_counter, sequencer_ts_us FROM ledger_state"
        )
        if row["sequencer_counter"] is None:
            return None
        return CleanPosition(row["sequencer_counter"], row["sequencer_ts_us"])

    async def ledger_end(self) -> Offset:
        counter = await self._pool.fetchval("SELECT ledger_end_counter FROM ledger_state")
        return offset_of(int(counter))

    async def load_states(
        self, wanted: StatesToFetch
    ) -> tuple[dict[str, ContractState | None], dict[GlobalKeyHash, str | None]]:
        """What `ConflictDetector.provide_states` takes: None for no entry in the store."""
        rows: list[Any] = []
        keys: list[Any] = []
        if not wanted.is_empty:  # a verdict, topology or time-proof event reads nothing
            async with self._pool.acquire() as conn:
                if wanted.contract_ids:
                    rows = await conn.fetch(
                        "SELECT contract_id, archived_at_offset IS NULL AS active, key_hash "
                        "FROM contracts WHERE contract_id = ANY($1::text[])",
                        list(wanted.contract_ids),
                    )
                if wanted.key_hashes:
                    keys = await conn.fetch(
                        "SELECT key_hash, contract_id FROM contracts "
                        "WHERE key_hash = ANY($1::text[]) AND archived_at_offset IS NULL",
                        list(wanted.key_hashes),
                    )
        contracts: dict[str, ContractState | None] = dict.fromkeys(wanted.contract_ids)
        contracts |= {r["contract_id"]: ContractState(r["active"], r["key_hash"]) for r in rows}
        assigned: dict[GlobalKeyHash, str | None] = dict.fromkeys(wanted.key_hashes)
        assigned |= {GlobalKeyHash(r["key_hash"]): r["contract_id"] for r in keys}
        return contracts, assigned

    async def pending_requests(self) -> list[PendingRequest]:
        """Requests awaiting their verdict, with their locks and activeness results."""
        rows = await self._pool.fetch("SELECT * FROM pending_requests ORDER BY request_ts_us")
        return [PendingRequest(request_locks(r), bytes(r["payload"])) for r in rows]

    async def recent_transactions(self, since_record_time_us: int) -> list[tuple[str, int]]:
        """(transaction id, record time) of the transactions recorded at or after the time
        given: what `ParticipantMachine.restore` remembers against replays. Read once at
        start (no index on record time: a scan of the transactions)."""
        rows = await self._pool.fetch(
            "SELECT transaction_id, record_time_us FROM transactions "
            "WHERE record_time_us >= $1 ORDER BY ledger_offset", since_record_time_us)
        return [(r["transaction_id"], int(r["record_time_us"])) for r in rows]

    async def in_flight_submissions(self) -> list[InFlightRow]:
        rows = await self._pool.fetch("SELECT * FROM in_flight_submissions ORDER BY change_key")
        return [in_flight_row(r) for r in rows]

    async def accepted_command(self, change_id: ChangeId) -> AcceptedCommand | None:
        async with self._pool.acquire() as conn:
            return await _accepted_for(conn, change_id)

    async def topology_transactions(self) -> list[TopologyRow]:
        rows = await self._pool.fetch(
            "SELECT * FROM topology_transactions ORDER BY sequenced_ts_us, position"
        )
        return [
            TopologyRow(r["sequenced_ts_us"], r["position"], r["effective_from_us"],
                        bytes(r["payload"]))
            for r in rows
        ]

    # -- Ledger API reads ------------------------------------------------------------------

    async def lookup_contract(
        self, contract_id: str, readers: Collection[str]
    ) -> ContractRow | None:
        """An active contract a reader is a stakeholder of, or one divulged to a reader."""
        row = await self._pool.fetchrow(
            "SELECT * FROM contracts WHERE contract_id = $1 AND archived_at_offset IS NULL "
            "AND stakeholders && $2::text[]", contract_id, list(readers),
        )
        if row is not None:
            return contract_row(row)
        divulged = await self._pool.fetchrow(
            "SELECT * FROM divulged_contracts d WHERE contract_id = $1 AND party = ANY($2::text[]) "
            "AND NOT EXISTS (SELECT 1 FROM contracts c WHERE c.contract_id = d.contract_id "
            "AND c.archived_at_offset IS NOT NULL) LIMIT 1", contract_id, list(readers),
        )
        return None if divulged is None else divulged_row(divulged)

    async def active_contracts(
        self, parties: Collection[str], template_ids: Collection[Identifier] | None = None
    ) -> tuple[list[ContractRow], Offset]:
        """The ACS for `parties` (stakeholders), optionally by template, and its offset."""
        templates = None if template_ids is None else [template_text(t) for t in template_ids]
        async with self._pool.acquire() as conn, conn.transaction(
            isolation="repeatable_read", readonly=True
        ):
            counter = await conn.fetchval("SELECT ledger_end_counter FROM ledger_state")
            rows = await conn.fetch(
                "SELECT * FROM contracts WHERE archived_at_offset IS NULL "
                "AND stakeholders && $1::text[] AND ($2::text[] IS NULL OR template_id = ANY($2)) "
                "ORDER BY created_at_offset, contract_id", list(parties), templates,
            )
        return [contract_row(r) for r in rows], offset_of(int(counter))

    async def create_events(self, contracts: Collection[ContractRow]) -> dict[str, CreateEventRef]:
        """The create event of each ACS row, by contract id: the create node in the transaction
        at the row's creation offset. A divulged contract has none here and is left out."""
        if not contracts:
            return {}
        rows = await self._pool.fetch(
            "SELECT e.contract_id, t.transaction_id, e.node_id FROM events e "
            "JOIN transactions t ON t.ledger_offset = e.ledger_offset "
            "JOIN unnest($1::text[], $2::text[]) AS w(contract_id, ledger_offset) "
            "ON w.contract_id = e.contract_id AND w.ledger_offset = e.ledger_offset "
            "WHERE e.kind = 'create'",
            [c.contract.contract_id for c in contracts],
            [c.created_at_offset for c in contracts],
        )
        return {r["contract_id"]: CreateEventRef(r["transaction_id"], r["node_id"]) for r in rows}

    async def transactions(
        self,
        parties: Collection[str],
        begin_exclusive: Offset,
        end_inclusive: Offset | None,
        *,
        flat: bool,
        limit: int = 1000,
    ) -> list[TransactionRow]:
        """Transactions in (begin, end] with events the parties witness (flat: stakeholders
        of creates and archives; tree: every event in their projection)."""
        rows = await self._pool.fetch(
            EVENTS_SQL.format(which="ledger_offset IN (SELECT ledger_offset FROM page)"),
            list(parties), flat, begin_exclusive, end_inclusive, limit,
        )
        return group_transactions(rows)

    async def transaction_by_id(
        self, transaction_id: str, parties: Collection[str], *, flat: bool
    ) -> TransactionRow | None:
        rows = await self._pool.fetch(
            EVENTS_SQL.format(
                which="ledger_offset = (SELECT ledger_offset FROM transactions "
                "WHERE transaction_id = $6)"
            ),
            list(parties), flat, LEDGER_BEGIN, None, 1, transaction_id,
        )
        found = group_transactions(rows)
        return found[0] if found else None

    async def completions(
        self,
        application_id: str,
        parties: Collection[str],
        begin_exclusive: Offset,
        end_inclusive: Offset | None = None,
        limit: int = 1000,
    ) -> list[CompletionRow]:
        rows = await self._pool.fetch(
            "SELECT * FROM completions WHERE application_id = $1 AND act_as && $2::text[] "
            "AND ledger_offset > $3 AND ($4::text IS NULL OR ledger_offset <= $4) "
            "ORDER BY ledger_offset LIMIT $5",
            application_id, list(parties), begin_exclusive, end_inclusive, limit,
        )
        return [completion_row(r) for r in rows]


# -- writing one event ---------------------------------------------------------------------

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
        await _insert_completion(conn, offset, entry.completion, entry.transaction_id)
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
    await _insert_completion(conn, offset_of(counter + 1), entry.completion, entry.transaction_id)
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


async def _insert_completion(
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


async def _in_flight_for(conn: Any, change_id: ChangeId) -> InFlightSubmission | None:
    row = await conn.fetchrow(
        "SELECT * FROM in_flight_submissions WHERE change_key = $1", change_id.key
    )
    if row is None:
        return None
    return InFlightSubmission(change_id, row["submission_id"], row["max_sequencing_time_us"],
                              row["sequenced_at_us"])


async def _dedup_pruned_up_to(conn: Any) -> Offset:
    return Offset(await conn.fetchval("SELECT pruned_up_to FROM command_dedup_state"))


async def _accepted_for(conn: Any, change_id: ChangeId) -> AcceptedCommand | None:
    row = await conn.fetchrow("SELECT * FROM command_dedup WHERE change_key = $1", change_id.key)
    if row is None:
        return None
    return AcceptedCommand(change_id, row["submission_id"], Offset(row["completion_offset"]),
                           row["record_time_us"])
