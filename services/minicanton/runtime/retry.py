"""The one retry policy: bounded exponential backoff with jitter.

`Backoff.delay_s(attempt)` grows from `initial_ms` by `multiplier` up to `max_ms`, with +-jitter
so many clients reconnecting to a restarted server do not stampede in lockstep.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    initial_ms: float = 20.0
    max_ms: float = 1_000.0
    multiplier: float = 2.0
    jitter: float = 0.2

    def delay_s(self, attempt: int) -> float:
        base = min(self.max_ms, self.initial_ms * self.multiplier ** max(0, attempt))
        spread = base * self.jitter
        return max(0.0, base + random.uniform(-spread, spread)) / 1_000

    async def sleep(self, attempt: int) -> None:
        await asyncio.sleep(self.delay_s(attempt))


async def retry_until_done(operation: Callable[[], Awaitable[None]], what: str,
                           backoff: Backoff = Backoff(), done: str | None = None) -> None:
    """Run `operation` until it succeeds, logging each failure (a WARNING saying `what`
    failed and when the next try is) and, after failures, the success (`done`)."""
    attempt = 0
    while True:
        try:
            await operation()
        except Exception as error:  # whatever the database says: try again
            delay_s = backoff.delay_s(attempt)
            log.warning("%s failed (retry in %.2f s): %s", what, delay_s, error)
            await asyncio.sleep(delay_s)
            attempt += 1
            continue
        if attempt:
            log.info("%s after %d failed attempts", done or f"{what}: done", attempt)
        return
