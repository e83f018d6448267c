"""This instance's view of the registered members, kept fresh by NOTIFY.

Registration or disabling on any instance notifies all; each reloads its snapshot. A lookup
that misses (a member registered a moment ago through another instance, notification still in
flight) reloads before answering no; concurrent misses share one load. A reload after a
notification that fails (the database away for a moment) is logged and retried with backoff
until it succeeds: a stale directory would let a disabled member's open stream go on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from minicanton.core.ids import MemberId
from minicanton.core.sequencing.members import MemberDirectory, MemberRecord
from minicanton.runtime.retry import Backoff, retry_until_done
from minicanton.store.sequencer import SequencerStore

log = logging.getLogger(__name__)
RELOAD_BACKOFF = Backoff(initial_ms=50.0, max_ms=2_000.0)


class MemberCache:
    def __init__(self, store: SequencerStore) -> None:
        self._store = store
        self.directory = MemberDirectory.of([])
        self._reloading: asyncio.Task[None] | None = None
        self._wanted = 0
        self._loaded = 0
        self.on_change: list[Callable[[MemberId], None]] = []
        self._after_notify: set[asyncio.Task[None]] = set()

    async def reload(self) -> None:
        """Return once a load that started after this call finished. Concurrent callers share
        loads, so a burst of misses costs one or two queries, not one each."""
        self._wanted += 1
        target = self._wanted
        while self._loaded < target:
            if self._reloading is None or self._reloading.done():
                self._reloading = asyncio.get_running_loop().create_task(
                    self._load(self._wanted))
            await asyncio.shield(self._reloading)

    async def _load(self, generation: int) -> None:
        self.directory = MemberDirectory.of(await self._store.members())
        self._loaded = max(self._loaded, generation)

    def changed(self, member: str) -> None:
        """NOTIFY callback: a member was registered, re-keyed or disabled somewhere."""
        for callback in self.on_change:
            callback(MemberId(member))
        task = asyncio.get_running_loop().create_task(self._reload_until_done(member))
        self._after_notify.add(task)
        task.add_done_callback(self._after_notify.discard)

    async def _reload_until_done(self, member: str) -> None:
        await retry_until_done(self.reload, f"reloading the members after a change of {member}",
                               RELOAD_BACKOFF, done="members reloaded")

    async def close(self) -> None:
        """Stop retrying reloads (the store is about to close)."""
        tasks = list(self._after_notify)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def refresh_after_miss(self) -> bool:
        """A member we do not know may have registered through another instance a moment
        ago: load what the database has now."""
        await self.reload()
        return True

    async def lookup(self, member: MemberId) -> MemberRecord | None:
        record = self.directory.get(member)
        if record is None:
            await self.refresh_after_miss()
            record = self.directory.get(member)
        return record

    def member_of(self, number: int) -> MemberId:
        return self.directory.by_number[number].member
