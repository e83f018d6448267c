"""This instance's view of the registered members, kept fresh by NOTIFY.

Registration or disabling on any instance notifies all; each reloads its snapshot. A lookup
that misses (a member registered a moment ago through another instance, notification still in
flight) reloads once before answering no; misses reload at most every `min_reload_interval_s`
so garbage member ids cannot turn into a reload storm.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from minicanton.core.ids import MemberId
from minicanton.core.sequencing.members import MemberDirectory, MemberRecord
from minicanton.store.sequencer import SequencerStore

log = logging.getLogger(__name__)


class MemberCache:
    def __init__(self, store: SequencerStore, min_reload_interval_s: float = 0.1) -> None:
        self._store = store
        self._min_reload_interval_s = min_reload_interval_s
        self.directory = MemberDirectory.of([])
        self._reloading: asyncio.Task[None] | None = None
        self._last_reload_s = 0.0
        self.on_change: list[Callable[[MemberId], None]] = []

    async def reload(self) -> None:
        if self._reloading is None or self._reloading.done():
            self._reloading = asyncio.get_running_loop().create_task(self._load())
        await asyncio.shield(self._reloading)

    async def _load(self) -> None:
        self._last_reload_s = time.monotonic()
        self.directory = MemberDirectory.of(await self._store.members())

    def changed(self, member: str) -> None:
        """NOTIFY callback: a member was registered, re-keyed or disabled somewhere."""
        for callback in self.on_change:
            callback(MemberId(member))
        task = asyncio.get_running_loop().create_task(self.reload())
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def refresh_after_miss(self) -> bool:
        """Reload unless one happened very recently; True if it reloaded."""
        if time.monotonic() - self._last_reload_s < self._min_reload_interval_s:
            return False
        await self.reload()
        return True

    async def lookup(self, member: MemberId) -> MemberRecord | None:
        record = self.directory.get(member)
        if record is None and await self.refresh_after_miss():
            record = self.directory.get(member)
        return record

    def member_of(self, number: int) -> MemberId:
        return self.directory.by_number[number].member
