"""Pruning actually runs (shells review #4): with a retention and a pruning interval set, a
real sequencer process removes what every member processed, because every member's client
acknowledges by itself after its handler returned (a participant-like member that only
subscribes included); and expired send-deduplication rows, tokens and challenges go on every
run, even while one member that never acknowledges holds the events back.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import grpc
from tests.integration.sequencer.conftest import sequencer_database
from tests.integration.sequencer.harness import Recorder, SequencerCluster

from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_pb2 as pb
from minicanton.core.sequencing.batch import Batch, Envelope, MemberRecipient
from minicanton.runtime.clock import wall_clock_us

PRUNING = {"retention_ms": 0, "pruning_interval_ms": 200, "challenge_ttl_ms": 1_000}


async def fetchval(dsn: str, query: str, *args: object) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return int(await connection.fetchval(query, *args))
    finally:
        await connection.close()


async def eventually(check, timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not await check():
            await asyncio.sleep(0.1)


async def send_expiring(cluster: SequencerCluster, sender, recipient, count: int) -> None:
    """Sends whose max sequencing time is a second away: their dedup rows expire soon."""
    client = cluster.clients[0]
    for i in range(count):
        await client.send(Batch((Envelope((MemberRecipient(recipient.member),), b"m%d" % i),)),
                          max_sequencing_time_us=wall_clock_us() + 1_000_000)


async def test_events_every_member_processed_are_pruned(postgres_cluster,
                                                        tmp_path: Path) -> None:
    cluster = SequencerCluster(sequencer_database(postgres_cluster), tmp_path, overrides=PRUNING)
    await cluster.start()
    try:
        alice, bob = [await cluster.register(h) for h in ("pa-alice", "pa-bob")]
        bob_events = Recorder()
        await cluster.client(alice).start(Recorder())
        await cluster.client(bob).start(bob_events)  # participant-like: it only subscribes
        await send_expiring(cluster, alice, bob, 3)
        await bob_events.wait_for(lambda e: len(e) == 3)
        assert await fetchval(cluster.dsn, "SELECT count(*) FROM sequencer_send_dedup") == 3

        async def all_gone() -> bool:
            events = await fetchval(cluster.dsn, "SELECT count(*) FROM sequencer_events")
            dedup = await fetchval(cluster.dsn, "SELECT count(*) FROM sequencer_send_dedup")
            return events == 0 and dedup == 0

        await eventually(all_gone)
        lower = await fetchval(cluster.dsn, "SELECT lower_bound_us FROM sequencer_settings")
        assert lower >= bob_events.events[-1].event.timestamp_us
        await send_expiring(cluster, alice, bob, 1)  # counters go on after pruning
        await bob_events.wait_for(lambda e: len(e) == 4)
        assert [v.event.counter for v in bob_events.events] == [0, 1, 2, 3]
        assert all(c.failure is None for c in cluster.clients)
    finally:
        await cluster.stop()


async def test_expired_rows_go_while_a_silent_member_holds_events_back(
    postgres_cluster, tmp_path: Path,
) -> None:
    cluster = SequencerCluster(sequencer_database(postgres_cluster), tmp_path, overrides=PRUNING)
    await cluster.start()
    try:
        alice, bob, silent = [await cluster.register(h)
                              for h in ("ps-alice", "ps-bob", "ps-silent")]
        bob_events = Recorder()
        await cluster.client(alice).start(Recorder())
        await cluster.client(bob).start(bob_events)
        async with grpc.aio.insecure_channel(cluster.endpoints[0]) as channel:
            # anyone may ask for a challenge in a registered member's name
            await channel.unary_unary("/minicanton.sequencer.v1.SequencerService/GetChallenge")(
                pb.ChallengeRequest(member=silent.member).SerializeToString(), timeout=5)
        await send_expiring(cluster, alice, bob, 3)
        await bob_events.wait_for(lambda e: len(e) == 3)
        challenges = "SELECT count(*) FROM sequencer_auth_challenges WHERE member = $1"
        assert await fetchval(cluster.dsn, challenges, silent.member) == 1

        async def expired_gone() -> bool:
            dedup = await fetchval(cluster.dsn, "SELECT count(*) FROM sequencer_send_dedup")
            return dedup == 0 and await fetchval(cluster.dsn, challenges, silent.member) == 0

        await eventually(expired_gone)
        # the silent member never acknowledged: its (empty) share holds every event back
        assert await fetchval(cluster.dsn, "SELECT count(*) FROM sequencer_events") >= 3
        assert await fetchval(cluster.dsn, "SELECT lower_bound_us FROM sequencer_settings") == 0
    finally:
        await cluster.stop()
