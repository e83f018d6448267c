"""Sequencer migration 0004 (event payloads kept in their heap row up to ~8 KB, never
compressed) on a database the previous release wrote: its events read back unchanged, and
events written after the upgrade read back the same whether they stay inline or not."""

from __future__ import annotations

import dataclasses
import os
import shutil
import uuid
from pathlib import Path

import asyncpg
import pytest
from tests.unit.sequencing.helpers import ALICE, BOB, request

from minicanton.codec.sequencer import envelope_bytes
from minicanton.core.sequencing.ordering import TimestampAllocator
from minicanton.core.sequencing.stored import StoredEnvelope, StoredEvent, with_serialized
from minicanton.core.sequencing.submission import ValidatedSubmission, plan_events
from minicanton.store.postgres import sequencer as sequencer_module
from minicanton.store.postgres.sequencer import MIGRATIONS, PostgresSequencerStore

START_US = 1_000_000_000
SIZES = (4_400, 500, 12_000)  # a confirmation request, a response, one over a page


def previous_release(tmp_path: Path) -> Path:
    """The sequencer migrations before 0004 (same files, same checksums)."""
    folder = tmp_path / "sequencer"
    folder.mkdir()
    for path in sorted(MIGRATIONS.glob("*.sql"))[:3]:
        shutil.copy(path, folder / path.name)
    return folder


async def write_events(store: PostgresSequencerStore, prefix: str, now_us: int
                       ) -> list[StoredEvent]:
    session = uuid.uuid4()
    rejoin_us = await store.go_online(0, session, now_us)
    allocator = TimestampAllocator(1, 0, rejoin_us)
    submissions = [ValidatedSubmission(
        request(ALICE, BOB, message_id=f"{prefix}{size}", max_sequencing_time_us=10**15,
                content=os.urandom(size)), 1,
        (StoredEnvelope(frozenset({2}), request(ALICE, BOB, content=os.urandom(size))
                        .batch.envelopes[0]),)) for size in SIZES]
    planned = plan_events(submissions, allocator, now_us)
    result = await store.write(0, session, allocator.last_us, now_us, planned)
    await store.go_offline(0, session)
    events = [p.event for p in planned if p.event is not None]
    assert result.written == {e.timestamp_us for e in events}
    return [as_read(event) for event in events]


def as_read(event: StoredEvent) -> StoredEvent:
    """`event` as the store reads it back: each envelope as its serialized bytes."""
    serialized = [envelope_bytes(stored.envelope) for stored in event.envelopes
                  if not isinstance(stored.envelope, bytes)]
    return dataclasses.replace(event, envelopes=with_serialized(event.envelopes, serialized))


async def out_of_line_values(dsn: str) -> int:
    """How many payloads live in the TOAST table (their chunks, counted once each)."""
    connection = await asyncpg.connect(dsn)
    try:
        toast = await connection.fetchval(
            "SELECT reltoastrelid::regclass::text FROM pg_class "
            "WHERE oid = 'sequencer_events'::regclass")
        return int(await connection.fetchval(f"SELECT count(DISTINCT chunk_id) FROM {toast}"))
    finally:
        await connection.close()


async def compressed_payloads(dsn: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return int(await connection.fetchval(
            "SELECT count(*) FROM sequencer_events "
            "WHERE pg_column_size(payload) < octet_length(payload)"))
    finally:
        await connection.close()


async def test_events_of_the_previous_release_and_new_ones_read_back_unchanged(
    fresh_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sequencer_module, "MIGRATIONS", previous_release(tmp_path))
    old_store = await PostgresSequencerStore.connect(fresh_database, pool_size=2)
    try:
        await old_store.initialize("storage-test", 1)
        old_events = await write_events(old_store, "old", START_US)
    finally:
        await old_store.close()
    assert await out_of_line_values(fresh_database) == 2  # before: every row over ~2 KB
    monkeypatch.undo()

    store = await PostgresSequencerStore.connect(fresh_database, pool_size=2)
    try:
        await store.initialize("storage-test", 1)
        new_events = await write_events(store, "new", START_US + 1_000_000)
        page = await store.read_events(0, 100)
        assert page.events == old_events + new_events
        # after: only the one over a page goes out of line, uncompressed
        assert await out_of_line_values(fresh_database) == 3
        assert await compressed_payloads(fresh_database) == 0
    finally:
        await store.close()
