"""Wiring of one mediator instance: store, lease, topology, sequencer client, timer,
auditor API and health.

Theory of operation
-------------------
Start: migrations; the auditor gRPC server and health (answering while passive too); then
the lease. An instance that does not get it is *passive*: it only retries the lease (health
says "passive"). The active one renews the lease from the moment it has it (activation may
outlast the TTL), restores the member topology from its store, rebuilds the mediator
machine by replaying the stored events from the oldest request that still matters (one still
undecided, `replay_start_ts`, or one whose root hash must still be remembered against
replays, `replay_protection.replay_start_us`), subscribes from the stored clean position,
resends the verdicts whose receipt it has not seen (same message ids: the sequencer
deduplicates), and becomes ready.

Fencing: the database refuses every write of an instance whose lease lapsed (its epoch is
checked in the statement that writes), and the instance itself sends only while the lease
is surely still its own: within the TTL after it last asked for it, else once the next
renewal has confirmed it (`_hold_lease`). An instance paused past its TTL (SIGSTOP, a
stalled VM) therefore sends nothing when it wakes up; its renewal fails and it stops.

The sequencer client hands over the verified events queued since its last call, in order,
up to `max_batch_events` at a time (`_record_and_send`, its batch handler, so an event
crosses no second queue); each runs through the `EventProcessor`; all the records are
written in one fenced statement (events, audit index, requests, responses, verdicts,
topology, clean position); the client acknowledges them once the handler returned; and
only then are the verdicts sent (persist before send), each in a task of
its own so the next batch does not wait for a sequencer round trip (a verdict not sent
before a crash is resent from the store at the next activation). The timer sleeps
until the machine's next deadline on our clock, then asks for a time proof, so an idle domain
still shows the deadline passing in sequencer time. A lost lease, a failed write or a failed
sequencer client stops the instance (exit code 3, 1, 1): its memory may no longer match the
database, and a restart (or the other instance) resumes from the stored position.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any

import grpc
from grpc_health.v1 import health_pb2_grpc

from minicanton.codec.mediator import encode_signed_event
from minicanton.codec.sequencer import parse_signed_event
from minicanton.core.errors import MinicantonError
from minicanton.core.protocol.mediator import Mediator, SendVerdict, verdict_batch
from minicanton.core.protocol.replay_protection import parameters_ever, replay_start_us
from minicanton.core.sequencing.batch import Batch
from minicanton.core.sequencing.chain import VerifiedEvent
from minicanton.core.sequencing.send_tracking import SendOutcome
from minicanton.mediator.auditor import SERVICE, MediatorAuditorService, add_auditor_service
from minicanton.mediator.config import MediatorConfig
from minicanton.mediator.domain import fetch_topology_before, resolve_domain
from minicanton.mediator.processing import EventProcessor
from minicanton.mediator.verdict_log import VerdictLog
from minicanton.runtime.clock import Clock, wall_clock_us
from minicanton.runtime.health import HealthState, serve_http_health
from minicanton.runtime.process import write_ready_file
from minicanton.runtime.sequencer_client import (
    SendRejected,
    SequencerClient,
    SequencerClientConfig,
)
from minicanton.runtime.sequencer_trust import trusted_sequencer_keys
from minicanton.runtime.topology_client import TopologyClient
from minicanton.runtime.transport import warn_if_exposed
from minicanton.store.mediator_store import Lease, LeaseLost
from minicanton.store.postgres.mediator_store import PostgresMediatorStore
from minicanton.store.topology_store import TopologyRow

log = logging.getLogger(__name__)
EXIT_LEASE_LOST = 3
_MAX_SENDS_IN_FLIGHT = 256


class MediatorNode:
    def __init__(self, config: MediatorConfig, clock: Clock = wall_clock_us) -> None:
        self.config = config
        self.clock = clock
        self.mediator_id = config.mediator_id
        self.health = HealthState((SERVICE,))
        self.stopped = asyncio.Event()
        self.exit_code = 0
        self.port = 0
        self.health_port: int | None = None
        self.lease: Lease | None = None
        self.client: SequencerClient | None = None
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._http: asyncio.Server | None = None
        self._deadline_changed = asyncio.Event()
        self._timer_target_us: int | None = None  # the deadline the timer sleeps until
        self._bootstrap_pending = False
        self._sends: set[asyncio.Task[None]] = set()
        self._lease_held_until_s = 0.0  # loop time: the lease is surely ours until then
        self._lease_renewed = asyncio.Event()
        self._send_slots = asyncio.Semaphore(_MAX_SENDS_IN_FLIGHT)
        self._verdict_log = VerdictLog(log)

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        config = self.config
        self.store = await PostgresMediatorStore.connect(config.database_dsn, config.pool_size)
        await self._serve()
        await self.health.set_ready(False, "passive: waiting for the mediator lease")
        self._spawn(self._become_active())
        log.info("mediator %s (instance %s) serving the auditor API on %s:%d",
                 self.mediator_id, config.holder, config.host, self.port)

    async def _become_active(self) -> None:
        interval_s = self.config.lease_renew_interval_ms / 1_000
        while True:
            asked_s = asyncio.get_running_loop().time()
            lease = await self.store.acquire_lease(self.config.holder, self.config.lease_ttl_ms)
            if lease is not None:
                break
            await asyncio.sleep(interval_s)
        self.lease = lease
        self._lease_held_until_s = asked_s + self.config.lease_ttl_ms / 1_000
        # renewed from now on: activation (waiting for the topology manager, replay) may take
        # longer than the TTL, and a lapsed lease stops even a lone instance
        self._spawn(self._renew_lease())
        log.info("mediator instance %s is active (lease epoch %d)", lease.holder, lease.epoch)
        self.domain = await resolve_domain(self.config)
        self.processor = await self._rebuild()
        position = await self.store.clean_position()
        self._bootstrap_pending = position is None and len(self.processor.topology.state) == 0
        self.client = await self._connect()
        await self.client.start_batched(self._record_and_send, resume_from=position,
                                        max_batch=self.config.max_batch_events)
        self._spawn(self._timer(), self._watch_client())
        await self._resend_unsent()
        await self.health.set_ready(True)
        self._write_ready_file()

    async def _rebuild(self) -> EventProcessor:
        config = self.config
        topology = TopologyClient(self.mediator_id, self.domain.namespace,
                                  self.domain.genesis_parameters)
        topology.restore(await self.store.topology_transactions())
        processor = EventProcessor(Mediator(self.mediator_id, config.signing_key), topology)
        position = await self.store.clean_position()
        if position is None:
            return processor
        # from the oldest request still undecided, or earlier: a decided request's root hash
        # is remembered until no replay of it can pass the ledger time check
        start = replay_start_us(position.timestamp_us,
                                await self.store.replay_start_ts(position.timestamp_us),
                                parameters_ever(topology.state))
        replayed = 0
        for raw in await self.store.signed_events(start, position.timestamp_us):
            processor.replay(parse_signed_event(raw).event)
            replayed += 1
            if replayed % 256 == 0:
                await asyncio.sleep(0)  # a long replay must not starve the lease renewal
        processor.mediator.skip_to(position.timestamp_us)
        log.info("rebuilt from %d stored events; %d requests pending", replayed,
                 len(processor.mediator.pending_requests))
        return processor

    async def _connect(self) -> SequencerClient:
        config = self.config
        trusted = await trusted_sequencer_keys(
            config.sequencers, config.trusted_sequencer_keys_hex, self.domain.domain_id,
            timeout_s=60.0)
        return SequencerClient(
            domain_id=self.domain.domain_id, member=self.mediator_id,
            signing_key=config.signing_key, trusted_sequencer_keys=trusted,
            config=SequencerClientConfig(tuple(config.sequencers)),
            clock=self.clock)

    def _spawn(self, *coroutines: Coroutine[Any, Any, None]) -> None:
        for coroutine in coroutines:
            task = asyncio.get_running_loop().create_task(coroutine)
            task.add_done_callback(self._task_done)
            self._tasks.append(task)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self._stopping:
            return
        error = task.exception()
        if error is not None:
            lost = isinstance(error, LeaseLost)
            log.error("stopping: %s", error if lost else "a background task failed",
                      exc_info=None if lost else error)
            self.exit_code = EXIT_LEASE_LOST if lost else 1
            self.stopped.set()

    # --- recording and sending -------------------------------------------------------------

    async def _record_and_send(self, batch: list[VerifiedEvent]) -> None:
        """The client's batch handler: the verified events queued since the last call, in
        order. Runs each through the processor, writes all the records in one fenced
        statement, then hands the verdicts to their send tasks; the client acknowledges the
        events once this returns (they are recorded)."""
        assert self.lease is not None
        bootstrap = await self._bootstrap(batch[0].event.timestamp_us)
        # the bytes as delivered when the client kept them (the evidence, and no re-encoding)
        processed = [self.processor.process(v, v.raw or encode_signed_event(v.signed))
                     for v in batch]
        records = [p.record for p in processed]
        if bootstrap:
            records[0] = replace(records[0], topology=bootstrap + records[0].topology)
        await self.store.record_events(self.lease, records)
        self._bootstrap_pending = False
        for item in processed:
            for alarm in item.alarms:
                log.warning("ALARM %s at %d: %s", alarm.code, alarm.ts_us, alarm.message)
            for send in item.sends:
                await self._send_in_background(send)
        self._wake_timer()

    async def _bootstrap(self, first_event_us: int) -> tuple[TopologyRow, ...]:
        """Before our first event ever: the topology sequenced before it (late joiners)."""
        if not self._bootstrap_pending:
            return ()
        fetched = await fetch_topology_before(self.config, self.domain, first_event_us)
        rows = self.processor.topology.bootstrap(fetched, before_us=first_event_us).rows
        log.info("bootstrapped %d topology transactions sequenced before %d", len(rows),
                 first_event_us)
        return rows

    async def _send_in_background(self, send: SendVerdict) -> None:
        """Send a persisted verdict without holding up the next batch (a send waits for a
        sequencer round trip). At most `_MAX_SENDS_IN_FLIGHT` at once: beyond that the handler
        waits, so a slow sequencer slows the mediator instead of growing its memory."""
        await self._send_slots.acquire()
        task = asyncio.get_running_loop().create_task(self._send_verdict(send))
        self._sends.add(task)
        task.add_done_callback(self._send_done)

    async def _send_verdict(self, send: SendVerdict) -> None:
        await self._hold_lease()
        # logged as it is sent (while the lease is surely ours)
        self._verdict_log.handing_over(send, asyncio.get_running_loop().time())
        await self._send(send.message_id, send.batch(), send.max_sequencing_time_us)

    def _send_done(self, task: asyncio.Task[None]) -> None:
        self._sends.discard(task)
        self._send_slots.release()
        self._task_done(task)

    async def _send(self, message_id: str, batch: Batch, max_sequencing_time_us: int) -> None:
        """One envelope per recipient with its own copy: no informee participant learns
        another (`SendVerdict.batch`)."""
        assert self.client is not None and self.lease is not None
        await self._hold_lease()
        try:
            handle = await self.client.send_async(
                batch, message_id=message_id, max_sequencing_time_us=max_sequencing_time_us)
        except SendRejected as error:
            log.error("verdict %s refused by the sequencer: %s", message_id, error.message)
            await self.store.mark_send_error(self.lease, message_id, error.message)
            return
        handle.outcome.add_done_callback(_consume_outcome)

    async def _resend_unsent(self) -> None:
        now_us = self.clock()
        for verdict in await self.store.unsent_verdicts():
            if verdict.max_sequencing_time_us > now_us:
                batch = verdict_batch(zip(verdict.recipients, verdict.deliveries, strict=True))
                await self._send(verdict.message_id, batch, verdict.max_sequencing_time_us)

    # --- time ------------------------------------------------------------------------------

    def _wake_timer(self) -> None:
        """Wake the timer only for a deadline earlier than the one it sleeps until. Most
        batches only decide requests or add later deadlines: the timer finds those when it
        wakes anyway, and waking it every batch cost a task and a timer handle each time."""
        deadline_us = self.processor.mediator.next_deadline_us()
        target_us = self._timer_target_us
        if deadline_us is not None and (target_us is None or deadline_us < target_us):
            self._deadline_changed.set()

    async def _timer(self) -> None:
        retry_s = self.config.time_proof_retry_ms / 1_000
        while True:
            self._deadline_changed.clear()
            deadline_us = self._timer_target_us = self.processor.mediator.next_deadline_us()
            wait_s = None if deadline_us is None else (deadline_us - self.clock()) / 1e6
            if wait_s is None or wait_s > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._deadline_changed.wait(), wait_s)
                continue
            if self.processor.mediator.handle_timer(self.clock()):
                await self._time_proof()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._deadline_changed.wait(), retry_s)

    async def _time_proof(self) -> None:
        assert self.client is not None
        try:
            await asyncio.wait_for(self.client.request_time_proof(), 10)
        except (TimeoutError, MinicantonError) as error:
            log.warning("time proof failed: %s", error)

    # --- lease and failures ----------------------------------------------------------------

    async def _renew_lease(self) -> None:
        assert self.lease is not None
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.config.lease_renew_interval_ms / 1_000)
            asked_s = loop.time()
            if not await self.store.renew_lease(self.lease, self.config.lease_ttl_ms):
                raise LeaseLost(f"instance {self.lease.holder} lost the mediator lease")
            # the database counts the TTL from when it renewed, later than we asked
            self._lease_held_until_s = asked_s + self.config.lease_ttl_ms / 1_000
            self._lease_renewed.set()

    async def _hold_lease(self) -> None:
        """Return once the lease is surely still ours: the database fences a deposed
        instance's writes, but only the instance itself can hold back its sends. An instance
        paused past its TTL (SIGSTOP, swapping, a stalled VM) may have been replaced while
        it slept; it waits for its next renewal, which either confirms the lease or fails
        and stops the instance (LeaseLost) before it sends anything."""
        loop = asyncio.get_running_loop()
        while loop.time() >= self._lease_held_until_s:
            self._lease_renewed.clear()
            await self._lease_renewed.wait()

    async def _watch_client(self) -> None:
        assert self.client is not None
        failure = await self.client.wait_failed()
        if isinstance(failure, LeaseLost):  # our batch handler found the lease gone
            raise failure
        raise MinicantonError(f"the sequencer client stopped: {failure}")

    # --- serving ---------------------------------------------------------------------------

    async def _serve(self) -> None:
        config = self.config
        self.server = grpc.aio.server()
        add_auditor_service(self.server, MediatorAuditorService(self.store, config.admin_token))
        health_pb2_grpc.add_HealthServicer_to_server(self.health.servicer, self.server)
        warn_if_exposed(config.host, "the mediator auditor API")
        self.port = self.server.add_insecure_port(f"{config.host}:{config.port}")
        await self.server.start()
        if config.health_port is not None:
            self._http = await serve_http_health(self.health, config.host, config.health_port)
            self.health_port = self._http.sockets[0].getsockname()[1]

    def _write_ready_file(self) -> None:
        write_ready_file(self.config.ready_file, {
            "port": self.port, "health_port": self.health_port, "pid": os.getpid(),
            "member": self.mediator_id,
        })

    async def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        log.info("mediator instance %s stopping", self.config.holder)
        await self.health.shutting_down()
        tasks = [*self._tasks, *self._sends]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.client is not None:
            await self.client.close()
        if hasattr(self, "server"):
            await self.server.stop(grace=1.0)
        if self._http is not None:
            self._http.close()
        if hasattr(self, "store"):
            if self.lease is not None:
                with contextlib.suppress(Exception):
                    await self.store.release_lease(self.lease)
            await self.store.close()
        self.stopped.set()


def _consume_outcome(outcome: asyncio.Future[SendOutcome]) -> None:
    """The outcome arrives on our own stream (the receipt is stored there); only note errors."""
    if not outcome.cancelled() and outcome.exception() is not None:
        log.debug("verdict send outcome: %s", outcome.exception())
