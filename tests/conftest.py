"""Shared fixtures: one real PostgreSQL cluster per test session, a fresh database per test."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from minicanton.runtime.embedded_postgres import EmbeddedPostgres

_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[EmbeddedPostgres]:
    """A real PostgreSQL server in a temp dir on 127.0.0.1, stopped at the end of the session
    (also on failure or Ctrl-C: pytest runs fixture finalisers on KeyboardInterrupt)."""
    root = Path(tempfile.mkdtemp(prefix="minicanton-pg-"))
    cluster = EmbeddedPostgres(root / "data", durable=False)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def fresh_database(postgres_cluster: EmbeddedPostgres) -> str:
    """The DSN of a new, empty database for this test alone."""
    name = f"t{os.getpid()}_{next(_database_numbers)}"
    return postgres_cluster.create_database(name)
