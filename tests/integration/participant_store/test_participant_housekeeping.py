"""The participant expires command deduplication entries by itself (shells review #4): the
housekeeping task, against a real PostgreSQL store, removes what expired, keeps what did not,
raises the pruning horizon, and survives a failing run (the table renamed away under it)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from tests.integration.participant_store.test_participant_store import (
    ALICE,
    SECOND_US,
    entry_for,
    event,
    iou,
    tx,
)

from minicanton.core.protocol.deduplication import ChangeId
from minicanton.core.protocol.offsets import LEDGER_BEGIN
from minicanton.participant.housekeeping import expire_deduplication_periodically
from minicanton.store.participant_store import CompletionEntry, SubmissionEntry
from minicanton.store.postgres.participant_store import PostgresParticipantStore

MAX_US = 60 * SECOND_US


async def accept(store: PostgresParticipantStore, command_id: str, counter: int,
                 record_time_us: int) -> ChangeId:
    """A command submitted and completed (accepted) at `record_time_us`."""
    change = ChangeId("app", command_id, frozenset({ALICE}))
    submission = SubmissionEntry(change, "s-" + command_id, "m-" + command_id, 10**15)
    await store.start_submission(submission, None, record_time_us, MAX_US)
    done = CompletionEntry("app", change.act_as, command_id, "s-" + command_id, change.key,
                           record_time_us)
    await store.apply_event(event(counter, entry_for(tx(iou("c-" + command_id, ALICE)),
                                                     "t-" + command_id, completion=done)))
    assert await store.accepted_command(change) is not None
    return change


async def eventually(check, timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not await check():
            await asyncio.sleep(0.05)


async def test_expired_deduplication_entries_go_and_a_failed_run_is_retried(
    fresh_database: str, caplog: pytest.LogCaptureFixture,
) -> None:
    store = await PostgresParticipantStore.open(fresh_database)
    now_us = MAX_US + 10 * SECOND_US
    old = await accept(store, "old", 1, SECOND_US)  # expired at MAX_US + 1 s
    recent = await accept(store, "recent", 2, now_us - SECOND_US)
    await store.pool.execute("ALTER TABLE command_dedup RENAME TO command_dedup_away")
    caplog.set_level(logging.WARNING, "minicanton.participant.housekeeping")
    task = asyncio.get_running_loop().create_task(
        expire_deduplication_periodically(store, lambda: now_us, MAX_US, interval_s=0.05))
    try:
        async def warned() -> bool:
            return "expiring command deduplication entries failed" in caplog.text

        await eventually(warned)
        assert not task.done()  # a failed run does not end the chore
        await store.pool.execute("ALTER TABLE command_dedup_away RENAME TO command_dedup")

        async def expired() -> bool:
            return await store.accepted_command(old) is None

        await eventually(expired)
        assert await store.accepted_command(recent) is not None
        assert await store.deduplication_pruned_up_to() > LEDGER_BEGIN
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await store.close()
