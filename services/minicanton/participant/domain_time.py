"""Domain time as this participant knows it: the timestamp of the last event it processed.

A member learns that time passed only from sequenced events (DESIGN.md §3). Waiting for a
topology change to be effective, or for the domain to pass a deadline, is therefore waiting
until the pump has processed an event at or after that time; when the wall clock is past it
but no traffic comes, we ask the sequencer for a time proof (an empty event to ourselves).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from minicanton.core.errors import MinicantonError
from minicanton.runtime.clock import Clock

TimeProof = Callable[[], Coroutine[Any, Any, int]]


class DomainTimeout(MinicantonError):
    error_id = "PARTICIPANT_DOMAIN_TIME_TIMEOUT"
    grpc_status = "DEADLINE_EXCEEDED"


class DomainTime:
    def __init__(self, clock: Clock, processed_us: int = 0) -> None:
        self._clock = clock
        self.processed_us = processed_us
        self._progress = asyncio.Event()
        self.time_proof: TimeProof | None = None

    def advance(self, ts_us: int) -> None:
        if ts_us > self.processed_us:
            self.processed_us = ts_us
            self._progress.set()

    async def wait_processed(self, ts_us: int, timeout_s: float) -> int:
        """Return once an event at or after `ts_us` is processed (asking for time proofs)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        proof: asyncio.Task[int] | None = None
        try:
            while self.processed_us < ts_us:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise DomainTimeout(
                        f"the domain did not reach {ts_us} within {timeout_s:.0f} s "
                        f"(processed up to {self.processed_us})")
                self._progress.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._progress.wait(), min(remaining, 0.2))
                wanted = self.processed_us < ts_us <= self._clock()
                if wanted and self.time_proof is not None and (proof is None or proof.done()):
                    proof = loop.create_task(self.time_proof())
                    proof.add_done_callback(lambda t: t.cancelled() or t.exception())
        finally:
            if proof is not None and not proof.done():
                proof.cancel()
        return self.processed_us
