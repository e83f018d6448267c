"""One domain of real processes for the protocol scenarios of this folder (issue 5, "Tests
(real processes)"): two sequencer instances, the topology manager, a mediator and four
participants — bank, sr, alice, bob, as in seed 003's DvP — each `python -m minicanton.<kind>`
with its own database on the session's PostgreSQL.

The parameters (short timeouts, a long participant max sequencing time) and why are in
network.py. Scenarios allocate their own parties (`Network.allocate`), so each reads its
ledgers without the others' contracts; the network remembers which parties live where, for
the privacy checks on delivered bytes. Every process started here is stopped at the end,
a SIGSTOPped one included.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from tests.system.participant.harness import LedgerClient
from tests.system.protocol.network import DVP, ORGANISATIONS, PAINT, Network, ProtocolDomain

from minicanton.runtime.embedded_postgres import EmbeddedPostgres


@pytest_asyncio.fixture(scope="package")
async def network(postgres_cluster: EmbeddedPostgres,
                  tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Network]:
    domain = ProtocolDomain(postgres_cluster, Path(tmp_path_factory.mktemp("protocol")))
    clients: dict[str, LedgerClient] = {}
    try:
        await domain.start()
        for name in ORGANISATIONS:
            clients[name] = LedgerClient(await domain.add_participant(name))
        for client in clients.values():
            await client.upload(DVP)
            await client.upload(PAINT)
        yield Network(domain, clients)
    finally:
        for client in clients.values():
            await client.close()
        await domain.stop()
