"""The sequencer's memory stays bounded (shells review #5): the event feed by payload bytes as
well as by count, the writer's queue by sends and bytes. A real store on a real database, the
instance's real writer and feed driven in-process, so the bounds can be looked at directly."""

from __future__ import annotations

import asyncio

import pytest
from tests.unit.sequencing.helpers import ALICE, BOB, request

from minicanton.core.sequencing.errors import SequencerUnavailable
from minicanton.core.sequencing.stored import StoredEnvelope
from minicanton.core.sequencing.submission import ValidatedSubmission
from minicanton.runtime.clock import wall_clock_us
from minicanton.sequencer.reader import EventFeed
from minicanton.sequencer.writer import Writer, WriterSettings
from minicanton.store.postgres.sequencer import PostgresSequencerStore

DOMAIN = "memory-test"
PAYLOAD_BYTES = 300_000


def _submission(message_id: str) -> ValidatedSubmission:
    sent = request(ALICE, BOB, message_id=message_id, max_sequencing_time_us=10**17,
                   content=b"x" * PAYLOAD_BYTES)
    return ValidatedSubmission(sent, 1, (StoredEnvelope(frozenset({2}),
                                                        sent.batch.envelopes[0]),))


async def _online_writer(store: PostgresSequencerStore, settings: WriterSettings) -> Writer:
    await store.initialize(DOMAIN, 1)
    writer = Writer(store, await store.claim_node_index(1), 1, wall_clock_us, settings)
    await writer.go_online()
    return writer


async def test_the_feed_keeps_at_most_its_byte_budget_and_older_events_come_from_the_database(
        fresh_database: str) -> None:
    store = await PostgresSequencerStore.connect(fresh_database, pool_size=2)
    try:
        writer = await _online_writer(store, WriterSettings())
        feed = EventFeed(store, max_bytes=1 << 20)
        await feed.start()
        runner = asyncio.get_running_loop().create_task(writer.run())
        futures = [writer.submit(_submission(f"m{n}"), PAYLOAD_BYTES) for n in range(10)]
        last_us = max(s for s in await asyncio.gather(*futures) if s is not None)
        reader = asyncio.get_running_loop().create_task(feed.run())
        feed.wake()
        for _ in range(100):
            if feed.cursor_us >= last_us:
                break
            await asyncio.sleep(0.05)
        reader.cancel()
        assert feed.cursor_us >= last_us
        assert feed.cached_bytes <= 1 << 20
        assert len(feed.events_after(feed.start_us)) == 3  # 3 x 300 KB fit in 1 MiB
        # what deliveries share is cached for a quarter of the budget: the newest alone here
        assert feed.warm_events() == 1
        page = await store.read_member_events(2, 0, 100)
        assert [e.message_id for e in page.events] == [f"m{n}" for n in range(10)]
        await writer.stop()
        await asyncio.wait_for(runner, 10)
    finally:
        await store.close()


async def test_the_writer_refuses_sends_past_its_queue_bounds_until_it_wrote(
        fresh_database: str) -> None:
    store = await PostgresSequencerStore.connect(fresh_database, pool_size=2)
    try:
        writer = await _online_writer(store, WriterSettings(max_queued=3,
                                                            max_queued_bytes=1 << 20))
        queued = [writer.submit(_submission(f"q{n}"), PAYLOAD_BYTES) for n in range(3)]
        with pytest.raises(SequencerUnavailable, match="waiting to be written"):
            writer.submit(_submission("one-too-many"), 1)
        runner = asyncio.get_running_loop().create_task(writer.run())
        await asyncio.gather(*queued)  # written: the queue is empty again
        big = writer.submit(_submission("big"), 1 << 20)  # exactly the byte budget
        with pytest.raises(SequencerUnavailable, match="bytes"):
            writer.submit(_submission("over-bytes"), 1)
        await big
        await writer.stop()
        await asyncio.wait_for(runner, 10)
    finally:
        await store.close()
