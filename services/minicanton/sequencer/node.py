"""Wiring of one sequencer instance: store, node index, writer, feed, gRPC, health.

Start order: migrations and settings; claim a node index (advisory lock on a dedicated
connection); members; go online (recovery + rejoin); the feed; LISTEN; the gRPC server (API,
admin, health) and HTTP health; then ready. Stop (SIGTERM) runs it backwards: not ready, the
writer drains what is queued and marks us offline, streams end, connections close. Losing the
node-index lock connection stops the process: another instance may now own our index.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import grpc
from grpc_health.v1 import health_pb2_grpc

from minicanton.runtime.clock import Clock, wall_clock_us
from minicanton.runtime.health import HealthState, serve_http_health
from minicanton.runtime.process import write_ready_file
from minicanton.runtime.transport import warn_if_exposed
from minicanton.sequencer.admin import SequencerAdminService, prune_now
from minicanton.sequencer.auth import Authenticator
from minicanton.sequencer.config import SequencerConfig
from minicanton.sequencer.limits import DomainLimits
from minicanton.sequencer.members import MemberCache
from minicanton.sequencer.reader import EventFeed, StreamContext
from minicanton.sequencer.service import SERVICE, SequencerDeps, SequencerService
from minicanton.sequencer.writer import Writer, WriterSettings
from minicanton.store.postgres.sequencer import SETTINGS_NOTICE, PostgresSequencerStore

log = logging.getLogger(__name__)
GRPC_OPTIONS_MARGIN_BYTES = 64 * 1024
_OWN_WRITE_NOTICES = frozenset("ERK")  # what sequencer_write_raising notifies (0002)


class SequencerNode:
    def __init__(self, config: SequencerConfig, clock: Clock = wall_clock_us) -> None:
        self.config = config
        self.clock = clock
        self.health = HealthState((SERVICE,))
        self.stopped = asyncio.Event()
        self.exit_code = 0
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._health_updates: set[asyncio.Task[None]] = set()  # cancelled by stop
        self._http: asyncio.Server | None = None
        self._writer_task: asyncio.Task[None] | None = None
        self.port = 0
        self.health_port: int | None = None

    async def start(self) -> None:
        config = self.config
        self.store = await PostgresSequencerStore.connect(config.database_dsn, config.pool_size)
        await self.store.initialize(config.domain_id, config.total_nodes)
        self.node_index = await self.store.claim_node_index(config.total_nodes)
        self.store.on_lock_lost = self._lock_lost
        self.members = MemberCache(self.store)
        await self.members.reload()
        self.limits = DomainLimits(self.store, config.domain_id, config.max_request_size_bytes,
                                   config.max_sequencing_time_horizon_ms * 1_000)
        await self.limits.reload()
        self.writer = Writer(self.store, self.node_index, config.total_nodes, self.clock,
                             WriterSettings(
                                 keepalive_interval_ms=config.keepalive_interval_ms,
                                 offline_timeout_ms=config.offline_timeout_ms,
                                 max_batch=config.max_write_batch,
                                 max_queued=config.max_queued_sends,
                                 max_queued_bytes=config.max_queued_send_bytes,
                                 heartbeat_interval_ms=config.heartbeat_interval_ms),
                             self._online_changed)
        await self.writer.go_online()
        self.feed = EventFeed(self.store, max_bytes=config.feed_cache_bytes)
        await self.feed.start()
        self.writer.on_written = self.feed.wake  # no NOTIFY round trip for our own writes
        await self.store.listen(self._on_events, self._on_members)
        self._spawn(self.writer.run(), self.feed.run(), self._watch_lock(), self._prune_loop())
        self._writer_task = self._tasks[0]
        await self._serve()
        await self.health.set_ready(self.writer.online, "offline")
        self._write_ready_file()
        log.info("sequencer %s node %d of %d serving on %s:%d", config.node_name,
                 self.node_index, config.total_nodes, config.host, self.port)

    def _spawn(self, *coroutines: Coroutine[Any, Any, None]) -> None:
        for coroutine in coroutines:
            task = asyncio.get_running_loop().create_task(coroutine)
            task.add_done_callback(self._task_done)
            self._tasks.append(task)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None and not self._stopping:
            log.error("background task failed", exc_info=task.exception())
            self.exit_code = 1
            self.stopped.set()

    async def _serve(self) -> None:
        config = self.config
        limit = config.max_request_size_bytes * 4 + GRPC_OPTIONS_MARGIN_BYTES
        self.server = grpc.aio.server(options=[("grpc.max_receive_message_length", limit),
                                               ("grpc.max_send_message_length", limit)])
        self.server.add_generic_rpc_handlers((
            SequencerService(self._deps()).handler(),
            SequencerAdminService(self.store, self.members, self.clock, self.node_index,
                                  config.admin_token, self.limits).handler(),
        ))
        health_pb2_grpc.add_HealthServicer_to_server(self.health.servicer, self.server)
        warn_if_exposed(config.host, "the sequencer API")
        self.port = self.server.add_insecure_port(f"{config.host}:{config.port}")
        await self.server.start()
        if config.health_port is not None:
            self._http = await serve_http_health(self.health, config.host, config.health_port)
            self.health_port = self._http.sockets[0].getsockname()[1]

    def _deps(self) -> SequencerDeps:
        config = self.config
        auth = Authenticator(self.store, self.members, config.domain_id, self.clock,
                             config.token_ttl_ms, config.challenge_ttl_ms)
        key = config.signing_key

        def stream_context(check: Callable[[], None]) -> StreamContext:
            return StreamContext(self.store, self.feed, config.domain_id, key,
                                 self.members.member_of, check)

        return SequencerDeps(self.store, self.writer, self.members, auth, self.limits, key,
                             config.sequencer_id, config.total_nodes, self.clock,
                             stream_context, lambda: self._stopping)

    def _on_members(self, payload: str) -> None:
        if payload == SETTINGS_NOTICE:
            self.limits.changed()
        else:
            self.members.changed(payload)

    def _on_events(self, payload: str) -> None:
        """`node:watermark:kind`; 'E' (events another instance wrote without raising us, as
        we were writing) asks us to move our watermark past them; 'R' (it raised every online
        instance) and 'K' (a keep-alive) only mean there may be more to read. Our own writes'
        notices wake nothing: the writer woke the feed itself once the write had committed
        (`on_written`), so the read they would cause finds nothing that one did not."""
        wake, bump_to_us = notice_effect(payload, self.node_index)
        if wake:
            self.feed.wake()
        if bump_to_us is not None:
            self.writer.request_bump(bump_to_us)

    def _online_changed(self, online: bool) -> None:
        if not self._stopping:
            task = asyncio.get_running_loop().create_task(self.health.set_ready(online,
                                                                                "offline"))
            self._health_updates.add(task)
            task.add_done_callback(self._health_update_done)

    def _health_update_done(self, task: asyncio.Task[None]) -> None:
        self._health_updates.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("health update failed", exc_info=task.exception())

    def _lock_lost(self) -> None:
        if not self._stopping:
            log.critical("lost the node-index lock connection; stopping")
            self.exit_code = 3
            self.stopped.set()

    async def _watch_lock(self) -> None:
        """Stop if the node-index lock is gone; re-LISTEN if the listener connection dropped
        (meanwhile the feed polls and heartbeats move watermarks, so nothing stalls)."""
        while True:
            await asyncio.sleep(1.0)
            try:
                await self.store.check_lock()
            except Exception:
                self._lock_lost()
                return
            if not self.store.listening():
                try:
                    await self.store.listen(self._on_events, self._on_members)
                    log.info("LISTEN connection re-established")
                except Exception as error:
                    log.warning("cannot re-establish LISTEN: %s", error)

    async def _prune_loop(self) -> None:
        retention_ms = self.config.retention_ms
        if retention_ms is None:
            return
        while True:
            await asyncio.sleep(self.config.pruning_interval_ms / 1_000)
            try:
                result = await prune_now(self.store, self.members, self.clock, retention_ms)
                if result.events_removed:
                    log.info("pruned %d events up to %d", result.events_removed,
                             result.pruned_up_to_us)
            except Exception as error:
                log.warning("pruning failed: %s", error)

    def _write_ready_file(self) -> None:
        write_ready_file(self.config.ready_file, {
            "port": self.port, "health_port": self.health_port,
            "node_index": self.node_index, "pid": os.getpid()})

    async def stop(self) -> None:
        """Graceful, and bounded: every step has a deadline so SIGTERM always ends us."""
        if self._stopping:
            return
        self._stopping = True
        log.info("sequencer node %d stopping", getattr(self, "node_index", -1))
        await self.health.shutting_down()
        if self._writer_task is not None:
            await self.writer.stop()
            await _bounded(asyncio.shield(self._writer_task), 5.0)
            log.info("writer drained")
            await _bounded(self.writer.go_offline(), 3.0)
            log.info("offline")
        if hasattr(self, "server"):
            await self.server.stop(grace=1.0)
            log.info("server stopped")
        for task in [*self._tasks, *self._health_updates]:
            task.cancel()
        if hasattr(self, "members"):
            await self.members.close()
        if hasattr(self, "limits"):
            await self.limits.close()
        await _bounded(asyncio.gather(*self._tasks, return_exceptions=True), 2.0)
        stuck = [t.get_coro() for t in self._tasks if not t.done()]
        if stuck:
            log.warning("tasks still running at shutdown: %s", stuck)
        if self._http is not None:
            self._http.close()
        if hasattr(self, "store"):
            await self.store.close()
        log.info("sequencer node %d stopped", getattr(self, "node_index", -1))
        self.stopped.set()


def notice_effect(payload: str, own_index: int) -> tuple[bool, int | None]:
    """What a notice on the events channel asks of this instance: wake the feed or not, and
    the watermark to move ours past (another instance's 'E'), if any."""
    node, _, rest = payload.partition(":")
    watermark, _, kind = rest.partition(":")
    if node == str(own_index):
        return kind not in _OWN_WRITE_NOTICES, None
    return True, int(watermark) if kind == "E" else None


async def _bounded(awaitable: Awaitable[object], timeout_s: float) -> None:
    with contextlib.suppress(Exception, asyncio.TimeoutError):
        await asyncio.wait_for(awaitable, timeout_s)
