"""A mediator whose activation outlasts its lease TTL keeps the lease (shells review #3).

The mediator is started before the topology manager that tells it who the domain is, as a
local network started in parallel does: it takes the lease, then waits for the manager for
longer than `lease_ttl_ms`. The lease must be renewed meanwhile, so the lone instance becomes
active and stays so, instead of stopping with "lost the mediator lease" (exit 3).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import pytest
from tests.integration.mediator.harness import MediatorProcess
from tests.integration.sequencer.harness import ADMIN_TOKEN as SEQUENCER_TOKEN
from tests.integration.sequencer.harness import SEQUENCER_KEY, SequencerCluster
from tests.system.topology.harness import TopologyManagerProcess

from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.ids import MemberKind, member_id
from minicanton.core.topology.planning import initial_key_mapping
from minicanton.runtime.embedded_postgres import EmbeddedPostgres
from minicanton.runtime.ports import free_port

pytestmark = pytest.mark.system
MEDIATOR_KEY = SigningKeyPair.from_private(b"\x23" * 32)
MEDIATOR_ID = member_id(MemberKind.MEDIATOR, "mediator", MEDIATOR_KEY.fingerprint)
LEASE_TTL_MS = 1_000


def _db(postgres: EmbeddedPostgres, label: str) -> str:
    return postgres.create_database(f"medact_{label}_{uuid.uuid4().hex[:10]}")


async def test_an_activation_longer_than_the_lease_ttl_keeps_the_lease(
    postgres_cluster: EmbeddedPostgres, tmp_path: Path,
) -> None:
    sequencers = SequencerCluster(_db(postgres_cluster, "seq"), tmp_path)
    mapping = initial_key_mapping(MEDIATOR_ID, [MEDIATOR_KEY], []).to_bytes().hex()
    manager = TopologyManagerProcess(tmp_path, _db(postgres_cluster, "tm"), sequencers.endpoints,
                                     SEQUENCER_TOKEN, [mapping])
    mediator_dsn = _db(postgres_cluster, "med")
    mediator = MediatorProcess(tmp_path, {
        "database_dsn": mediator_dsn,
        "signing_key_seed_hex": MEDIATOR_KEY.private_raw.hex(),
        "topology_manager": manager.endpoint, "sequencers": list(sequencers.endpoints),
        "trusted_sequencer_keys_hex": [SEQUENCER_KEY.public.raw.hex()],
        "port": free_port(), "health_port": None, "admin_token": "auditor-token",
        "lease_ttl_ms": LEASE_TTL_MS, "lease_renew_interval_ms": 200, "log_json": False,
    })
    try:
        await sequencers.start()
        mediator.spawn()  # the manager is not there yet: activation waits for it
        await _until_lease_taken(mediator_dsn)
        await asyncio.sleep(3 * LEASE_TTL_MS / 1_000)
        await manager.start(admission="open")
        await mediator.wait_ready()
        await asyncio.sleep(3 * LEASE_TTL_MS / 1_000)
        assert mediator.process is not None and mediator.process.poll() is None, (
            mediator.log_tail())
        assert "stopping:" not in mediator.log_path.read_text()
        connection = await asyncpg.connect(mediator_dsn)
        try:
            row = await connection.fetchrow(
                "SELECT holder, expires_at > clock_timestamp() AS live FROM mediator_lease")
        finally:
            await connection.close()
        assert (row["holder"], row["live"]) == (mediator.name, True)
    finally:
        mediator.terminate()
        manager.terminate()
        await sequencers.stop()


async def _until_lease_taken(dsn: str, timeout_s: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        try:
            connection = await asyncpg.connect(dsn)
        except (OSError, asyncpg.PostgresError):
            await asyncio.sleep(0.1)
            continue
        try:
            taken = await connection.fetchval("SELECT count(*) FROM mediator_lease")
        except asyncpg.UndefinedTableError:
            taken = 0
        finally:
            await connection.close()
        if taken:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the mediator never took its lease")
