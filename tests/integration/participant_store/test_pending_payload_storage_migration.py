"""Participant migration 0012 (pending requests' payloads kept in their heap row up to ~8 KB)
on a database the previous release wrote: its pending requests read back unchanged and are
removed as before, and new ones read back the same whether they stay inline or not."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from minicanton.core.ids import RequestId
from minicanton.core.protocol.conflict_detection import RequestLocks
from minicanton.store.participant_store import CleanPosition, EventEffects, PendingRequest
from minicanton.store.postgres import participant_store as participant_module
from minicanton.store.postgres.participant_store import MIGRATIONS, PostgresParticipantStore

SIZES = (3_800, 12_000)  # a confirmation request's payload, and one over a page


def previous_release(tmp_path: Path) -> Path:
    """The participant migrations before 0012 (same files, same checksums)."""
    folder = tmp_path / "participant"
    folder.mkdir()
    for path in sorted(MIGRATIONS.glob("*.sql"))[:11]:
        shutil.copy(path, folder / path.name)
    return folder


def pending(prefix: str, ts_us: int) -> tuple[PendingRequest, ...]:
    return tuple(PendingRequest(RequestLocks(RequestId(f"{prefix}{size}"), ts_us + n,
                                             ts_us + 100, frozenset({f"c-{prefix}{size}"}),
                                             frozenset()), os.urandom(size))
                 for n, size in enumerate(SIZES))


def event(counter: int, added: tuple[PendingRequest, ...] = (),
          removed: tuple[RequestId, ...] = ()) -> EventEffects:
    return EventEffects(CleanPosition(counter, counter * 10), pending_added=added,
                        pending_removed=removed)


async def out_of_line_values(store: PostgresParticipantStore) -> int:
    """How many payloads live in the TOAST table (their chunks, counted once each)."""
    toast = await store.pool.fetchval(
        "SELECT reltoastrelid::regclass::text FROM pg_class "
        "WHERE oid = 'pending_requests'::regclass")
    return int(await store.pool.fetchval(f"SELECT count(DISTINCT chunk_id) FROM {toast}"))


async def test_pending_requests_of_the_previous_release_and_new_ones_read_back_unchanged(
    fresh_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(participant_module, "MIGRATIONS", previous_release(tmp_path))
    old_store = await PostgresParticipantStore.open(fresh_database)
    old = pending("old", 20)
    try:
        await old_store.apply_event(event(1, added=old))
        assert await out_of_line_values(old_store) == 2  # before: every payload over ~2 KB
    finally:
        await old_store.close()
    monkeypatch.undo()

    store = await PostgresParticipantStore.open(fresh_database)
    try:
        assert await store.pending_requests() == list(old)
        new = pending("new", 40)
        await store.apply_event(event(2, added=new))
        assert await out_of_line_values(store) == 3  # after: only the one over a page
        assert await store.pending_requests() == list(old + new)
        await store.apply_event(event(3, removed=tuple(p.locks.request_id for p in old)))
        assert await store.pending_requests() == list(new)
        assert await store.clean_position() == CleanPosition(3, 30)
    finally:
        await store.close()
