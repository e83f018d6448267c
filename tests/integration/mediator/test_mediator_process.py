"""The mediator as a real process against a real sequencer process and real PostgreSQL.

The test plays the topology manager (it broadcasts the DvP domain's signed topology through
the sequencer) and the four participants (each a real sequencer client with its own key):
approve, timeout noticed through a time proof, a kill -9 and restart in the middle of a
request, and the auditor API."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import grpc
import pytest
import pytest_asyncio
from mediator_fixtures import DvpDomain
from tests.integration.mediator.harness import MediatorProcess
from tests.integration.sequencer.harness import (
    DOMAIN_ID,
    SEQUENCER_KEY,
    Recorder,
    SequencerCluster,
)

from minicanton.codec.gen.minicanton.mediator.v1 import mediator_auditor_pb2 as apb
from minicanton.codec.gen.minicanton.mediator.v1 import mediator_auditor_pb2_grpc as apb_grpc
from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_admin_pb2 as spb
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.ids import MemberId, MemberKind, member_id
from minicanton.core.protocol.message_codec import decode_protocol_message
from minicanton.core.protocol.messages import (
    Approve,
    ConfirmationResponse,
    InformeeMessage,
    MediatorResult,
    Timeout,
    encode_protocol_message,
)
from minicanton.core.sequencing.batch import Batch, Envelope, MemberRecipient
from minicanton.core.sequencing.events import Deliver
from minicanton.core.sequencing.send_tracking import SendDelivered
from minicanton.core.topology.transactions import TopologyBroadcast
from minicanton.runtime.embedded_postgres import EmbeddedPostgres
from minicanton.runtime.grpc_errors import error_id_of
from minicanton.runtime.ports import free_port
from minicanton.runtime.sequencer_client import SequencerClient

RESPONSE_TIMEOUT_MS = 2_000
REACTION_TIMEOUT_MS = 2_000
AUDITOR_TOKEN = "auditor-secret-token"
# What a caller without the admin token might send: nothing, another token, the token one
# character short or long or in another case, the bare token, an empty bearer token.
NOT_THE_TOKEN: tuple[tuple[tuple[str, str], ...], ...] = (
    (), (("authorization", "Bearer not-the-auditor-token"),),
    (("authorization", f"Bearer {AUDITOR_TOKEN[:-1]}"),),
    (("authorization", f"Bearer {AUDITOR_TOKEN}x"),),
    (("authorization", f"Bearer {AUDITOR_TOKEN.upper()}"),),
    (("authorization", AUDITOR_TOKEN),), (("authorization", "Bearer "),),
    (("authorization", ""),),
)
HINTS = ("alice", "bob", "bank", "sr")


class Network:
    """One sequencer, the mediator process and four participant clients."""

    def __init__(self, sequencer: SequencerCluster, mediator: MediatorProcess,
                 domain: DvpDomain) -> None:
        self.sequencer = sequencer
        self.mediator = mediator
        self.domain = domain
        self.clients: dict[str, SequencerClient] = {}
        self.recorders: dict[str, Recorder] = {}
        self.standbys: list[MediatorProcess] = []

    def standby(self, name: str) -> MediatorProcess:
        """A second instance of the same mediator (same key and database)."""
        process = MediatorProcess(self.mediator.workdir, self.mediator.config, name)
        self.standbys.append(process)
        process.spawn()
        return process

    async def register(self, member: MemberId, key: SigningKeyPair) -> None:
        await self.sequencer.admin("RegisterMember", spb.RegisterMemberRequest(
            member=member, signing_public_key=key.public.raw), spb.RegisterMemberResponse)

    async def start_participants(self) -> None:
        for hint in HINTS:
            node = self.domain.participants[hint]
            client = self.sequencer.client(_Member(node.id, node.key))
            recorder = Recorder()
            await client.start(recorder)
            self.clients[hint], self.recorders[hint] = client, recorder

    async def request(self, salt: int) -> tuple[int, InformeeMessage]:
        """Alice's participant sends a confirmation request; its sequencing time."""
        tree = self.domain.swap_tree(salt=salt)
        envelopes = self.domain.request_envelopes(tree)
        outcome = await self.clients["alice"].send(Batch(tuple(envelopes)))
        assert isinstance(outcome, SendDelivered)
        return outcome.timestamp_us, InformeeMessage.create(tree, self.domain.p("alice"))

    async def respond(self, hint: str, request_ts_us: int, informee: InformeeMessage) -> None:
        party = self.domain.parties[hint]
        responses = [
            self.domain.response(hint, request_ts_us, informee, view.view_hash, [hint])
            for view in informee.views if party in view.parameters.confirmers
        ]
        outcome = await self.clients[hint].send(Batch(tuple(
            self.domain.to_mediator(encode_protocol_message(r)) for r in responses)))
        assert isinstance(outcome, SendDelivered)

    def verdicts(self, hint: str, request_ts_us: int) -> list[tuple[int, MediatorResult]]:
        found = []
        for verified in self.recorders[hint].events:
            content = verified.event.content
            if not isinstance(content, Deliver):
                continue
            for envelope in content.batch.envelopes:
                if not envelope.content.startswith(b"MCPM"):
                    continue
                message = decode_protocol_message(envelope.content)
                if isinstance(message, MediatorResult) and message.request_ts_us == request_ts_us:
                    assert envelope.recipients == (MemberRecipient(self.domain.p(hint)),)
                    found.append((verified.event.timestamp_us, message))
        return found

    async def wait_verdicts(self, request_ts_us: int, timeout_s: float = 15.0) -> None:
        for hint in HINTS:
            await self.recorders[hint].wait_for(
                lambda _events, h=hint: bool(self.verdicts(h, request_ts_us)), timeout_s)


@dataclass(frozen=True)
class _Member:
    member: MemberId
    key: SigningKeyPair


@pytest_asyncio.fixture
async def network(request: pytest.FixtureRequest, postgres_cluster: EmbeddedPostgres,
                  tmp_path: Path) -> AsyncIterator[Network]:
    response_timeout_ms = getattr(request, "param", RESPONSE_TIMEOUT_MS)
    sequencer = SequencerCluster(
        postgres_cluster.create_database(f"seq_{uuid.uuid4().hex[:12]}"), tmp_path, instances=1)
    await sequencer.start()
    domain = DvpDomain()
    mediator = MediatorProcess(tmp_path, {
        "node_name": "mediator",
        "database_dsn": postgres_cluster.create_database(f"med_{uuid.uuid4().hex[:12]}"),
        "signing_key_seed_hex": domain.mediator.key.private_raw.hex(),
        "domain_id": DOMAIN_ID, "domain_namespace": domain.root.fingerprint,
        "parameters": {"confirmation_response_timeout_ms": response_timeout_ms,
                       "mediator_reaction_timeout_ms": REACTION_TIMEOUT_MS,
                       "topology_change_delay_ms": 10},
        "sequencers": list(sequencer.endpoints),
        "trusted_sequencer_keys_hex": [SEQUENCER_KEY.public.raw.hex()],
        "port": free_port(), "health_port": None, "admin_token": AUDITOR_TOKEN,
        "lease_ttl_ms": 2_000, "lease_renew_interval_ms": 500, "log_json": False,
    })
    net = Network(sequencer, mediator, domain)
    try:
        await net.register(domain.mediator.id, domain.mediator.key)
        for hint in HINTS:
            await net.register(domain.participants[hint].id, domain.participants[hint].key)
        await _broadcast_topology(net)
        mediator.spawn()
        await mediator.wait_ready()
        await net.start_participants()
        yield net
    finally:
        for process in (mediator, *net.standbys):
            process.terminate()
        await sequencer.stop()


async def _broadcast_topology(net: Network) -> None:
    """Play the topology manager: all of the domain's signed transactions to the mediator."""
    key = SigningKeyPair.from_private(b"\x07" * 32)
    manager = member_id(MemberKind.TOPOLOGY_MANAGER, "manager", key.fingerprint)
    await net.register(manager, key)
    client = net.sequencer.client(_Member(manager, key))
    await client.start(Recorder())
    broadcast = TopologyBroadcast(tuple(s.signed for s in net.domain.state.transactions()))
    envelope = Envelope((MemberRecipient(net.domain.mediator.id),), broadcast.to_bytes())
    assert isinstance(await client.send(Batch((envelope,))), SendDelivered)
    await asyncio.sleep(0.05)  # past the 10 ms topology change delay


async def test_a_request_confirmed_by_everyone_is_approved_once(network: Network) -> None:
    request_ts_us, informee = await network.request(salt=1)
    for hint in HINTS:
        await network.respond(hint, request_ts_us, informee)
    await network.wait_verdicts(request_ts_us)
    for hint in HINTS:
        (_, result), = network.verdicts(hint, request_ts_us)
        assert result.verdict == Approve()
        result.verify(network.domain.mediator.key.public)
    await _check_auditor(network, request_ts_us)


async def test_a_silent_participant_times_out_at_the_deadline_and_is_named(
    network: Network,
) -> None:
    request_ts_us, informee = await network.request(salt=2)
    for hint in ("alice", "bob", "bank"):  # SR's participant never answers
        await network.respond(hint, request_ts_us, informee)
    await network.wait_verdicts(request_ts_us, timeout_s=RESPONSE_TIMEOUT_MS / 1e3 + 10)
    (verdict_ts_us, result), = network.verdicts("alice", request_ts_us)
    assert isinstance(result.verdict, Timeout)
    assert [u.participant for u in result.verdict.unresponsive] == [network.domain.p("sr")]
    for hint in ("bob", "bank", "sr"):  # only the submitter learns who did not answer
        (_, copy), = network.verdicts(hint, request_ts_us)
        assert isinstance(copy.verdict, Timeout) and copy.verdict.unresponsive == ()
        copy.verify(network.domain.mediator.key.public)
    assert verdict_ts_us > request_ts_us + RESPONSE_TIMEOUT_MS * 1_000  # not before
    assert verdict_ts_us < request_ts_us + (RESPONSE_TIMEOUT_MS + REACTION_TIMEOUT_MS) * 1_000


@pytest.mark.parametrize("network", [20_000], indirect=True)  # a restart takes a second or two
async def test_a_killed_mediator_resumes_and_decides_exactly_once(network: Network) -> None:
    request_ts_us, informee = await network.request(salt=3)
    await network.respond("alice", request_ts_us, informee)
    await network.respond("bob", request_ts_us, informee)
    await asyncio.sleep(0.3)  # let the mediator store those
    network.mediator.kill()
    await network.respond("bank", request_ts_us, informee)
    network.mediator.spawn()
    await network.mediator.wait_ready()
    await network.respond("sr", request_ts_us, informee)
    await network.wait_verdicts(request_ts_us)
    await asyncio.sleep(0.5)  # a duplicate verdict would arrive by now
    for hint in HINTS:
        (_, result), = network.verdicts(hint, request_ts_us)
        assert result.verdict == Approve()


@pytest.mark.parametrize("network", [20_000], indirect=True)
async def test_a_passive_instance_takes_over_when_the_active_one_dies(network: Network) -> None:
    passive = network.standby("mediator-b")
    await asyncio.sleep(1.0)
    assert not passive.ready_path.exists()  # passive: the lease is held
    request_ts_us, informee = await network.request(salt=4)
    await network.respond("alice", request_ts_us, informee)
    await network.respond("bob", request_ts_us, informee)
    await asyncio.sleep(0.3)
    network.mediator.kill()
    await passive.wait_ready(timeout_s=15)  # the lease expired: the standby is active
    for hint in ("bank", "sr"):
        await network.respond(hint, request_ts_us, informee)
    await network.wait_verdicts(request_ts_us)
    await asyncio.sleep(0.5)
    for hint in HINTS:
        (_, result), = network.verdicts(hint, request_ts_us)
        assert result.verdict == Approve()


async def test_a_mediator_whose_lease_was_taken_records_and_sends_nothing_and_exits_3(
    network: Network,
) -> None:
    """Fencing (ADR 13) through the batch handler: the events the instance records after
    another holder took the lease are refused by the database, the instance stops with exit
    code 3 and no verdict for them reaches anyone."""
    connection = await asyncpg.connect(network.mediator.config["database_dsn"])
    try:
        await connection.execute("UPDATE mediator_lease SET holder = 'thief', epoch = epoch + 1,"
                                 " expires_at = clock_timestamp() + interval '1 hour'")
        request_ts_us, informee = await network.request(salt=5)
        for hint in HINTS:
            await network.respond(hint, request_ts_us, informee)
        process = network.mediator.process
        assert process is not None
        assert await asyncio.to_thread(process.wait, 20) == 3, network.mediator.log_tail()
        stored = await connection.fetchval(
            "SELECT count(*) FROM mediator_events WHERE ts >= $1", request_ts_us)
    finally:
        await connection.close()
    assert stored == 0
    await asyncio.sleep(0.3)
    assert all(network.verdicts(hint, request_ts_us) == [] for hint in HINTS)


async def _refused_without_the_token(stub: apb_grpc.MediatorAuditorServiceStub,
                                     request_ts_us: int) -> None:
    """Every call without the exact admin token is UNAUTHENTICATED and returns nothing of
    the request (the refusal names neither the request nor the token)."""
    calls = (lambda m: stub.GetRequest(apb.GetRequestRequest(request_id_us=request_ts_us),
                                       metadata=m),
             lambda m: stub.ListMessages(apb.ListMessagesRequest(
                 from_us=request_ts_us, to_us=request_ts_us), metadata=m))
    for metadata in NOT_THE_TOKEN:
        for call in calls:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call(metadata)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED, metadata
            assert error_id_of(refused.value) == "MEDIATOR_AUDITOR_UNAUTHENTICATED"
            details = refused.value.details() or ""
            assert str(request_ts_us) not in details and "auditor-secret" not in details


async def _check_auditor(network: Network, request_ts_us: int) -> None:
    port = network.mediator.config["port"]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = apb_grpc.MediatorAuditorServiceStub(channel)
        await _refused_without_the_token(stub, request_ts_us)
        metadata = (("authorization", f"Bearer {AUDITOR_TOKEN}"),)
        for _ in range(50):  # the participants may see the verdict before our own receipt
            answer = await stub.GetRequest(apb.GetRequestRequest(request_id_us=request_ts_us),
                                           metadata=metadata)
            if answer.verdict.sent_at_us:
                break
            await asyncio.sleep(0.1)
        kinds = [m.kind for m in answer.messages]
        assert kinds.count("informee_message") == 1
        assert kinds.count("root_hash_message") == 4
        assert kinds.count("confirmation_response") == 8
        assert answer.verdict.verdict == "approve" and answer.verdict.sent_at_us > 0
        responses = [m for m in answer.messages if m.kind == "confirmation_response"]
        assert isinstance(decode_protocol_message(responses[0].payload), ConfirmationResponse)
        listed = await stub.ListMessages(apb.ListMessagesRequest(
            from_us=request_ts_us, to_us=request_ts_us), metadata=metadata)
        assert len(listed.messages) == 5
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await stub.ListMessages(apb.ListMessagesRequest(from_us=2, to_us=1),
                                    metadata=metadata)
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT



