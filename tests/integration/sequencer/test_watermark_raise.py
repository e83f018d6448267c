"""A write raises idle instances' watermarks; their stale timestamps are shifted or refused.

Two stores of one domain (node 0 and node 1 of 2) on a real database, driven directly, so each
interleaving is exact: what the raise does to readers, to a keep-alive, to the next write of
the raised instance, to an instance in the middle of its own write, and to an instance still
running the previous release (its `sequencer_write` is fenced instead of writing below).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest
import pytest_asyncio
from tests.unit.sequencing.helpers import ALICE, BOB, request

from minicanton.core.sequencing.ordering import TimestampAllocator, safe_watermark
from minicanton.core.sequencing.stored import StoredEnvelope
from minicanton.core.sequencing.submission import (
    PlannedEvent,
    ValidatedSubmission,
    plan_events,
)
from minicanton.store.postgres.sequencer import PostgresSequencerStore
from minicanton.store.sequencer import InstanceFenced, StampedBelowWatermark

DOMAIN = "raise-test"
START_US = 1_000_000_000


@dataclass
class Instance:
    store: PostgresSequencerStore
    index: int
    session: uuid.UUID
    allocator: TimestampAllocator

    def plan(self, *message_ids: str, now_us: int, mst_us: int = 10**15) -> list[PlannedEvent]:
        submissions = [ValidatedSubmission(
            request(ALICE, BOB, message_id=m, max_sequencing_time_us=mst_us), 1,
            (StoredEnvelope(frozenset({2}), request(ALICE, BOB).batch.envelopes[0]),))
            for m in message_ids]
        return plan_events(submissions, self.allocator, now_us)


@pytest_asyncio.fixture
async def pair(fresh_database: str) -> AsyncIterator[tuple[Instance, Instance]]:
    instances = []
    for index in (0, 1):
        store = await PostgresSequencerStore.connect(fresh_database, pool_size=2)
        await store.initialize(DOMAIN, 2)
        session = uuid.uuid4()
        rejoin_us = await store.go_online(index, session, START_US)
        allocator = TimestampAllocator(2, index, rejoin_us)
        instances.append(Instance(store, index, session, allocator))
    try:
        yield instances[0], instances[1]
    finally:
        for instance in instances:
            await instance.store.close()


async def write(instance: Instance, planned: list[PlannedEvent]):  # type: ignore[no-untyped-def]
    watermark_us = instance.allocator.last_us
    return await instance.store.write(instance.index, instance.session, watermark_us,
                                      START_US, planned)


async def watermark_of(instance: Instance, index: int) -> int:
    marks = await instance.store.watermarks()
    return next(m.watermark_us for m in marks if m.node_index == index)


async def test_a_write_raises_the_idle_instance_so_readers_see_it_at_once(pair) -> None:
    first, second = pair
    planned = first.plan("a", now_us=START_US + 5_000)
    result = await write(first, planned)
    stamped = planned[0].event.timestamp_us  # type: ignore[union-attr]
    assert result.written == {stamped} and result.shift_us == 0
    assert await watermark_of(first, 1) == stamped
    assert safe_watermark(await first.store.watermarks()) == stamped
    page = await second.store.read_events(0, 10)
    assert [e.message_id for e in page.events] == ["a"] and page.up_to_us == stamped


async def test_stale_timestamps_of_the_raised_instance_are_shifted_in_its_class(pair) -> None:
    first, second = pair
    stale = second.plan("b1", "b2", now_us=START_US + 1_001)  # stamped before the raise
    await write(first, first.plan("a", now_us=START_US + 9_000))
    raised_us = await watermark_of(first, 1)
    result = await write(second, stale)
    planned = [p.event.timestamp_us for p in stale]  # type: ignore[union-attr]
    assert result.shift_us > 0 and result.shift_us % 2 == 0
    assert result.written == {ts + result.shift_us for ts in planned}
    assert min(result.written) > raised_us and all(ts % 2 == 1 for ts in result.written)
    assert result.watermark_us == max(result.written)
    page = await first.store.read_events(0, 10)
    assert [e.message_id for e in page.events] == ["a", "b1", "b2"]


async def test_a_shift_past_a_max_sequencing_time_is_refused(pair) -> None:
    first, second = pair
    stale = second.plan("late", now_us=START_US + 1_001, mst_us=START_US + 2_000)
    await write(first, first.plan("a", now_us=START_US + 9_000))
    with pytest.raises(StampedBelowWatermark) as refused:
        await write(second, stale)
    assert refused.value.watermark_us == await watermark_of(first, 1)
    assert [e.message_id for e in (await first.store.read_events(0, 10)).events] == ["a"]


async def test_a_keep_alive_never_lowers_a_raised_watermark(pair) -> None:
    first, second = pair
    second.allocator.allocate(START_US + 1_001)
    await write(first, first.plan("a", now_us=START_US + 9_000))
    raised_us = await watermark_of(first, 1)
    result = await write(second, [])
    assert result.watermark_us == raised_us == await watermark_of(first, 1)


async def test_an_instance_in_its_own_write_is_not_raised(pair, fresh_database: str) -> None:
    first, _ = pair
    before_us = await watermark_of(first, 1)
    writing = await asyncpg.connect(fresh_database)
    listener = await asyncpg.connect(fresh_database)
    kinds: list[str] = []
    await listener.add_listener("sequencer_events",
                                lambda *args: kinds.append(args[3].rsplit(":", 1)[1]))
    try:
        async with writing.transaction():  # holds node 1's row, as its write would
            await writing.execute("SELECT 1 FROM sequencer_watermarks WHERE node_index = 1 "
                                  "FOR UPDATE")
            await write(first, first.plan("a", now_us=START_US + 9_000))
        await listener.execute("SELECT 1")  # let the notification arrive
        assert await watermark_of(first, 1) == before_us
        assert kinds[-1] == "E"  # so node 1 moves its watermark itself
    finally:
        await writing.close()
        await listener.close()


async def test_the_previous_release_write_is_fenced_below_a_raised_watermark(
    pair, fresh_database: str
) -> None:
    first, second = pair
    stale = second.plan("old", now_us=START_US + 1_001)
    await write(first, first.plan("a", now_us=START_US + 9_000))
    connection = await asyncpg.connect(fresh_database)
    try:
        ts = stale[0].event.timestamp_us  # type: ignore[union-attr]
        with pytest.raises(asyncpg.PostgresError) as fenced:
            await connection.fetchval(
                "SELECT sequencer_write($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                1, second.session, ts, START_US, [ts], [1], ["old"], [10**15], ["{1,2}"],
                [b""], [None], [None])
        assert fenced.value.sqlstate == "MC001"
    finally:
        await connection.close()
    with pytest.raises(InstanceFenced):
        await second.store.write(1, uuid.uuid4(), 0, START_US, [])
