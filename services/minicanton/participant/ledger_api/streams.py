"""Following the ledger: read (begin, end] page by page, then, if open-ended, wait for more.

Each pass reads up to the ledger end as known at the start of the pass (everything at or below
it is committed: the store writes the ledger end in the same transaction as the rows, and the
commit path announces it only after), so paging by "the last offset seen" never skips nor
repeats an update. A stream without an end
then waits for the ledger end to move (`LedgerApiBackend.wait_beyond`) and goes on. Between
pages and on every wake-up (at least every poll interval) it checks that the caller may still
read (`StreamAuthorization`: the token has not expired; a user token's user still exists, is
active and reads as the stream's parties).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from minicanton.core.protocol.offsets import Offset
from minicanton.participant.ledger_api.backend import LedgerApiBackend
from minicanton.participant.ledger_api.user_rights import StreamAuthorization

PAGE_SIZE = 200
Row = TypeVar("Row")
ReadPage = Callable[[Offset, Offset, int], Awaitable[list[Row]]]


async def follow(
    backend: LedgerApiBackend,
    authorization: StreamAuthorization,
    begin_exclusive: Offset,
    end_inclusive: Offset | None,
    read_page: ReadPage[Row],
    offset_of: Callable[[Row], Offset],
    page_size: int = PAGE_SIZE,
) -> AsyncIterator[Row]:
    """The rows in (begin, end], or from begin on for ever when `end_inclusive` is None."""
    cursor = begin_exclusive
    while True:
        upper = (end_inclusive if end_inclusive is not None
                 else await backend.ledger_end_beyond(cursor))
        while cursor < upper:
            page = await read_page(cursor, upper, page_size)
            for row in page:
                yield row
            cursor = offset_of(page[-1]) if len(page) >= page_size else upper
            await authorization.check()
        if end_inclusive is not None:
            return
        await backend.wait_beyond(cursor)
        await authorization.check()
