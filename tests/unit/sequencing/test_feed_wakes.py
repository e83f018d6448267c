"""A feed read wakes only the streams of members it holds an event for (reader.py)."""

from __future__ import annotations

import asyncio

from minicanton.core.sequencing.batch import Envelope
from minicanton.core.sequencing.events import DeliverError
from minicanton.core.sequencing.stored import StoredEnvelope, StoredEvent
from minicanton.sequencer.delivery import PreparedEvent
from minicanton.sequencer.reader import EventFeed


def _event(ts: int, sender: int, *readers: int) -> PreparedEvent:
    return PreparedEvent(StoredEvent(ts, 0, sender, f"m{ts}", (
        StoredEnvelope(frozenset(readers), Envelope((), b"x")),) if readers else ()))


async def test_a_stream_wakes_for_its_own_events_only_and_at_once_if_it_is_behind() -> None:
    feed = EventFeed(store=None)  # type: ignore[arg-type]  # no read happens here
    waiting = asyncio.get_running_loop().create_task(feed.wait_for_member(5, 0, 5.0))
    await asyncio.sleep(0.01)
    feed._wake_members([_event(10, 1, 2, 3)])  # for others: 5 sleeps on
    await asyncio.sleep(0.02)
    assert not waiting.done()
    feed._wake_members([_event(12, 1, 2), _event(14, 2, 5)])  # one of them for 5
    await asyncio.wait_for(waiting, 1.0)
    assert feed._waiting == {}

    receipt = asyncio.get_running_loop().create_task(feed.wait_for_member(7, 0, 5.0))
    await asyncio.sleep(0.01)
    feed._wake_members([PreparedEvent(StoredEvent(16, 0, 7, "e", (), DeliverError(
        "e", "E", "too late")))])  # a deliver-error reaches its sender
    await asyncio.wait_for(receipt, 1.0)

    feed.cursor_us = 20  # the feed read past where the stream stands: no wait at all
    await asyncio.wait_for(feed.wait_for_member(5, 19, 5.0), 0.1)


async def test_a_stream_that_times_out_leaves_nothing_behind() -> None:
    feed = EventFeed(store=None)  # type: ignore[arg-type]
    await feed.wait_for_member(5, 0, 0.01)
    await asyncio.gather(feed.wait_for_member(6, 0, 0.01), feed.wait_for_member(6, 0, 0.02))
    assert feed._waiting == {}
