"""Wiring of one participant node: keys, store, domain, machine, pump, Ledger API, health.

Start order: the key file (created at the first start); the database (migrations) and its
configured additional admin user (created if absent); the domain from the topology manager
(trust anchor checked and remembered) and onboarding (wait until admitted); the sequencers'
keys; the topology and the packages restored from the database; the machine restored
(in-flight submissions, pending requests with their locks); the subscription from the stored
clean position; the responses and requests a crash may have kept from being sent, sent again
(deduplicated by message id); caught up with the domain (a time proof) so our own admission
and parties are effective; parties recorded and stored packages vetted; then the Ledger API
and health, and ready.

Stop (SIGTERM) runs it backwards: not ready, the Ledger API stops taking calls (in-flight ones
get a grace period), the subscription closes (the event being processed either commits or
not: its replay is harmless), connections close. A failed subscription (verification, fork,
database) stops the node with a non-zero exit code: restart recovers from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Coroutine
from typing import Any

from minicanton.core.ids import Fingerprint, MemberId
from minicanton.core.protocol.participant import ParticipantConfig as MachineConfig
from minicanton.core.protocol.participant import ParticipantMachine
from minicanton.core.protocol.participant_effects import EmitCompletion, SendBatch
from minicanton.core.protocol.replay_protection import parameters_ever, remembered_since_us
from minicanton.core.protocol.submission import ParticipantIdentity
from minicanton.core.sequencing.events import SequencerPosition
from minicanton.core.topology.snapshot import TopologySnapshot
from minicanton.core.topology.transactions import SignedTopologyTransaction
from minicanton.participant import domain
from minicanton.participant import keys as key_file
from minicanton.participant.admin import NodeAdmin, Registry, load_stored
from minicanton.participant.config import ParticipantConfig
from minicanton.participant.domain_time import DomainTime
from minicanton.participant.effects import completion_entry, member_topology_rows
from minicanton.participant.housekeeping import expire_deduplication_periodically
from minicanton.participant.keys import ParticipantKeys
from minicanton.participant.ledger_api.backend import (
    LedgerApiBackend,
    LedgerEndNotifier,
    PostgresCreateEvents,
)
from minicanton.participant.ledger_api.server import (
    SERVICE_NAMES,
    LedgerApiServer,
    start_ledger_api_server,
)
from minicanton.participant.pump import EventPump, PumpActions
from minicanton.participant.submitter import Submitter, tracked_submissions, unsequenced_sends
from minicanton.runtime.auth import LedgerApiAuthenticator
from minicanton.runtime.clock import Clock, wall_clock_us
from minicanton.runtime.entropy import SystemEntropy
from minicanton.runtime.health import HealthState, serve_http_health
from minicanton.runtime.process import write_ready_file
from minicanton.runtime.sequencer_client import SendRejected, SequencerClient, SequencerClientConfig
from minicanton.runtime.topology_admin_client import TopologyAdminClient
from minicanton.runtime.topology_client import TopologyClient
from minicanton.store.participant_store import CompletionRow
from minicanton.store.postgres.participant_admin_store import (
    PostgresParticipantAdminStore,
    UserAlreadyExists,
    UserRight,
    UserRow,
)
from minicanton.store.postgres.participant_store import PostgresParticipantStore

log = logging.getLogger(__name__)
TIMER_INTERVAL_S = 0.1


class ParticipantNode:
    def __init__(self, config: ParticipantConfig, clock: Clock = wall_clock_us) -> None:
        self.config = config
        self.clock = clock
        self.entropy = SystemEntropy()
        self.health = HealthState(SERVICE_NAMES)
        self.stopped = asyncio.Event()
        self.exit_code = 0
        self.ledger_api_port = 0
        self.health_port: int | None = None
        self.domain_time = DomainTime(clock)
        self.notifier = LedgerEndNotifier()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._sends: set[asyncio.Task[None]] = set()
        self._proof: asyncio.Task[None] | None = None
        self._http: asyncio.Server | None = None
        self._api: LedgerApiServer | None = None
        self.store: PostgresParticipantStore | None = None
        self.sequencer: SequencerClient | None = None
        self.topology_admin: TopologyAdminClient | None = None

    @property
    def timeout_s(self) -> float:
        return self.config.topology_wait_timeout_ms / 1_000

    async def start(self) -> None:
        config = self.config
        keys, created = key_file.load_or_create(config.key_file, config.name, self.entropy)
        if created:
            log.info("created keys for %s in %s", keys.participant_id, config.key_file)
        self.store = await PostgresParticipantStore.open(config.database_dsn,
                                                         max_size=config.pool_size)
        self.admin_store = PostgresParticipantAdminStore(self.store.pool)
        await self._ensure_admin_users()
        keys, effective_us = await self._join(keys)
        self.keys = keys
        await self._restore(keys)
        await self._subscribe(keys)
        await self.domain_time.wait_processed(max(effective_us, self.clock()), self.timeout_s)
        await self.admin.record_parties()
        await self.admin.revet_stored()
        await self._serve()
        await self.health.set_ready(True)
        self._write_ready_file()
        log.info("participant %s serving the Ledger API on %s:%d", keys.participant_id,
                 config.ledger_api.host, self.ledger_api_port)

    async def _ensure_admin_users(self) -> None:
        """The configured additional admin user (Canton's `additional-admin-user-id`) exists
        before the Ledger API serves; Daml's `participant_admin` comes from a migration, once
        per database. Created only when absent: an operator's later revocation or
        deactivation stays."""
        user_id = self.config.additional_admin_user_id
        if user_id is None:
            return
        with contextlib.suppress(UserAlreadyExists):
            await self.admin_store.create_user(UserRow(user_id, "", False, self.clock()),
                                               [UserRight("participant_admin")])
            log.info("created the additional participant admin user %r", user_id)

    # -- joining the domain ----------------------------------------------------------------

    async def _join(self, keys: ParticipantKeys) -> tuple[ParticipantKeys, int]:
        config = self.config
        self.topology_admin = TopologyAdminClient(
            config.topology_manager, member=MemberId(keys.participant_id),
            member_key=keys.signing,
            timeout_s=self.timeout_s, clock=self.clock)
        info = await domain.domain_info(self.topology_admin, config.onboarding_timeout_ms / 1e3)
        keys = domain.bind_domain(keys, info, config.domain_namespace, config.key_file)
        self.domain_info = info
        effective_us = await domain.onboard(self.topology_admin, keys,
                                            config.onboarding_timeout_ms / 1_000)
        return keys, effective_us

    # -- state from the database -----------------------------------------------------------

    async def _restore(self, keys: ParticipantKeys) -> None:
        assert self.store is not None and self.topology_admin is not None
        self.topology = TopologyClient(MemberId(keys.participant_id),
                                       Fingerprint(self.domain_info.domain_namespace),
                                       self.domain_info.genesis_parameters)
        self.topology.restore(member_topology_rows(await self.store.topology_transactions()))
        self.registry = Registry(load_stored(await self.admin_store.list_packages()))
        self.position = await self.store.clean_position()
        identity = ParticipantIdentity(keys.participant_id, self.domain_info.domain_id,
                                       keys.signing, keys.encryption)
        self.machine = ParticipantMachine(
            MachineConfig(identity, submission_ttl_us=self.config.max_sequencing_time_ms * 1_000),
            self.registry.current,
            last_event_ts_us=None if self.position is None else self.position.sequencer_ts_us)
        self.registry.listeners.append(self._registry_changed)
        in_flight = await self.store.in_flight_submissions()
        pending = [(p.locks, p.payload) for p in await self.store.pending_requests()]
        recent: list[tuple[str, int]] = []
        if self.position is not None:  # remember committed requests against late replays
            since_us = remembered_since_us(self.position.sequencer_ts_us,
                                           parameters_ever(self.topology.state))
            recent = await self.store.recent_transactions(since_us)
        restored = self.machine.restore(tracked_submissions(in_flight), pending,
                                        self.topology.snapshot, recent_transactions=recent)
        self._resend = [e for e in restored if isinstance(e, SendBatch)]
        self._resend += unsequenced_sends(in_flight, self.clock())
        if self.position is not None:
            self.domain_time.advance(self.position.sequencer_ts_us)
        self.notifier.advance(await self.store.ledger_end())
        self.admin = NodeAdmin(keys.participant_id, keys.namespace, self.topology_admin,
                               self.admin_store, self.domain_time, self.topology.head,
                               self.registry, self.clock, self.timeout_s)
        self.submitter = Submitter(self.machine, self.store, self._snapshot_now, self._send,
                                   self.entropy, self.clock,
                                   self.config.max_deduplication_duration_ms * 1_000)

    def _registry_changed(self) -> None:
        self.machine.registry = self.registry.current

    def _snapshot_now(self) -> TopologySnapshot:
        return self.topology.snapshot(max(self.clock(), self.domain_time.processed_us))

    # -- the sequencer subscription --------------------------------------------------------

    async def _subscribe(self, keys: ParticipantKeys) -> None:
        config = self.config
        assert self.store is not None
        trusted = await domain.sequencer_keys(
            config.sequencers, config.trusted_sequencer_keys_hex, self.domain_info.domain_id,
            keys, config.onboarding_timeout_ms / 1_000)
        self.sequencer = SequencerClient(
            domain_id=self.domain_info.domain_id, member=MemberId(keys.participant_id),
            signing_key=keys.signing, trusted_sequencer_keys=trusted,
            config=SequencerClientConfig(tuple(config.sequencers),
                                         max_sequencing_time_ms=config.max_sequencing_time_ms),
            clock=self.clock)
        self.domain_time.time_proof = self.sequencer.request_time_proof
        actions = PumpActions(self._send, self._time_proof, self.submitter.resolve,
                              self._parties_changed)
        self.pump = EventPump(self.machine, self.topology, self.store, self.notifier,
                              self.domain_time, self._fetch_topology, actions,
                              first_event=self.position is None)
        resume = None if self.position is None else SequencerPosition(
            self.position.sequencer_counter, self.position.sequencer_ts_us)
        await self.sequencer.start_batched(self.pump.handle_batch, resume_from=resume)
        self._spawn(self._watch_subscription(), self._timer(), expire_deduplication_periodically(
            self.store, self.clock, config.max_deduplication_duration_ms * 1_000))
        for send in self._resend:
            self._send(send)
        self._resend = []

    async def _fetch_topology(
            self, known_up_to_us: int) -> list[tuple[SignedTopologyTransaction, int]]:
        assert self.topology_admin is not None
        transactions, _ = await self.topology_admin.fetch_state(known_up_to_us)
        return transactions

    def _send(self, send: SendBatch) -> None:
        task = asyncio.get_running_loop().create_task(self._send_now(send))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _send_now(self, send: SendBatch) -> None:
        assert self.sequencer is not None
        try:
            handle = await self.sequencer.send_async(
                send.batch, message_id=send.message_id,
                max_sequencing_time_us=send.max_sequencing_time_us)
            # the outcome comes through the pump (receipt, deliver error, or timeout)
            handle.outcome.add_done_callback(lambda f: f.cancelled() or f.exception())
        except SendRejected as error:
            log.warning("sequencer refused %s: %s", send.message_id, error.message)
            await self._refused(send.message_id, error)
        except Exception as error:
            if not self._stopping:
                log.warning("send of %s failed: %s", send.message_id, error)

    async def _refused(self, message_id: str, error: SendRejected) -> None:
        """A refused request of ours will never be sequenced: its submission completes now
        with the sequencer's error, stored like any completion (shells review #6)."""
        assert self.store is not None
        effects = self.machine.send_refused(message_id, error.rejected_error_id, error.message)
        rejections = tuple(completion_entry(e.completion) for e in effects
                           if isinstance(e, EmitCompletion))
        if not rejections:
            return
        try:
            applied = await self.store.record_rejections(rejections)
        except Exception:  # the in-flight row stays: a restart resends, and is refused again
            log.exception("could not store the completion of refused %s", message_id)
            return
        self.notifier.advance(applied.ledger_end)
        self.submitter.resolve(
            (entry.change_key, CompletionRow(offset, entry, None), None)
            for entry, offset in zip(rejections, applied.rejection_offsets, strict=True)
            if entry.change_key is not None)

    def _time_proof(self) -> None:
        if self.sequencer is None or (self._proof is not None and not self._proof.done()):
            return

        async def prove() -> None:
            assert self.sequencer is not None
            with contextlib.suppress(Exception):
                await self.sequencer.request_time_proof()

        self._proof = asyncio.get_running_loop().create_task(prove())

    async def _timer(self) -> None:
        """Sequencer time moves only with events: ask for one when a deadline of ours has
        passed on the wall clock (a request's decision time, a max sequencing time)."""
        while True:
            await asyncio.sleep(TIMER_INTERVAL_S)
            if self.machine.handle_timer(self.clock()):
                self._time_proof()

    def _parties_changed(self, snapshot: TopologySnapshot) -> None:
        async def record() -> None:
            try:
                await self.admin.record_parties()
            except Exception as error:
                log.warning("could not record the domain's parties: %s", error)

        self._spawn(record())

    async def _watch_subscription(self) -> None:
        assert self.sequencer is not None
        failure = await self.sequencer.wait_failed()
        if not self._stopping:
            log.critical("sequencer subscription stopped: %s", failure)
            self.exit_code = 1
            self.stopped.set()

    def _spawn(self, *coroutines: Coroutine[Any, Any, None]) -> None:
        for coroutine in coroutines:
            task = asyncio.get_running_loop().create_task(coroutine)
            task.add_done_callback(self._task_done)
            self._tasks.append(task)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if task in self._tasks:
            self._tasks.remove(task)
        if not task.cancelled() and task.exception() is not None and not self._stopping:
            log.error("background task failed", exc_info=task.exception())
            self.exit_code = 1
            self.stopped.set()

    # -- serving ---------------------------------------------------------------------------

    async def _serve(self) -> None:
        config = self.config
        assert self.store is not None
        backend = LedgerApiBackend(
            participant_id=self.keys.participant_id, ledger_id=config.ledger_id,
            store=self.store, admin=self.admin_store,
            create_events=PostgresCreateEvents(self.store), party_allocator=self.admin,
            package_uploader=self.admin, notifier=self.notifier,
            registry=lambda: self.registry.current)
        authenticator = LedgerApiAuthenticator(config.auth.auth_config(self.keys.participant_id),
                                               user_rights=backend.user_rights)
        bind = f"{config.ledger_api.host}:{config.ledger_api.port}"
        self._api = await start_ledger_api_server(bind, backend, self.submitter, authenticator,
                                                  health=self.health)
        self.ledger_api_port = self._api.port
        if config.health_port is not None:
            self._http = await serve_http_health(self.health, config.ledger_api.host,
                                                 config.health_port)
            self.health_port = self._http.sockets[0].getsockname()[1]

    def _write_ready_file(self) -> None:
        write_ready_file(self.config.ready_file, {
            "participant_id": self.keys.participant_id, "ledger_api_port": self.ledger_api_port,
            "health_port": self.health_port, "pid": os.getpid(),
            "domain_id": self.domain_info.domain_id,
        })

    async def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        log.info("participant stopping")
        await self.health.shutting_down()
        if self._api is not None:
            await self._api.server.stop(1.0)
        if self.sequencer is not None:
            await self.sequencer.close()
        for task in [*self._tasks, *self._sends]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._sends, return_exceptions=True)
        if self._proof is not None:
            self._proof.cancel()
        if self._http is not None:
            self._http.close()
        if self.topology_admin is not None:
            await self.topology_admin.close()
        if self.store is not None:
            await self.store.close()
        self.stopped.set()
