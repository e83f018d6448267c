"""Trust on first use of sequencer keys trusts every instance (shells review #11).

Two sequencer instances of one domain, each signing with its own key (ADR 7 allows it), and a
topology manager with no pinned keys. It used to trust only the key of the instance that
answered first, so when that instance died its subscription moved to the other, refused the
first event signed there, and the manager stopped (exit 3). It must trust both and keep
working through the failover.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import grpc
import pytest
from tests.integration.sequencer.harness import ADMIN_TOKEN as SEQUENCER_TOKEN
from tests.integration.sequencer.harness import SEQUENCER_KEY, SequencerCluster
from tests.system.topology.harness import TopologyManagerProcess

from minicanton.codec.gen.minicanton.topology.v1 import topology_admin_pb2 as pb
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.runtime.embedded_postgres import EmbeddedPostgres
from minicanton.runtime.topology_admin_client import TopologyCallFailed

pytestmark = pytest.mark.system
SECOND_KEY = SigningKeyPair.from_private(b"\x6f" * 32)


def _db(postgres: EmbeddedPostgres, label: str) -> str:
    return postgres.create_database(f"seqtrust_{label}_{uuid.uuid4().hex[:10]}")


async def test_a_manager_without_pinned_keys_survives_losing_the_first_sequencer(
    postgres_cluster: EmbeddedPostgres, tmp_path: Path,
) -> None:
    sequencers = SequencerCluster(_db(postgres_cluster, "seq"), tmp_path, instances=2)
    second = sequencers.processes[1]
    config = json.loads(second.config_path.read_text())
    second.config_path.write_text(json.dumps(
        {**config, "signing_key_seed_hex": SECOND_KEY.private_raw.hex()}))
    manager = TopologyManagerProcess(tmp_path, _db(postgres_cluster, "tm"), sequencers.endpoints,
                                     SEQUENCER_TOKEN, [])
    try:
        await sequencers.start()
        await manager.start(trusted_sequencer_keys_hex=[])
        log = manager.log_path.read_text()
        assert "trusting the sequencer keys announced by" in log
        for key in (SEQUENCER_KEY, SECOND_KEY):
            assert key.fingerprint in log
        sequencers.processes[0].kill()
        change = await _set_parameters_until_sequenced(manager)
        assert change.effective_us > change.sequenced_us > 0
        await asyncio.sleep(0.5)
        assert manager.process is not None and manager.process.poll() is None, (
            manager.log_tail())
    finally:
        manager.terminate()
        await sequencers.stop()


async def _set_parameters_until_sequenced(
    manager: TopologyManagerProcess, attempts: int = 5,
) -> pb.TopologyChange:
    """A change broadcast through the surviving instance and processed by the manager's own
    subscription, which has failed over to it (retried while the failover is under way)."""
    request = pb.SetDomainParametersRequest(confirmation_response_timeout_us=20_000_000)
    for attempt in range(attempts):
        assert manager.process is not None and manager.process.poll() is None, (
            manager.log_tail())
        try:
            async with manager.admin() as admin:
                answer = await admin.call("SetDomainParameters", request)
            return answer.change  # type: ignore[no-any-return]
        except TopologyCallFailed as error:
            if error.status != grpc.StatusCode.UNAVAILABLE or attempt == attempts - 1:
                raise
        await asyncio.sleep(1.0)
    raise AssertionError("unreachable")
