"""Privacy of delivered bytes, member disabling, acknowledgements and pruning, health."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
import grpc
import pytest
from grpc_health.v1 import health_pb2
from tests.integration.sequencer.conftest import sequencer_database
from tests.integration.sequencer.harness import DOMAIN_ID, Recorder, SequencerCluster

from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_admin_pb2 as apb
from minicanton.core.sequencing.batch import Batch, Envelope, MemberRecipient
from minicanton.runtime.clock import wall_clock_us
from minicanton.runtime.grpc_errors import error_id_of
from minicanton.runtime.sequencer_client import SendRejected
from minicanton.runtime.sequencer_connection import SequencerConnection


def to(*members, content: bytes) -> Envelope:
    return Envelope(tuple(MemberRecipient(m.member) for m in members), content)


async def raw_stream(sequencer: SequencerCluster, member, count: int) -> list[bytes]:
    connection = SequencerConnection(sequencer.endpoints[0], DOMAIN_ID, member.member,
                                     member.key, wall_clock_us)
    received = []
    try:
        async with asyncio.timeout(10):
            call = await connection.subscribe(0)
            async for raw in call:
                received.append(raw)
                if len(received) == count:
                    break
            call.cancel()
    finally:
        await connection.close()
    return received


async def test_delivered_bytes_never_carry_others_envelopes(sequencer: SequencerCluster) -> None:
    alice, bob, carol = [await sequencer.register(h) for h in ("p-alice", "p-bob", "p-carol")]
    client = sequencer.client(alice)
    await client.start(Recorder())
    secret = b"BOB-ONLY-" + bytes(range(32))
    await client.send(Batch((to(bob, content=secret), to(carol, content=b"carol-visible"))))
    await client.send(Batch((to(carol, content=b"carol-second"),)))
    carol_bytes = b"".join(await raw_stream(sequencer, carol, 2))
    assert secret not in carol_bytes and b"carol-visible" in carol_bytes
    assert bob.member.encode() not in carol_bytes  # not even who else received something
    bob_bytes = b"".join(await raw_stream(sequencer, bob, 1))
    assert secret in bob_bytes and b"carol-visible" not in bob_bytes


async def test_a_disabled_member_is_cut_off(sequencer: SequencerCluster) -> None:
    alice, bob = [await sequencer.register(h) for h in ("d-alice", "d-bob")]
    a, b = sequencer.client(alice), sequencer.client(bob)
    await a.start(Recorder())
    await b.start(Recorder())
    await a.send(Batch((to(bob, content=b"before"),)))
    await sequencer.admin("DisableMember", apb.DisableMemberRequest(member=bob.member),
                          apb.DisableMemberResponse)
    with pytest.raises(SendRejected) as caught:
        await a.send_async(Batch((to(bob, content=b"after"),)))
    assert caught.value.rejected_error_id == "SEQUENCER_UNKNOWN_RECIPIENT"
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await SequencerConnection(sequencer.endpoints[0], DOMAIN_ID, bob.member, bob.key,
                                  wall_clock_us).acknowledge(1)
    assert error_id_of(refused.value) == "SEQUENCER_AUTHENTICATION_FAILED"
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await sequencer.admin("RegisterMember", apb.RegisterMemberRequest(
            member=bob.member, signing_public_key=bob.key.public.raw),
            apb.RegisterMemberResponse)
    assert error_id_of(again.value) == "SEQUENCER_MEMBER_DISABLED"


async def test_acknowledged_events_are_pruned_and_counters_survive(
    sequencer: SequencerCluster,
) -> None:
    members = (await sequencer.admin("ListMembers", apb.ListMembersRequest(),
                                     apb.ListMembersResponse)).members
    alice, bob = [await sequencer.register(h) for h in ("pr-alice", "pr-bob")]
    for other in members:  # earlier tests' members would hold pruning back forever
        if other.enabled:
            await sequencer.admin("DisableMember", apb.DisableMemberRequest(member=other.member),
                                  apb.DisableMemberResponse)
    # acknowledged by hand below, to pin the pruning point
    a = sequencer.client(alice, auto_acknowledge=False)
    b = sequencer.client(bob, auto_acknowledge=False)
    a_events, b_events = Recorder(), Recorder()
    await a.start(a_events)
    await b.start(b_events)
    for i in range(4):
        await a.send(Batch((to(bob, content=b"p%d" % i),)))
    await b_events.wait_for(lambda e: len(e) == 4)
    await a_events.wait_for(lambda e: len(e) == 4)
    await b.acknowledge(b_events.events[1].event.timestamp_us)
    await a.acknowledge(a_events.events[3].event.timestamp_us)
    pruned = await sequencer.admin("Prune", apb.PruneRequest(retention_ms=0), apb.PruneResponse)
    assert pruned.pruned_up_to_timestamp_us == b_events.events[1].event.timestamp_us
    assert pruned.events_removed >= 2
    await b.close()
    resumed = Recorder()
    late = sequencer.client(bob)
    await late.start(resumed, b_events.events[1].position)  # overlap pruned: chain check only
    await a.send(Batch((to(bob, content=b"p4"),)))
    await resumed.wait_for(lambda e: len(e) == 3)
    assert [v.event.counter for v in resumed.events] == [2, 3, 4]
    connection = SequencerConnection(sequencer.endpoints[0], DOMAIN_ID, bob.member, bob.key,
                                     wall_clock_us)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await (await connection.subscribe(0)).read()
    await connection.close()
    assert error_id_of(caught.value) == "SEQUENCER_COUNTER_PRUNED"


async def http_status(port: int, path: str) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    status = int((await reader.readline()).split()[1])
    writer.close()
    return status


async def test_health_and_graceful_shutdown(postgres_cluster, tmp_path: Path) -> None:
    cluster = SequencerCluster(sequencer_database(postgres_cluster), tmp_path, instances=1)
    await cluster.start()
    try:
        process = cluster.processes[0]
        assert await http_status(process.health_port, "/livez") == 200
        assert await http_status(process.health_port, "/readyz") == 200
        assert await http_status(process.health_port, "/nope") == 404
        async with grpc.aio.insecure_channel(process.endpoint) as channel:
            check = channel.unary_unary(
                "/grpc.health.v1.Health/Check",
                request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
                response_deserializer=health_pb2.HealthCheckResponse.FromString)
            response = await check(health_pb2.HealthCheckRequest(service=""), timeout=5)
            assert response.status == health_pb2.HealthCheckResponse.SERVING
        assert json.loads(process.ready_path.read_text())["node_index"] == 0
        assert process.terminate() == 0
        connection = await asyncpg.connect(cluster.dsn)
        try:
            online = await connection.fetchval(
                "SELECT online FROM sequencer_watermarks WHERE node_index = 0")
        finally:
            await connection.close()
        assert online is False  # went offline cleanly: others need not wait for a timeout
        assert "stopping" in process.log_path.read_text()
    finally:
        await cluster.stop()


async def test_an_expired_token_is_renewed_without_losing_events(
    postgres_cluster, tmp_path: Path
) -> None:
    cluster = SequencerCluster(sequencer_database(postgres_cluster), tmp_path, instances=1,
                               overrides={"token_ttl_ms": 1_000})
    await cluster.start()
    try:
        alice, bob = [await cluster.register(h) for h in ("t-alice", "t-bob")]
        a, b = cluster.client(alice), cluster.client(bob)
        received = Recorder()
        await a.start(Recorder())
        await b.start(received)
        for i in range(3):
            await a.send(Batch((to(bob, content=b"t%d" % i),)))
            await asyncio.sleep(0.8)  # tokens expire while streams are open
        await received.wait_for(lambda e: len(e) == 3)
        assert [v.event.counter for v in received.events] == [0, 1, 2]
        assert a.failure is None and b.failure is None
    finally:
        await cluster.stop()
