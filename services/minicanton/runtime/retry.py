"""The one retry policy: bounded exponential backoff with jitter.

`Backoff.delay_s(attempt)` grows from `initial_ms` by `multiplier` up to `max_ms`, with +-jitter
so many clients reconnecting to a restarted server do not stampede in lockstep.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass


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
