"""Wiring of the topology manager: store, identity, sequencer client, domain bootstrap, gRPC.

Start order: migrations; the sequencers' domain id and keys; the domain identity (created at
the first start: namespace key and the manager's member key, kept in the database); the
topology restored from the store (re-validated); the manager registered with the sequencers
and subscribed from its stored clean position; caught up to now (a time proof); the genesis
broadcast if the domain has none yet (root certificate, the manager's and the initial
members' keys, mediators, sequencers, parameters); the sequencers' member registry reconciled
(and what the sync outbox still holds scheduled); then the gRPC API and health, and ready.
Each sequenced event is processed in one database transaction with the clean position (and
the outbox rows for the sequencers), so a restart resumes exactly after the last one stored
and nothing is applied twice. Stop (SIGTERM) runs it backwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets

import asyncpg
import grpc
from grpc_health.v1 import health_pb2_grpc

from minicanton.codec import topology as codec
from minicanton.codec.gen.minicanton.topology.v1 import topology_admin_pb2 as pb
from minicanton.core.crypto.signing import SigningKeyPair, SigningPublicKey
from minicanton.core.ids import MemberId, MemberKind, member_id
from minicanton.core.sequencing.batch import Batch, Envelope, GroupRecipient, RecipientGroup
from minicanton.core.sequencing.chain import VerifiedEvent
from minicanton.core.sequencing.errors import SequencerClientError
from minicanton.core.sequencing.send_tracking import SendDelivered
from minicanton.core.topology.mappings import ParticipantState
from minicanton.core.topology.planning import DomainKeys, genesis
from minicanton.core.topology.state import TopologyState
from minicanton.core.topology.transactions import TopologyChangeOp
from minicanton.runtime.clock import Clock, wall_clock_us
from minicanton.runtime.health import HealthState, serve_http_health
from minicanton.runtime.process import write_ready_file
from minicanton.runtime.sequencer_client import SendRejected, SequencerClient, SequencerClientConfig
from minicanton.runtime.sequencer_trust import trusted_sequencer_keys
from minicanton.runtime.topology_client import TopologyClient
from minicanton.runtime.transport import warn_if_exposed
from minicanton.store.postgres.topology_store import (
    PostgresTopologyManagerStore,
    migrate_manager_store,
)
from minicanton.store.topology_store import ManagerIdentity
from minicanton.topology.auth import RequestAuthenticator
from minicanton.topology.config import TopologyManagerConfig
from minicanton.topology.errors import (
    ChangeNotSequenced,
    DatabaseUnavailable,
    NotReady,
    TopologyRequestError,
)
from minicanton.topology.manager import TopologyManager
from minicanton.topology.sequencer_admin import SequencerAdmin
from minicanton.topology.sequencer_sync import SequencerMemberSync, sequencer_syncs
from minicanton.topology.service import SERVICE, TopologyAdminService

log = logging.getLogger(__name__)


class TopologyManagerNode:
    def __init__(self, config: TopologyManagerConfig, clock: Clock = wall_clock_us) -> None:
        self.config = config
        self.clock = clock
        self.health = HealthState((SERVICE,))
        self.stopped = asyncio.Event()
        self.exit_code = 0
        self.port = 0
        self.health_port: int | None = None
        self._stopping = False
        self._processed_us = 0
        self._progress = asyncio.Event()
        self._http: asyncio.Server | None = None
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        config = self.config
        try:
            await migrate_manager_store(config.database_dsn)
            self.pool = await asyncpg.create_pool(config.database_dsn, min_size=1,
                                                  max_size=config.pool_size)
        except (OSError, asyncpg.PostgresError) as error:
            raise DatabaseUnavailable(f"cannot open the manager's database: {error}") from None
        self.store = PostgresTopologyManagerStore(self.pool)
        self.sequencers = SequencerAdmin(config.sequencer_endpoints, config.sequencer_admin_token)
        info = await self.sequencers.info()
        self.keys, self.domain_id = await self._identity(info.domain_id)
        self.topology = TopologyClient(self.keys.manager_id, self.keys.domain_namespace)
        self.topology.restore(await self.store.load())
        self.sync = SequencerMemberSync(self.sequencers, self.topology, self.store, self.clock)
        await self.sync.resume()
        await self._subscribe(await trusted_sequencer_keys(
            config.sequencer_endpoints, config.trusted_sequencer_keys_hex, self.domain_id,
            timeout_s=config.change_timeout_ms / 1_000))
        self.manager = TopologyManager(
            self.topology, self.keys, self.store, self.sequencers, self, self.clock,
            admission_open=config.admission == "open",
            change_timeout_s=config.change_timeout_ms / 1_000)
        await self.wait_processed(self.clock(), config.change_timeout_ms / 1_000)
        await self._bootstrap_domain()
        await self.sync.reconcile_all()
        await self._serve()
        await self.health.set_ready(True)
        self._write_ready_file()
        log.info("topology manager %s of domain %s (namespace %s) serving on %s:%d",
                 self.keys.manager_id, self.domain_id, self.keys.domain_namespace,
                 config.host, self.port)

    # --- identity and sequencer connection ---------------------------------------------

    async def _identity(self, domain_id: str) -> tuple[DomainKeys, str]:
        identity = await self.store.load_identity()
        if identity is None:
            namespace = SigningKeyPair.from_private(secrets.token_bytes(32))
            member = SigningKeyPair.from_private(secrets.token_bytes(32))
            manager_id = member_id(MemberKind.TOPOLOGY_MANAGER, self.config.node_name,
                                   namespace.fingerprint)
            identity = await self.store.create_identity(ManagerIdentity(
                domain_id, manager_id, namespace.private_raw, member.private_raw, self.clock()))
            log.info("created the domain identity: namespace %s", namespace.fingerprint)
        if identity.domain_id != domain_id:
            raise TopologyRequestError(
                f"this database belongs to domain {identity.domain_id!r}, the sequencers serve "
                f"{domain_id!r}")
        keys = DomainKeys(SigningKeyPair.from_private(identity.namespace_key),
                          SigningKeyPair.from_private(identity.member_key),
                          MemberId(identity.manager_id))
        return keys, identity.domain_id

    async def _subscribe(self, trusted: list[SigningPublicKey]) -> None:
        await self.sequencers.register(self.keys.manager_id, self.keys.manager.public)
        position = await self.store.load_position()
        self._processed_us = position.timestamp_us if position is not None else 0
        self.client = SequencerClient(
            domain_id=self.domain_id, member=self.keys.manager_id, signing_key=self.keys.manager,
            trusted_sequencer_keys=trusted,
            config=SequencerClientConfig(tuple(self.config.sequencer_endpoints)))
        await self.client.start(self._on_event, resume_from=position)
        self._watch = asyncio.get_running_loop().create_task(self._watch_client())

    async def _watch_client(self) -> None:
        failure = await self.client.wait_failed()
        if not self._stopping:
            log.critical("sequencer subscription stopped: %s", failure)
            self.exit_code = 3
            self.stopped.set()

    async def _on_event(self, verified: VerifiedEvent) -> None:
        result = self.topology.ingest_event(verified.event)
        admitted = [s.transaction.mapping.participant for s in result.accepted
                    if isinstance(s.transaction.mapping, ParticipantState)
                    and s.transaction.operation is TopologyChangeOp.REPLACE]
        await self.store.record_event(verified.position, result.rows, admitted, self.clock(),
                                      sequencer_syncs(result.accepted))
        self.sync.on_accepted(result.accepted)
        self._processed_us = verified.event.timestamp_us
        self._progress.set()

    # --- Broadcaster -------------------------------------------------------------------

    async def broadcast(self, payload: bytes, timeout_s: float) -> int:
        batch = Batch((Envelope((GroupRecipient(RecipientGroup.ALL_MEMBERS),), payload),))
        deadline_us = self.clock() + int(timeout_s * 1e6)
        try:
            outcome = await asyncio.wait_for(
                self.client.send(batch, max_sequencing_time_us=deadline_us), timeout_s + 5)
        except (SendRejected, SequencerClientError, TimeoutError) as error:
            raise ChangeNotSequenced(f"the topology broadcast was not sequenced: {error}") from None
        if not isinstance(outcome, SendDelivered):
            raise ChangeNotSequenced(f"the topology broadcast was not sequenced: {outcome}")
        return outcome.timestamp_us

    async def wait_processed(self, ts_us: int, timeout_s: float) -> int:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        proof: asyncio.Task[int] | None = None
        while self._processed_us < ts_us:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise NotReady(f"not caught up with the sequencer to {ts_us} in time")
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), min(remaining, 0.2))
            if self._processed_us < ts_us <= self.clock() and (proof is None or proof.done()):
                proof = loop.create_task(self.client.request_time_proof())
                proof.add_done_callback(lambda t: t.cancelled() or t.exception())
        return self._processed_us

    # --- domain bootstrap --------------------------------------------------------------

    async def _bootstrap_domain(self) -> None:
        if self.topology.state.head().namespace_delegations():
            return
        members = [codec.signed_transaction_from_bytes(bytes.fromhex(h), "initial member")
                   for h in self.config.initial_members]
        parameters = self.config.parameters.to_parameters()
        planned = genesis(self.keys, parameters, members, await self.sequencers.sequencer_ids())

        scratch = TopologyState(self.keys.domain_namespace)
        outcome = await self.manager.apply(lambda _: planned, self.manager.register_mediators,
                                           scratch)
        log.info("domain bootstrapped: %d transactions sequenced at %d, effective at %d",
                 len(outcome.transactions), outcome.sequenced_us, outcome.effective_us)

    # --- serving -----------------------------------------------------------------------

    def domain_info(self) -> pb.DomainInfo:
        return pb.DomainInfo(
            domain_id=self.domain_id, domain_namespace=self.keys.domain_namespace,
            namespace_public_key=self.keys.namespace.public.raw,
            topology_manager_id=self.keys.manager_id,
            genesis_parameters=codec.parameters_to_proto(self.topology.state.genesis_parameters),
            admission_policy=self.config.admission)

    async def _serve(self) -> None:
        config = self.config
        auth = RequestAuthenticator(config.admin_token, self.domain_id,
                                    lambda m: self.topology.head().signing_keys(m), self.clock)
        self.server = grpc.aio.server()
        service = TopologyAdminService(self.manager, auth, self.domain_info())
        self.server.add_generic_rpc_handlers((service.handler(),))
        health_pb2_grpc.add_HealthServicer_to_server(self.health.servicer, self.server)
        warn_if_exposed(config.host, "the topology admin API")
        self.port = self.server.add_insecure_port(f"{config.host}:{config.port}")
        await self.server.start()
        if config.health_port is not None:
            self._http = await serve_http_health(self.health, config.host, config.health_port)
            self.health_port = self._http.sockets[0].getsockname()[1]

    def _write_ready_file(self) -> None:
        write_ready_file(self.config.ready_file, {
            "port": self.port, "health_port": self.health_port, "pid": os.getpid(),
            "manager_id": self.keys.manager_id, "domain_id": self.domain_id,
            "domain_namespace": self.keys.domain_namespace})

    async def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        await self.health.shutting_down()
        if hasattr(self, "server"):
            await self.server.stop(grace=1.0)
        if self._http is not None:
            self._http.close()
        if hasattr(self, "sync"):
            await self.sync.close()
        if hasattr(self, "client"):
            await self.client.close()
        if self._watch is not None:
            self._watch.cancel()
        if hasattr(self, "sequencers"):
            await self.sequencers.close()
        if hasattr(self, "pool"):
            await self.pool.close()
        self.stopped.set()
