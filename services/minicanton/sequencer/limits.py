"""The request size limit an instance enforces: the domain's, capped by its own config.

The maximum request size is a domain parameter (DomainParameters.max_request_size_bytes), as
in Canton, where the sequencer enforces the dynamic domain parameter. The topology manager
sets it through the admin API at the parameter change's effective time (and at its start);
it is kept in the shared database, so every instance and every restart enforces the same
value, and a NOTIFY makes the other instances reload it. The instance's config value is a
ceiling (its gRPC message limits are sized from it): a larger domain value is capped, with a
warning, until an operator raises the ceiling. Until the manager set it, the ceiling applies.
"""

from __future__ import annotations

import asyncio
import logging

from minicanton.core.sequencing.submission import SubmissionLimits
from minicanton.runtime.retry import retry_until_done
from minicanton.store.sequencer import SequencerStore

log = logging.getLogger(__name__)


class DomainLimits:
    def __init__(self, store: SequencerStore, domain_id: str, ceiling_bytes: int,
                 horizon_us: int) -> None:
        self._store = store
        self._ceiling_bytes = ceiling_bytes
        self.current = SubmissionLimits(domain_id, ceiling_bytes, horizon_us)
        self._reloads: set[asyncio.Task[None]] = set()

    def _apply(self, domain_bytes: int | None) -> int:
        effective = self._ceiling_bytes if domain_bytes is None else min(
            domain_bytes, self._ceiling_bytes)
        if domain_bytes is not None and domain_bytes > self._ceiling_bytes:
            log.warning("the domain allows requests of %d bytes, this instance's "
                        "max_request_size_bytes caps them at %d", domain_bytes,
                        self._ceiling_bytes)
        if effective != self.current.max_request_size_bytes:
            log.info("maximum request size now %d bytes", effective)
        self.current = SubmissionLimits(self.current.domain_id, effective,
                                        self.current.max_sequencing_time_horizon_us)
        return effective

    async def reload(self) -> None:
        self._apply(await self._store.domain_max_request_size())

    async def set_domain_value(self, size_bytes: int) -> int:
        """Store the domain's value for every instance; the size this one now enforces."""
        await self._store.set_domain_max_request_size(size_bytes)
        return self._apply(size_bytes)

    def changed(self) -> None:
        """NOTIFY: another instance stored a new value."""
        task = asyncio.get_running_loop().create_task(self._reload_until_done())
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def _reload_until_done(self) -> None:
        await retry_until_done(self.reload, "reloading the domain limits")

    async def close(self) -> None:
        for task in list(self._reloads):
            task.cancel()
        await asyncio.gather(*self._reloads, return_exceptions=True)
