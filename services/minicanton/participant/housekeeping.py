"""Participant housekeeping: periodic chores that keep the participant's database bounded.

Command deduplication entries expire on their own clock: once an entry's record time is more
than the maximum deduplication duration ago it can never make a submission a duplicate again.
`expire_deduplication` drops such entries and raises the deduplication pruning horizon in one
transaction; this task calls it at start and then every `interval_s` (a minute by default:
entries live for the maximum deduplication duration, a day by default, so a minute's delay
costs nothing). A failed run (the database away for a moment) is logged and retried at the
next interval; it never stops the node.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from minicanton.runtime.clock import Clock

log = logging.getLogger(__name__)
DEDUP_EXPIRY_INTERVAL_S = 60.0


class ExpiringDeduplication(Protocol):
    async def expire_deduplication(self, now_us: int,
                                   max_deduplication_duration_us: int) -> int: ...


async def expire_deduplication_periodically(
    store: ExpiringDeduplication, clock: Clock, max_deduplication_duration_us: int,
    interval_s: float = DEDUP_EXPIRY_INTERVAL_S,
) -> None:
    while True:
        try:
            removed = await store.expire_deduplication(clock(), max_deduplication_duration_us)
        except Exception as error:  # whatever the database said: try again next time
            log.warning("expiring command deduplication entries failed (retried in %.0f s): %s",
                        interval_s, error)
        else:
            if removed:
                log.info("expired %d command deduplication entries", removed)
        await asyncio.sleep(interval_s)
