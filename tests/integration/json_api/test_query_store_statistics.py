"""The query store refreshes PostgreSQL's statistics after a bulk fill (a catch-up from an
active contract set), so the queries that follow are planned for the table as it now is,
not as it was before the fill (a scan of every contract for a one-match equality, until
autovacuum came by). Small writes leave the statistics to autovacuum."""

from __future__ import annotations

import asyncpg
from tests.integration.json_api.packages import item_template, items_package

from minicanton.core.protocol.offsets import offset_of
from minicanton.json_api.contracts import ActiveContract
from minicanton.json_api.query_store.store import OffsetStep, PostgresQueryStore, StoreUpdate


def _items(template, first: int, count: int) -> tuple[ActiveContract, ...]:
    return tuple(ActiveContract(f"c{n:06d}", template, {"owner": "alice", "name": f"n{n}"},
                                {"owner": "alice", "name": f"n{n}"}, ("alice",), ())
                 for n in range(first, first + count))


async def _analyzed(dsn: str) -> tuple[int, float]:
    """(manual ANALYZE runs of `contract`, the rows PostgreSQL believes it holds)."""
    connection = await asyncpg.connect(dsn)
    try:
        row = await connection.fetchrow(
            "SELECT s.analyze_count, c.reltuples FROM pg_stat_user_tables s "
            "JOIN pg_class c ON c.oid = s.relid WHERE s.relname = 'contract'")
        return int(row["analyze_count"]), float(row["reltuples"])
    finally:
        await connection.close()


async def test_a_bulk_fill_refreshes_the_statistics_and_small_writes_do_not(
        fresh_database: str) -> None:
    template = item_template(items_package())
    store = await PostgresQueryStore.open(fresh_database, "p1::1220", pool_size=2)
    try:
        step = OffsetStep("alice", template, None, offset_of(1))
        assert await store.apply(StoreUpdate((step,), _items(template, 0, 10)))
        assert (await _analyzed(fresh_database))[0] == 0  # ten rows: autovacuum's business

        fill = OffsetStep("alice", template, offset_of(1), offset_of(2))
        assert await store.apply(StoreUpdate((fill,), _items(template, 10, 3_000)))
        runs, rows = await _analyzed(fresh_database)
        assert runs == 1 and rows == 3_010

        more = OffsetStep("alice", template, offset_of(2), offset_of(3))
        assert await store.apply(StoreUpdate((more,), _items(template, 3_010, 500)))
        assert (await _analyzed(fresh_database))[0] == 1  # a sixth more: not yet stale
    finally:
        await store.close()
