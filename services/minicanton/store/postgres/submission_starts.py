"""Starting submissions in batches: what the Ledger API's commands of one event-loop turn
need from the store, in one statement.

Theory of operation. Each command records itself in flight (or learns what the store holds
for its change) before it is sent. Under load many commands arrive together, and one
statement and one commit each cost the database more than the work in them. `StartBatcher`
queues the starts of a turn and runs them as one `participant_start_submissions` call
(migration 0007), which treats each entry exactly as the one-entry function does, in
arrival order. One batch is in flight at a time; what arrives meanwhile forms the next, so
batches grow with the load and a lone command goes at once. If a batch fails as a whole
(a message id already taken, say), its entries are retried one by one, so only the entry at
fault sees the error; any other failure (a dropped connection) reaches every caller of the
batch, so no command waits for an answer that never comes.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg

from minicanton.store.participant_store import SubmissionEntry
from minicanton.store.postgres.participant_fast_writes import (
    StartAnswer,
    fast_start_submission,
    start_answer,
    start_row,
)

STARTS_SQL = "SELECT * FROM participant_start_submissions($1::participant_start_row[])"


class StartBatcher:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._queue: list[tuple[SubmissionEntry, asyncio.Future[StartAnswer]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def start(self, entry: SubmissionEntry) -> StartAnswer:
        """`fast_start_submission`'s answer for `entry`, from a batch with its neighbours."""
        future: asyncio.Future[StartAnswer] = asyncio.get_running_loop().create_future()
        self._queue.append((entry, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush())
        return await future

    async def close(self) -> None:
        """Stop flushing; every start not answered yet is cancelled, none left waiting."""
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        queued, self._queue = self._queue, []
        for _, future in queued:
            future.cancel()

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # the rest of this turn's commands join the batch
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                await self._run(batch)
            except asyncio.CancelledError:
                for _, future in batch:
                    future.cancel()
                raise
            except Exception as error:  # e.g. the connection dropped: every caller hears it
                for _, future in batch:
                    _fail(future, error)

    async def _run(self, batch: list[tuple[SubmissionEntry, asyncio.Future[StartAnswer]]]
                   ) -> None:
        async with self._pool.acquire() as conn:
            try:
                answers = await _start_all(conn, [entry for entry, _ in batch])
            except (asyncpg.PostgresError, OSError) as error:
                if len(batch) == 1:
                    _fail(batch[0][1], error)
                    return
                for entry, future in batch:  # only the entry at fault fails
                    try:
                        _answer(future, await fast_start_submission(conn, entry))
                    except (asyncpg.PostgresError, OSError) as single_error:
                        _fail(future, single_error)
                return
        for (_, future), answer in zip(batch, answers, strict=True):
            _answer(future, answer)


async def _start_all(conn: Any, entries: list[SubmissionEntry]) -> list[StartAnswer]:
    rows = await conn.fetch(STARTS_SQL, [start_row(entry) for entry in entries])
    if len(rows) != len(entries):
        raise asyncpg.DataError(f"{len(rows)} answers for {len(entries)} submission starts")
    return [start_answer(entry.change_id, row)
            for entry, row in zip(entries, sorted(rows, key=lambda r: r["entry_index"]),
                                  strict=True)]


# A future already done is a caller that gave up: the start itself stands, as a single one
# would.
def _answer(future: asyncio.Future[StartAnswer], answer: StartAnswer) -> None:
    if not future.done():
        future.set_result(answer)


def _fail(future: asyncio.Future[StartAnswer], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
