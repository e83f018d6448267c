"""A sequencer instance per test module (starting processes costs about a second each)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from tests.integration.sequencer.harness import SequencerCluster

from minicanton.runtime.embedded_postgres import EmbeddedPostgres


def sequencer_database(postgres_cluster: EmbeddedPostgres) -> str:
    return postgres_cluster.create_database(f"seq_{uuid.uuid4().hex[:16]}")


@pytest_asyncio.fixture(scope="module")
async def sequencer(postgres_cluster: EmbeddedPostgres,
                    tmp_path_factory) -> AsyncIterator[SequencerCluster]:
    workdir = Path(tmp_path_factory.mktemp("sequencer"))
    # a 1 MiB ceiling (the default is the domain's 10 MiB), so oversize requests stay cheap
    cluster = SequencerCluster(sequencer_database(postgres_cluster), workdir, instances=1,
                               overrides={"max_request_size_bytes": 1 << 20})
    try:
        yield await cluster.start()
    finally:
        await cluster.stop()
