"""The instance's single writer: batches admitted sends into one fenced write at a time.

Theory of operation. Admitted submissions queue here; the loop takes everything queued (up to
`max_batch`), stamps it with this instance's timestamps (`ts mod N == index`), and commits
events, dedup rows and the new watermark in one write, so batching comes for free while a
write is in flight. The same write raises the watermark of every other online instance that is
not writing at that moment, so readers need not wait for them. Our own watermark may therefore
have been raised past timestamps we stamped before our write got its row: the store shifts them
up within our residue class (or, when a max sequencing time is in the way, refuses, and we stamp
the batch again above the raised watermark). With nothing to write, the loop still moves the
watermark at once when another instance wrote events above our watermark without raising it
(we were writing ourselves), and writes a heartbeat when it wrote nothing for
`heartbeat_interval` (readers no longer need an idle instance's 50 ms keep-alive ticks, since
writes raise it; the heartbeat keeps it from being marked offline, and is the safety net for
a lost NOTIFY). Every `offline_check_interval` it marks instances whose heartbeat stopped as
offline.

A write refused because we were marked offline (`InstanceFenced`) fails its batch with
`SequencerUnavailable` (the clients retry elsewhere under the same message id; dedup makes that
safe) and runs recovery: delete our events past our watermark, rejoin above every watermark
with a fresh session. Stopping drains the queue, then marks us offline so readers need not wait
for the offline timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from minicanton.core.sequencing.errors import SequencerUnavailable
from minicanton.core.sequencing.ordering import TimestampAllocator
from minicanton.core.sequencing.submission import PlannedEvent, ValidatedSubmission, plan_events
from minicanton.runtime.clock import Clock
from minicanton.runtime.retry import Backoff
from minicanton.runtime.waits import wait_at_most
from minicanton.store.sequencer import InstanceFenced, SequencerStore, StampedBelowWatermark

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WriterSettings:
    keepalive_interval_ms: float = 50.0  # how often an idle writer looks at what is due
    offline_timeout_ms: float = 3_000.0
    max_batch: int = 500
    max_queued: int = 10_000  # sends waiting for a write; past it (or the bytes) refuse
    max_queued_bytes: int = 64 << 20
    heartbeat_interval_ms: float | None = None  # None: min(250, offline timeout / 8)

    @property
    def offline_check_interval_s(self) -> float:
        return max(self.offline_timeout_ms / 4, self.keepalive_interval_ms) / 1_000

    @property
    def heartbeat_interval_s(self) -> float:
        wanted = self.heartbeat_interval_ms
        if wanted is None:
            wanted = min(250.0, self.offline_timeout_ms / 8)
        return max(wanted, self.keepalive_interval_ms) / 1_000


@dataclass(slots=True)
class _Pending:
    submission: ValidatedSubmission
    future: asyncio.Future[int | None]  # the timestamp, None for a duplicate
    size_bytes: int = 0


class Writer:
    def __init__(self, store: SequencerStore, node_index: int, total_nodes: int, clock: Clock,
                 settings: WriterSettings,
                 on_online_change: Callable[[bool], None] = lambda _online: None) -> None:
        self._store = store
        self.node_index = node_index
        self._clock = clock
        self._settings = settings
        self._on_online_change = on_online_change
        self.allocator = TimestampAllocator(total_nodes, node_index)
        self.session = uuid.uuid4()
        self.online = False
        self.watermark_us = 0
        self._queue: list[_Pending] = []
        self._queued_bytes = 0
        self._wake = asyncio.Event()
        self._bump_to_us = 0
        self._stopping = False
        self._last_offline_check_s = 0.0
        self._last_write_s = 0.0
        self.on_written: Callable[[], None] = lambda: None  # wake local readers at once

    def submit(self, submission: ValidatedSubmission,
               size_bytes: int = 0) -> asyncio.Future[int | None]:
        if self._stopping or not self.online:
            raise SequencerUnavailable("this sequencer instance is not online; try another")
        if (len(self._queue) >= self._settings.max_queued
                or self._queued_bytes + size_bytes > self._settings.max_queued_bytes):
            raise SequencerUnavailable(
                f"this sequencer instance has {len(self._queue)} sends "
                f"({self._queued_bytes} bytes) waiting to be written; try another")
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(submission, future, size_bytes))
        self._queued_bytes += size_bytes
        self._wake.set()
        return future

    def request_bump(self, other_watermark_us: int) -> None:
        """Another instance wrote events up to there: move our watermark past it promptly."""
        if other_watermark_us > self.watermark_us:
            self._bump_to_us = max(self._bump_to_us, other_watermark_us)
            self._wake.set()

    async def go_online(self) -> None:
        attempt = 0
        while not self._stopping:
            try:
                self.session = uuid.uuid4()
                rejoin_us = await self._store.go_online(self.node_index, self.session,
                                                        self._clock())
                break
            except Exception as error:  # the database is unreachable or busy: retry
                log.warning("going online failed (%s); retrying", error)
            await Backoff().sleep(attempt)
            attempt += 1
        else:
            return
        self.allocator.advance_past(rejoin_us)
        self.watermark_us = rejoin_us
        self.online = True
        self._on_online_change(True)
        log.info("sequencer node %d online at %d", self.node_index, rejoin_us)

    async def run(self) -> None:
        keepalive_s = self._settings.keepalive_interval_ms / 1_000
        while not (self._stopping and not self._queue):
            await wait_at_most(self._wake, keepalive_s)
            self._wake.clear()
            if not self.online:
                if self._stopping:
                    self._fail(self._take_all(), "shutting down")
                    break
                await self.go_online()
                continue
            if self._write_due():
                await self._write_once()
            await self._maybe_mark_offline()

    def _write_due(self) -> bool:
        """Something queued, a bump asked for, or the heartbeat due."""
        return bool(self._queue) or self._bump_to_us > self.watermark_us or (
            time.monotonic() - self._last_write_s >= self._settings.heartbeat_interval_s)

    def _take_all(self) -> list[_Pending]:
        batch, self._queue = self._queue, []
        self._queued_bytes = 0
        return batch

    def _take_batch(self) -> list[_Pending]:
        limit = self._settings.max_batch
        batch, self._queue = self._queue[:limit], self._queue[limit:]
        self._queued_bytes -= sum(pending.size_bytes for pending in batch)
        if self._queue:
            self._wake.set()
        return batch

    async def _write_once(self) -> None:
        batch = self._take_batch()
        now_us = self._clock()
        planned = plan_events([p.submission for p in batch], self.allocator, now_us)
        watermark_us = self.allocator.last_us if batch else self.allocator.allocate(now_us)
        try:
            result = await self._store.write(self.node_index, self.session, watermark_us,
                                             now_us, planned)
        except StampedBelowWatermark as raised:
            self.allocator.advance_past(raised.watermark_us)
            self._queue[:0] = batch  # stamp the same batch again, first in line
            self._queued_bytes += sum(pending.size_bytes for pending in batch)
            self._wake.set()
            return
        except InstanceFenced:
            log.warning("sequencer node %d was marked offline; recovering", self.node_index)
            self._fail(batch, "this instance was fenced")
            self._set_offline()
            return
        except Exception as error:  # the database connection broke: the write may or may not
            log.warning("write failed: %s", error)  # have committed; dedup covers the retry
            self._fail(batch, "write failed")
            self.on_written()  # if it committed, its NOTIFY no longer wakes our feed: read
            await asyncio.sleep(0.05)
            return
        self._last_write_s = time.monotonic()
        self.allocator.advance_past(result.watermark_us)
        self.watermark_us = result.watermark_us
        if self._bump_to_us <= self.watermark_us:
            self._bump_to_us = 0
        _resolve(batch, planned, result.written, result.shift_us)
        self.on_written()

    async def _maybe_mark_offline(self) -> None:
        now_s = time.monotonic()
        if now_s - self._last_offline_check_s < self._settings.offline_check_interval_s:
            return
        self._last_offline_check_s = now_s
        try:
            marked = await self._store.mark_stale_offline(self.node_index,
                                                          self._settings.offline_timeout_ms)
        except Exception as error:  # transient database trouble: try on the next round
            log.warning("offline check failed: %s", error)
            return
        if marked:
            log.warning("marked silent sequencer nodes %s offline", marked)

    def _set_offline(self) -> None:
        self.online = False
        self._on_online_change(False)
        self._wake.set()

    def _fail(self, batch: list[_Pending], why: str) -> None:
        for pending in batch:
            if not pending.future.done():
                pending.future.set_exception(SequencerUnavailable(f"not sequenced here: {why}"))

    async def stop(self) -> None:
        """Drain what is queued (the run loop exits when empty), then go offline."""
        self._stopping = True
        self._wake.set()

    async def go_offline(self) -> None:
        if self.online:
            self.online = False
            self._on_online_change(False)
            with contextlib.suppress(Exception):
                await self._store.go_offline(self.node_index, self.session)


def _resolve(batch: list[_Pending], planned: list[PlannedEvent], written: set[int],
             shift_us: int) -> None:
    for pending, plan in zip(batch, planned, strict=True):
        if pending.future.done():
            continue
        if plan.event is not None and plan.event.timestamp_us + shift_us in written:
            pending.future.set_result(plan.event.timestamp_us + shift_us)
        else:
            pending.future.set_result(None)
