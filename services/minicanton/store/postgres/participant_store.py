"""PostgreSQL implementation of the participant store (see store/participant_store.py).

Every write of one sequenced event (or batch of them) happens in one transaction that locks
the single ``ledger_state`` row: that row holds the clean position and the ledger end, so
offsets are handed out under the lock (strictly increasing, no gaps) and a replayed event is
detected by comparing its sequencer counter with the stored one. Reads that must agree with
the ledger end (the ACS snapshot) run in one REPEATABLE READ transaction.

The hot writes, an event's effects and a new submission, are one statement each
(participant_fast_writes.py: a round trip cost ~150 us of our CPU and there were six to
fifteen per event); what those decline (a replayed event, a transaction id already in the
ledger, which is skipped with a `PARTICIPANT_DUPLICATE_TRANSACTION` alarm, a submission whose
change was accepted before) goes statement by statement (participant_slow_writes.py).
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
    DeduplicationOffset,
    DeduplicationPeriod,
    NotDuplicate,
    check_deduplication,
    expiry_horizon_us,
    validate_period,
)
from minicanton.core.protocol.offsets import LEDGER_BEGIN, Offset, offset_of
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
    SubmissionEntry,
    TopologyRow,
    TransactionRow,
)
from minicanton.store.postgres.participant_fast_writes import (
    fast_apply_event,
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
from minicanton.store.postgres.participant_slow_writes import (
    accepted_for,
    apply_event_slowly,
    dedup_pruned_up_to,
    insert_completion,
    start_submission_slowly,
)
from minicanton.store.postgres.pools import HeldConnection, create_stateless_pool
from minicanton.store.postgres.submission_starts import StartBatcher

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations" / "participant"
STORE_NAME = "participant"


class PostgresParticipantStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        # the ledger end counter as this store last wrote it (None: read it first); the
        # one-round-trip write checks it under the row lock, so a stale value costs a retry
        self._ledger_end: int | None = None
        self._writers: list[EventWriter] = []
        self._starts = StartBatcher(pool)

    @classmethod
    async def open(
        cls, dsn: str, *, min_size: int = 1, max_size: int = 4
    ) -> PostgresParticipantStore:
        """Apply pending migrations, then connect a pool."""
        await apply_migrations(dsn, STORE_NAME, MIGRATIONS)
        pool = await create_stateless_pool(dsn, min_size=min_size, max_size=max_size)
        return cls(pool)

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    async def close(self) -> None:
        for writer in self._writers:
            await writer.close()
        await self._starts.close()
        await self._pool.close()

    # -- the write path: one sequenced event, one transaction ------------------------------

    async def apply_event(self, effects: EventEffects) -> AppliedEvent:
        async with self._pool.acquire() as conn:
            applied, _ = await self.apply_event_on(conn, effects)
            return applied

    async def apply_event_on(self, conn: Any, effects: EventEffects
                             ) -> tuple[AppliedEvent, bool]:
        """`apply_event` on a connection the caller holds (`EventWriter`'s), and whether every
        transaction was stored as given at its offset (False on the statement-by-statement
        path: a replay stores nothing, a transaction already in the ledger is skipped)."""
        if self._ledger_end is None:
            self._ledger_end = int(await conn.fetchval(
                "SELECT ledger_end_counter FROM ledger_state"))
        ledger_end, self._ledger_end = self._ledger_end, None
        answer, transaction_offsets, rejection_offsets, new_end = await fast_apply_event(
            conn, effects, ledger_end)
        if answer == "applied":
            self._ledger_end = new_end
            return AppliedEvent(False, transaction_offsets, rejection_offsets,
                                offset_of(new_end)), True
        # a replay, a duplicate transaction id, or another writer: one statement at a time
        return await apply_event_slowly(conn, effects), False

    def event_writer(self) -> EventWriter:
        """The event pump's own connection for its reads and writes (see `EventWriter`)."""
        writer = EventWriter(self)
        self._writers.append(writer)
        return writer

    async def record_rejections(self, rejections: tuple[CompletionEntry, ...]) -> AppliedEvent:
        """Completions of submissions that end outside any sequenced event (a request the
        sequencer refused): each at a new offset, its in-flight row gone, in one transaction;
        the clean position stays where it is."""
        self._ledger_end = None  # moved here, not by the event writes
        async with self._pool.acquire() as conn, conn.transaction():
            counter = int(await conn.fetchval(
                "SELECT ledger_end_counter FROM ledger_state FOR UPDATE"))
            offsets = []
            for completion in rejections:
                counter += 1
                offsets.append(offset_of(counter))
                await insert_completion(conn, offset_of(counter), completion, None)
            await conn.execute("UPDATE ledger_state SET ledger_end_counter = $1", counter)
        return AppliedEvent(False, (), tuple(offsets), offset_of(counter))

    async def start_submission(
        self,
        entry: SubmissionEntry,
        period: DeduplicationPeriod | None,
        now_us: int,
        max_deduplication_duration_us: int,
    ) -> DeduplicationDecision:
        """Deduplicate a submission and, if it is new, record it in flight (atomically);
        the common case together with the other submissions of this event-loop turn."""
        if not isinstance(period, DeduplicationOffset):  # its check needs no horizon
            validate_period(period, max_deduplication_duration_us)
            started, in_flight, accepted, pruned_up_to = await self._starts.start(entry)
            if started:
                return NotDuplicate()
            decision = check_deduplication(period, now_us, accepted, in_flight,
                                           max_deduplication_duration_us, pruned_up_to)
            if not isinstance(decision, NotDuplicate):
                return decision
        async with self._pool.acquire() as conn:
            return await start_submission_slowly(conn, entry, period, now_us,
                                                  max_deduplication_duration_us)

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
            return await dedup_pruned_up_to(conn)

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
        if wanted.is_empty:  # a verdict, topology or time-proof event reads nothing
            return {}, {}
        async with self._pool.acquire() as conn:
            return await load_states_on(conn, wanted)

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
            return await accepted_for(conn, change_id)

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

    async def lookup_contracts(
        self, contract_ids: Collection[str], readers: Collection[str]
    ) -> dict[str, ContractRow]:
        """`lookup_contract` of many contracts in (at most) two queries: those found, by id."""
        rows = await self._pool.fetch(
            "SELECT * FROM contracts WHERE contract_id = ANY($1::text[]) "
            "AND archived_at_offset IS NULL AND stakeholders && $2::text[]",
            list(contract_ids), list(readers),
        )
        found = {r["contract_id"]: contract_row(r) for r in rows}
        missing = [c for c in contract_ids if c not in found]
        if missing:
            divulged = await self._pool.fetch(
                "SELECT DISTINCT ON (contract_id) * FROM divulged_contracts d "
                "WHERE contract_id = ANY($1::text[]) AND party = ANY($2::text[]) "
                "AND NOT EXISTS (SELECT 1 FROM contracts c WHERE c.contract_id = d.contract_id "
                "AND c.archived_at_offset IS NOT NULL) ORDER BY contract_id",
                missing, list(readers),
            )
            found |= {r["contract_id"]: divulged_row(r) for r in divulged}
        return found

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


class EventWriter:
    """The event pump's reads and writes on one connection it keeps (`HeldConnection`), not
    one taken from the pool and given back twice per batch (that bookkeeping was ~3% of the
    participant's CPU). Only the pump uses it; `PostgresParticipantStore.close` gives the
    connection back before closing the pool."""

    def __init__(self, store: PostgresParticipantStore) -> None:
        self._store = store
        self._held = HeldConnection(store.pool)

    async def load_states(
        self, wanted: StatesToFetch
    ) -> tuple[dict[str, ContractState | None], dict[GlobalKeyHash, str | None]]:
        if wanted.is_empty:
            return {}, {}
        return await self._held.run(lambda conn: load_states_on(conn, wanted))

    async def apply_event(self, effects: EventEffects) -> tuple[AppliedEvent, bool]:
        """`PostgresParticipantStore.apply_event_on`: the result and whether every
        transaction was stored as given (so what the caller holds is what a read returns)."""
        return await self._held.run(lambda conn: self._store.apply_event_on(conn, effects))

    async def close(self) -> None:
        await self._held.close()


async def load_states_on(
    conn: Any, wanted: StatesToFetch
) -> tuple[dict[str, ContractState | None], dict[GlobalKeyHash, str | None]]:
    rows: list[Any] = []
    keys: list[Any] = []
    if wanted.contract_ids:
        rows = await conn.fetch(
            "SELECT * FROM participant_contract_states($1::text[])",
            list(wanted.contract_ids),
        )
    if wanted.key_hashes:
        keys = await conn.fetch(
            "SELECT * FROM participant_key_assignments($1::text[])",
            list(wanted.key_hashes),
        )
    contracts: dict[str, ContractState | None] = dict.fromkeys(wanted.contract_ids)
    contracts |= {r["contract_id"]: ContractState(r["active"], r["key_hash"]) for r in rows}
    assigned: dict[GlobalKeyHash, str | None] = dict.fromkeys(wanted.key_hashes)
    assigned |= {GlobalKeyHash(r["key_hash"]): r["contract_id"] for r in keys}
    return contracts, assigned
