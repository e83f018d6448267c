"""The `api` fixture: a running Ledger API on a fresh participant database, DvP loaded."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.integration.ledger_api.harness import Harness, ledger_api


@pytest.fixture
async def api(fresh_database: str) -> AsyncIterator[Harness]:
    async with ledger_api(fresh_database) as harness:
        yield harness
