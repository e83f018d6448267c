"""A fresh participant's lookups of existing rows stay index lookups as its ledger grows.

PostgreSQL caches a generic plan for a prepared statement (and for each statement of a
PL/pgSQL function) after a few calls. Made while the ledger is nearly empty, that plan is a
sequential scan, and it is kept until autovacuum next analyzes the table: meanwhile every
batch write and every activeness lookup read the whole ledger. The store plans those lookups
at each call instead (migration 0006, restored by 0009 after 0008 tried sequential scans off
inside the functions, which also sent the one-row ledger_state through its index). The test
makes the first calls on an empty ledger, grows the tables behind the store's back without
analyzing them, and counts the scans of the next calls on the store's own connection (the
tables were analyzed while young, as autovacuum does)."""

from __future__ import annotations

import asyncpg
from tests.integration.participant_store.test_participant_store import (
    ALICE,
    entry_for,
    event,
    iou,
    transfer,
    tx,
)

from minicanton.core.protocol.conflict_detection import StatesToFetch
from minicanton.store.postgres.participant_store import PostgresParticipantStore

FILLER_ROWS = 5_000


async def _grow(dsn: str) -> None:
    """Rows with offsets before every real one, as if written earlier; autovacuum is off for
    the two tables so no analyze fixes the statistics meanwhile."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "ALTER TABLE contracts SET (autovacuum_enabled = false);"
            "ALTER TABLE transactions SET (autovacuum_enabled = false);"
            f"INSERT INTO contracts (contract_id, template_id, signatories, stakeholders, "
            f"  payload, ledger_time_us, created_at_offset) "
            f"SELECT 'filler-' || n, 'p:M:T', '{{a}}', '{{a}}', '\\x00', 0, '!' || n "
            f"FROM generate_series(1, {FILLER_ROWS}) n;"
            f"INSERT INTO transactions (ledger_offset, transaction_id, command_id, workflow_id, "
            f"  application_id, submitters, ledger_time_us, record_time_us) "
            f"SELECT '!' || n, 'filler-' || n, 'c', '', 'app', '{{a}}', 0, 0 "
            f"FROM generate_series(1, {FILLER_ROWS}) n")
    finally:
        await connection.close()


async def _scans(store: PostgresParticipantStore, dsn: str) -> dict[str, tuple[int, int]]:
    """(sequential, index) scans per table, once the store's backend reported its counts."""
    await store.pool.execute("SELECT pg_stat_force_next_flush()")
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT relname, seq_scan, coalesce(idx_scan, 0) AS idx_scan "
            "FROM pg_stat_user_tables WHERE relname IN ('contracts', 'transactions')")
        return {r["relname"]: (r["seq_scan"], r["idx_scan"]) for r in rows}
    finally:
        await connection.close()


async def test_lookups_stay_index_lookups_as_a_fresh_ledger_grows(fresh_database: str) -> None:
    store = await PostgresParticipantStore.open(fresh_database, min_size=1, max_size=1)
    try:
        for n in range(1, 11):  # past the calls after which a generic plan is cached
            if n == 3:  # autovacuum analyzes the young tables
                await store.pool.execute("ANALYZE contracts; ANALYZE transactions")
            await store.load_states(StatesToFetch(frozenset({f"c{n}"}), frozenset()))
            await store.apply_event(event(n, entry_for(tx(iou(f"c{n}", ALICE)), f"t{n}")))
        await _grow(fresh_database)
        before = await _scans(store, fresh_database)
        for n in range(1, 11):  # archive each contract, create its successor
            await store.load_states(StatesToFetch(frozenset({f"c{n}"}), frozenset()))
            spend = entry_for(tx(transfer(f"c{n}", ALICE, (1,)), iou(f"d{n}", ALICE)), f"u{n}")
            await store.apply_event(event(10 + n, spend))
        after = await _scans(store, fresh_database)
        for table in ("contracts", "transactions"):
            sequential = after[table][0] - before[table][0]
            indexed = after[table][1] - before[table][1]
            assert indexed >= 10, (table, after, before)  # the counts were reported
            assert sequential == 0, f"{table}: {sequential} sequential scans of the ledger"
        states, _ = await store.load_states(StatesToFetch(frozenset({"c1", "d1"}), frozenset()))
        assert states["c1"] is not None and not states["c1"].active
        assert states["d1"] is not None and states["d1"].active
    finally:
        await store.close()
