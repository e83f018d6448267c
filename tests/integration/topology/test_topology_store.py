"""The topology stores on real PostgreSQL: rows round-trip and restore a re-validated state; a
tampered row is refused at restore; the manager's identity, onboarding records and clean
position behave as the interface says."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from tests.unit.topology.topology_helpers import T0_US, Domain

from minicanton.core.hashing import Hash
from minicanton.core.ids import MemberId
from minicanton.core.sequencing.events import SequencerPosition
from minicanton.core.topology.errors import TopologyError
from minicanton.runtime.topology_client import TopologyClient
from minicanton.store.postgres.topology_store import (
    PostgresTopologyManagerStore,
    migrate_manager_store,
)
from minicanton.store.topology_store import (
    ManagerIdentity,
    OnboardingRecord,
    OnboardingState,
    TopologyRow,
)

ME = MemberId("MED::me::1220" + "00" * 32)


@pytest.fixture
async def store(fresh_database: str) -> AsyncIterator[PostgresTopologyManagerStore]:
    assert await migrate_manager_store(fresh_database)
    assert await migrate_manager_store(fresh_database) == []  # idempotent
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    try:
        yield PostgresTopologyManagerStore(pool)
    finally:
        await pool.close()


def _rows(domain: Domain) -> list[TopologyRow]:
    domain.bootstrap(T0_US)
    domain.onboard("bank", T0_US + 10)
    return [TopologyRow.of(i, s) for i, s in enumerate(domain.state.transactions())]


async def test_rows_restore_the_same_topology(store: PostgresTopologyManagerStore) -> None:
    domain = Domain()
    rows = _rows(domain)
    await store.append_now(rows)
    assert await store.load() == rows
    client = TopologyClient(ME, domain.namespace, domain.genesis)
    client.restore(await store.load())
    t_us = T0_US + 1_000_000
    assert client.snapshot(t_us).participants() == domain.state.snapshot(t_us).participants()
    assert len(client.state) == len(domain.state)


async def test_a_tampered_row_is_refused_at_restore(store: PostgresTopologyManagerStore) -> None:
    domain = Domain()
    rows = _rows(domain)
    last = rows[-1]
    tampered = bytearray(last.signed)
    tampered[-1] ^= 1  # flip a bit of the last signature
    await store.append_now([*rows[:-1], TopologyRow(last.position, last.tx_hash,
                                                    last.sequenced_us, last.valid_from_us,
                                                    bytes(tampered))])
    client = TopologyClient(ME, domain.namespace, domain.genesis)
    with pytest.raises(TopologyError):
        client.restore(await store.load())


async def test_duplicate_positions_are_refused_and_nothing_is_written(
    store: PostgresTopologyManagerStore,
) -> None:
    rows = _rows(Domain())
    with pytest.raises(asyncpg.UniqueViolationError):
        await store.append_now([rows[0], rows[0]])
    assert await store.load() == []


async def test_identity_is_created_once(store: PostgresTopologyManagerStore) -> None:
    assert await store.load_identity() is None
    first = ManagerIdentity("d1", "TOP::tm::1220aa", b"n" * 32, b"m" * 32, 1)
    assert await store.create_identity(first) == first
    second = ManagerIdentity("d2", "TOP::other::1220bb", b"x" * 32, b"y" * 32, 2)
    assert await store.create_identity(second) == first
    assert "n" * 32 not in repr(first)


async def test_onboarding_records_and_event_positions(
    store: PostgresTopologyManagerStore,
) -> None:
    record = OnboardingRecord("PAR::p::1220aa", b"km", 3, OnboardingState.PENDING, 10)
    await store.save_request(record)
    assert [r.participant for r in await store.list_requests(pending_only=True)] == [
        "PAR::p::1220aa"]
    position = SequencerPosition(4, 99, Hash(b"h" * 32))
    await store.record_event(position, [], ["PAR::p::1220aa"], 99)
    admitted = await store.get_request("PAR::p::1220aa")
    assert admitted is not None and admitted.status is OnboardingState.ADMITTED
    assert admitted.decided_at_us == 99
    assert await store.load_position() == position
    # an admitted request is never overwritten by a new one, nor decided again
    await store.save_request(record)
    assert (await store.get_request("PAR::p::1220aa")).status is OnboardingState.ADMITTED  # type: ignore[union-attr]
    assert not await store.decide("PAR::p::1220aa", OnboardingState.REJECTED, 100, "late")
    assert await store.list_requests(pending_only=True) == []
    await store.record_event(SequencerPosition(5, 120), [], [], 120)
    assert await store.load_position() == SequencerPosition(5, 120)


async def test_the_sequencer_sync_outbox_keeps_rows_until_done(
    store: PostgresTopologyManagerStore,
) -> None:
    rows = [("PAR::p::1220aa", 300), ("MED::m::1220bb", 200)]
    await store.record_event(SequencerPosition(6, 130), [], [], 130, rows)
    await store.record_event(SequencerPosition(7, 140), [], [], 140, rows[:1])  # replayed: once
    assert await store.pending_sequencer_syncs() == [("MED::m::1220bb", 200),
                                                      ("PAR::p::1220aa", 300)]
    await store.sequencer_sync_done("MED::m::1220bb", 200)
    await store.sequencer_sync_done("MED::m::1220bb", 200)  # done twice: harmless
    assert await store.pending_sequencer_syncs() == [("PAR::p::1220aa", 300)]
    assert await store.load_position() == SequencerPosition(7, 140)
