"""Two participants on a domain of real processes: parties, packages, an Iou seen by both,
and a restart in the middle of a load that loses and duplicates nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from tests.system.participant.harness import Domain, LedgerClient

from minicanton.runtime.embedded_postgres import EmbeddedPostgres

pytestmark = pytest.mark.system
DVP = Path(__file__).parents[3] / "examples" / "dvp.py"


@pytest_asyncio.fixture(scope="module")
async def domain(postgres_cluster: EmbeddedPostgres, tmp_path_factory) -> AsyncIterator[Domain]:
    started = Domain(postgres_cluster, Path(tmp_path_factory.mktemp("domain")))
    try:
        await started.start()
        await started.add_participant("bank")
        yield started
    finally:
        await started.stop()


async def test_a_participant_joins_and_allocates_a_party(domain: Domain) -> None:
    bank = LedgerClient(domain.participants["bank"])
    try:
        party = await bank.allocate("bankparty")
        assert party.startswith("bankparty::1220")
    finally:
        await bank.close()
