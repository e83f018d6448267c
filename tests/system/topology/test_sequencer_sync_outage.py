"""An offboarding that becomes effective while the only sequencer is down still reaches the
sequencers once they are back (shells review #7).

The manager's registration sync used to give up after 8 attempts (~7 s), so the offboarded
participant stayed enabled at the sequencers — able to log in, read broadcasts and send —
until someone restarted the manager. Now the change is an outbox row in the manager's
database, written with the accepted offboarding and deleted only once a sequencer applied it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import asyncpg
import pytest
from tests.integration.sequencer.harness import ADMIN_TOKEN as SEQUENCER_TOKEN
from tests.integration.sequencer.harness import SequencerCluster
from tests.system.topology.harness import PlayedMember, TopologyManagerProcess

from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_admin_pb2 as apb
from minicanton.codec.gen.minicanton.topology.v1 import topology_admin_pb2 as pb
from minicanton.core.ids import MemberKind
from minicanton.core.topology.planning import initial_key_mapping
from minicanton.runtime.embedded_postgres import EmbeddedPostgres

pytestmark = pytest.mark.system
DELAY_MS = 2_000  # topology change delay: time to stop the sequencer before it is effective
OUTAGE_AFTER_EFFECTIVE_S = 10.0  # longer than the old 8 attempts (~7 s)


def _db(postgres: EmbeddedPostgres, label: str) -> str:
    return postgres.create_database(f"seqsync_{label}_{uuid.uuid4().hex[:10]}")


async def test_an_offboarding_effective_during_a_sequencer_outage_is_applied_after_it(
    postgres_cluster: EmbeddedPostgres, tmp_path: Path,
) -> None:
    sequencers = SequencerCluster(_db(postgres_cluster, "seq"), tmp_path)
    manager = TopologyManagerProcess(tmp_path, _db(postgres_cluster, "tm"), sequencers.endpoints,
                                     SEQUENCER_TOKEN, [])
    participant = PlayedMember("p1", MemberKind.PARTICIPANT, 71, _db(postgres_cluster, "p1"))
    try:
        await sequencers.start()
        await manager.start(admission="open",
                            parameters={"topology_change_delay_ms": DELAY_MS})
        mapping = initial_key_mapping(participant.id, [participant.key],
                                      [participant.encryption.public])
        async with participant.admin(manager.endpoint) as client:
            admitted = await client.request_onboarding(mapping)
        assert admitted.status == pb.ONBOARDING_STATUS_ADMITTED
        async with manager.admin() as admin:
            offboarded = await admin.call("OffboardParticipant",
                                          pb.OffboardParticipantRequest(participant=participant.id))
        effective_us = offboarded.change.effective_us
        sequencers.processes[0].kill()
        assert time.time_ns() // 1_000 < effective_us, "the sequencer stopped too late"
        assert (participant.id, effective_us) in await _outbox(manager.dsn)

        await asyncio.sleep((effective_us - time.time_ns() // 1_000) / 1e6
                            + OUTAGE_AFTER_EFFECTIVE_S)
        assert (participant.id, effective_us) in await _outbox(manager.dsn)  # not applied yet
        await sequencers.restart(0)
        await _until_disabled(sequencers, participant.id)
        for _ in range(50):
            if (participant.id, effective_us) not in await _outbox(manager.dsn):
                break
            await asyncio.sleep(0.1)
        assert (participant.id, effective_us) not in await _outbox(manager.dsn)
        assert manager.process is not None and manager.process.poll() is None
    finally:
        manager.terminate()
        await sequencers.stop()


async def _outbox(dsn: str) -> set[tuple[str, int]]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch("SELECT member, effective_us FROM topology_sequencer_sync")
    finally:
        await connection.close()
    return {(r["member"], r["effective_us"]) for r in rows}


async def _until_disabled(sequencers: SequencerCluster, member: str,
                          timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    enabled = None
    while time.monotonic() < deadline:
        listed = await sequencers.admin("ListMembers", apb.ListMembersRequest(),
                                        apb.ListMembersResponse)
        members = listed.members  # type: ignore[attr-defined]
        enabled = {m.member: m.enabled for m in members}.get(member)
        if enabled is False:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{member} is still registered at the sequencers (enabled={enabled})")
