"""A whole small domain for the topology system tests, one per test module: a real sequencer
process, the real topology manager process, and members played by test code (a mediator
listed at genesis, two participants onboarded later)."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.integration.sequencer.harness import ADMIN_TOKEN as SEQUENCER_TOKEN
from tests.integration.sequencer.harness import SequencerCluster
from tests.system.topology.harness import PlayedMember, TopologyManagerProcess

from minicanton.core.ids import Fingerprint, MemberKind
from minicanton.core.topology.planning import initial_key_mapping
from minicanton.runtime.embedded_postgres import EmbeddedPostgres

_numbers = itertools.count(1)


@dataclass
class Network:
    postgres: EmbeddedPostgres
    workdir: Path
    sequencers: SequencerCluster
    manager: TopologyManagerProcess
    mediator: PlayedMember
    started: list[PlayedMember]

    @property
    def namespace(self) -> Fingerprint:
        return Fingerprint(self.manager.ready["domain_namespace"])

    def database(self, label: str) -> str:
        return self.postgres.create_database(f"topo{os.getpid()}_{next(_numbers)}_{label}")

    def participant(self, name: str, seed: int) -> PlayedMember:
        return PlayedMember(name, MemberKind.PARTICIPANT, seed, self.database(name))

    async def start_member(self, member: PlayedMember) -> PlayedMember:
        await member.start(self.namespace, self.sequencers.endpoints, self.manager.endpoint)
        if member not in self.started:
            self.started.append(member)
        return member

    async def onboard(self, member: PlayedMember) -> int:
        """Request, approve (permissioned) and start the member; its effective time."""
        key_mapping = initial_key_mapping(member.id, [member.key], [member.encryption.public])
        async with member.admin(self.manager.endpoint) as client:
            await client.request_onboarding(key_mapping)
        async with self.manager.admin() as admin:
            change = await admin.approve(member.id)
        await self.start_member(member)
        return int(change.effective_us)


@pytest.fixture(scope="module")
async def network(postgres_cluster: EmbeddedPostgres,
                  tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Network]:
    workdir = tmp_path_factory.mktemp("topology")
    sequencers = SequencerCluster(postgres_cluster.create_database(
        f"topo{os.getpid()}_{next(_numbers)}_seq"), workdir)
    mediator = PlayedMember("mediator1", MemberKind.MEDIATOR, 11, postgres_cluster.create_database(
        f"topo{os.getpid()}_{next(_numbers)}_med"))
    manager = TopologyManagerProcess(
        workdir, postgres_cluster.create_database(f"topo{os.getpid()}_{next(_numbers)}_tm"),
        sequencers.endpoints, SEQUENCER_TOKEN, [mediator.key_mapping_hex()])
    net = Network(postgres_cluster, workdir, sequencers, manager, mediator, [])
    try:
        await sequencers.start()
        await manager.start()
        await net.start_member(mediator)
        yield net
    finally:
        manager.terminate()
        for member in net.started:
            await member.stop()
        await sequencers.stop()
