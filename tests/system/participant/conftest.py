"""The two-participant domain of real processes (a Bank's and Alice's participant, the DvP
package uploaded to both) that this package's test modules share in form: one per module."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from tests.system.participant.harness import Domain, LedgerClient

from minicanton.runtime.embedded_postgres import EmbeddedPostgres

DVP = (Path(__file__).parents[3] / "examples" / "dvp.py").read_bytes()


@dataclass
class Network:
    domain: Domain
    bank: LedgerClient
    alice: LedgerClient
    bank_party: str
    alice_party: str


@pytest_asyncio.fixture(scope="module")
async def network(postgres_cluster: EmbeddedPostgres,
                  tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Network]:
    domain = Domain(postgres_cluster, Path(tmp_path_factory.mktemp("domain")))
    clients: list[LedgerClient] = []
    try:
        await domain.start()
        for name in ("bank", "alice"):
            clients.append(LedgerClient(await domain.add_participant(name)))
        bank, alice = clients
        for client in clients:
            await client.upload(DVP)
        yield Network(domain, bank, alice, await bank.allocate("Bank"),
                      await alice.allocate("Alice"))
    finally:
        for client in clients:
            await client.close()
        await domain.stop()
