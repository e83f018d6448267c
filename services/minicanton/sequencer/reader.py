"""Serving members their streams: one shared feed per instance, one cheap loop per subscriber.

Theory of operation. The `EventFeed` is the instance's only reader of new events: woken by
LISTEN/NOTIFY (with a slow poll as a safety net), it reads every event in (cursor, safe
watermark] once and keeps the recent ones in memory (bounded by count and payload bytes), so
N subscribers cost one query, not N. A read wakes only the streams of members it holds an event
for (idle streams wake once a second to check their liveness).
A subscription (`member_stream`) starts at the member's counter checkpoint below the requested
counter and counts forward: from the database while it is behind what the feed holds, then from
the feed. Each event is projected onto the member (its envelopes only, spliced as the bytes
they were stored as), given the next counter and the previous timestamp (what members' copies
share is computed once per instance: delivery.py); the stream yields them in runs (what one
read made ready, at most `MAX_RUN_EVENTS` / `MAX_RUN_BYTES`), each run signed once by this
sequencer over the root of its events' hashes, every event with its inclusion proof
(core/sequencing/run_signature.py), and serialized; SubscribeBatched sends a run as one message
and Subscribe event by event. Events below the requested counter are counted but not sent.
Every `CHECKPOINT_EVERY` counters a checkpoint is stored so a later subscription need not count
from the start.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections.abc import AsyncIterator, Callable

from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.ids import MemberId
from minicanton.core.sequencing.errors import CounterPruned
from minicanton.core.sequencing.members import MemberRecord
from minicanton.core.sequencing.ordering import safe_watermark
from minicanton.runtime.waits import wait_at_most
from minicanton.sequencer.delivery import PreparedEvent, signed_run
from minicanton.store.sequencer import CounterCheckpoint, SequencerStore

log = logging.getLogger(__name__)

CHECKPOINT_EVERY = 1_000
PAGE_SIZE = 500
MAX_RUN_EVENTS = 64
MAX_RUN_BYTES = 1 << 20
WARM_EVENTS = 1_000  # the newest events keep what their deliveries share (delivery.py)


class EventFeed:
    def __init__(self, store: SequencerStore, capacity: int = 20_000,
                 poll_interval_s: float = 0.25, max_bytes: int = 64 << 20) -> None:
        self._store = store
        self._capacity = capacity
        self._max_bytes = max_bytes
        self._sizes: list[int] = []
        self.cached_bytes = 0
        self._poll_interval_s = poll_interval_s
        self._events: list[PreparedEvent] = []
        self._stamps: list[int] = []
        self._cold = 0  # events before this index were cooled
        self._warm_bytes = 0
        self.cursor_us = 0
        self.start_us = 0
        self._wake = asyncio.Event()
        self._waiting: dict[int, list[asyncio.Future[None]]] = {}  # member number: streams

    async def start(self) -> None:
        """Start at the current safe watermark; older events are read from the database."""
        self.cursor_us = self.start_us = safe_watermark(await self._store.watermarks()) or 0

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            await wait_at_most(self._wake, self._poll_interval_s)
            self._wake.clear()
            try:
                await self._read_new()
            except Exception as error:  # database trouble: the next wake or poll retries
                log.warning("event feed read failed: %s", error)
                await asyncio.sleep(0.1)

    async def _read_new(self) -> None:
        while True:
            page = await self._store.read_events(self.cursor_us, PAGE_SIZE)
            if page.up_to_us <= self.cursor_us:
                return
            prepared = [PreparedEvent(event) for event in page.events]
            self._events += prepared
            self._stamps += [e.timestamp_us for e in page.events]
            sizes = [p.size_bytes for p in prepared]
            self._sizes += sizes
            self.cached_bytes += sum(sizes)
            self._warm_bytes += sum(sizes)
            self.cursor_us = page.up_to_us
            self._trim()
            self._cool()
            self._wake_members(prepared)
            if len(page.events) < PAGE_SIZE:
                return

    def _trim(self) -> None:
        """Keep at most `capacity` events and `max_bytes` of payload (the newest event even
        alone over it); subscribers further behind read from the database."""
        excess = max(0, len(self._events) - self._capacity)
        over_bytes = self.cached_bytes - sum(self._sizes[:excess])
        while over_bytes > self._max_bytes and excess < len(self._events) - 1:
            over_bytes -= self._sizes[excess]
            excess += 1
        if excess > 0:
            self._warm_bytes -= sum(self._sizes[self._cold:excess])
            self.start_us = self._stamps[excess - 1]
            self.cached_bytes = over_bytes
            del self._events[:excess]
            del self._stamps[:excess]
            del self._sizes[:excess]
            self._cold = max(0, self._cold - excess)

    def _cool(self) -> None:
        """Keep at most `WARM_EVENTS` events, and a quarter of `max_bytes` of payload,
        caching: what they cache is about their payload again per selection of envelopes."""
        while self._cold < len(self._events) - 1 and (
                len(self._events) - self._cold > WARM_EVENTS
                or self._warm_bytes > self._max_bytes // 4):
            self._events[self._cold].cool()
            self._warm_bytes -= self._sizes[self._cold]
            self._cold += 1

    def warm_events(self) -> int:
        return len(self._events) - self._cold

    def events_after(self, after_us: int) -> list[PreparedEvent]:
        """Events in (after_us, cursor]; `after_us` must be at least `start_us`."""
        return self._events[bisect.bisect_right(self._stamps, after_us):]

    async def wait_for_member(self, number: int, position_us: int, timeout_s: float) -> None:
        """Until the feed read past `position_us` an event member `number` reads (at once if
        it read anything past it meanwhile), or `timeout_s`: a stream is not woken for reads
        that hold nothing for it (the other instance's members', the other participants')."""
        if self.cursor_us > position_us:
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        waiting = self._waiting.setdefault(number, [])
        waiting.append(future)
        timer = loop.call_later(timeout_s, _release, future)  # cheaper than asyncio.timeout
        try:
            await future
        finally:  # woken, timed out or cancelled (which cancels the future too)
            timer.cancel()
            if future in waiting:
                waiting.remove(future)
                if not waiting and self._waiting.get(number) is waiting:
                    del self._waiting[number]

    def _wake_members(self, events: list[PreparedEvent]) -> None:
        if not self._waiting:
            return
        for number in {n for event in events for n in event.recipients} & self._waiting.keys():
            for future in self._waiting.pop(number):
                if not future.done():
                    future.set_result(None)


def _release(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class StreamContext:
    """What a subscription needs besides the feed: identity, keys, and a liveness check that
    raises (token expired, member disabled, shutting down) to end the stream."""

    def __init__(self, store: SequencerStore, feed: EventFeed, domain_id: str,
                 signing_key: SigningKeyPair, sender_of: Callable[[int], MemberId],
                 check: Callable[[], None]) -> None:
        self.store, self.feed, self.domain_id = store, feed, domain_id
        self.signing_key, self.sender_of, self.check = signing_key, sender_of, check


async def member_stream(
    ctx: StreamContext, member: MemberRecord, from_counter: int
) -> AsyncIterator[list[bytes]]:
    """The member's signed events from `from_counter` on, serialized, in runs, forever."""
    number = member.number
    if from_counter <= await ctx.store.pruned_counter(number):
        raise CounterPruned(f"events of {member.member} up to counter {from_counter} "
                            "were pruned")
    checkpoint = await ctx.store.checkpoint_before(number, from_counter)
    counter, previous_us = checkpoint.counter, checkpoint.timestamp_us or None
    position_us = checkpoint.timestamp_us
    while True:
        ctx.check()
        events, next_us = await _next_events(ctx, number, position_us)
        run: list[bytes] = []
        run_bytes = 0
        for prepared in events:
            if number not in prepared.recipients:
                continue
            stored = prepared.stored
            counter += 1
            if counter >= from_counter:
                run.append(prepared.event_for(ctx.domain_id, member.member, number,
                                              ctx.sender_of(stored.sender_number), counter,
                                              previous_us))
                run_bytes += prepared.size_bytes + 256  # at most: ids, signature, proof
            previous_us = stored.timestamp_us
            if counter % CHECKPOINT_EVERY == 0:
                _save_checkpoint(ctx, number, CounterCheckpoint(counter, previous_us))
            if len(run) >= MAX_RUN_EVENTS or run_bytes >= MAX_RUN_BYTES:
                yield signed_run(run, ctx.signing_key)
                run, run_bytes = [], 0
        if run:
            yield signed_run(run, ctx.signing_key)
        if next_us == position_us:
            await ctx.feed.wait_for_member(number, position_us, timeout_s=1.0)
        position_us = next_us


async def _next_events(
    ctx: StreamContext, number: int, position_us: int
) -> tuple[list[PreparedEvent], int]:
    feed = ctx.feed
    if position_us < feed.start_us:
        page = await ctx.store.read_member_events(number, position_us, PAGE_SIZE)
        return [PreparedEvent(event, warm=False) for event in page.events], page.up_to_us
    if position_us >= feed.cursor_us:
        return [], position_us
    return feed.events_after(position_us), feed.cursor_us


def _save_checkpoint(ctx: StreamContext, number: int, checkpoint: CounterCheckpoint) -> None:
    task = asyncio.get_running_loop().create_task(ctx.store.save_checkpoint(number, checkpoint))
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
