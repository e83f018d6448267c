"""The participant machine's in-flight submissions and pending requests, indexed for its events.

Theory of operation
-------------------
Every sequenced event asks the machine the same questions: is this receipt one of our
submissions (by message id), which submission did this verdict's request come from (by request
timestamp), and which submissions and requests have timed out by now. A scan of everything in
flight for each of them made an event cost O(in flight), and a transaction O(in flight²) under
load; here each is a dictionary look-up or a heap pop.

The heaps are lazy: an entry whose submission or request has gone (completed, or its deadline
changed by being sequenced) stays in the heap until it reaches the top, where it is dropped,
so removing costs O(1) and every entry is pushed and popped once. What expires at one event
comes out in the same order as before the index existed (submissions by change key, requests
by request timestamp), so the machine's effects are unchanged and deterministic.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import replace
from typing import Generic, TypeVar

from minicanton.core.protocol.participant_effects import TrackedSubmission

Item = TypeVar("Item")


class SubmissionIndex:
    """Our submissions by change key, message id and (once sequenced) request timestamp."""

    def __init__(self) -> None:
        self._by_key: dict[str, TrackedSubmission] = {}
        self._key_by_message: dict[str, str] = {}
        self._key_by_request: dict[int, str] = {}
        # (max sequencing time, change key, message id) of the unsequenced ones
        self._deadlines: list[tuple[int, str, str]] = []

    def __contains__(self, key: str) -> bool:
        return key in self._by_key

    def __iter__(self) -> Iterator[TrackedSubmission]:
        return iter(self._by_key.values())

    def add(self, tracked: TrackedSubmission) -> None:
        key = tracked.change_id.key
        self.remove(key)
        self._by_key[key] = tracked
        self._key_by_message[tracked.message_id] = key
        if tracked.request_ts_us is None:
            heapq.heappush(self._deadlines,
                           (tracked.max_sequencing_time_us, key, tracked.message_id))
        else:
            self._key_by_request[tracked.request_ts_us] = key

    def remove(self, key: str) -> TrackedSubmission | None:
        tracked = self._by_key.pop(key, None)
        if tracked is not None:
            self._key_by_message.pop(tracked.message_id, None)
            if tracked.request_ts_us is not None:
                self._key_by_request.pop(tracked.request_ts_us, None)
        return tracked

    def by_message_id(self, message_id: str | None) -> TrackedSubmission | None:
        if message_id is None:
            return None
        key = self._key_by_message.get(message_id)
        return None if key is None else self._by_key[key]

    def mark_sequenced(self, tracked: TrackedSubmission, request_ts_us: int) -> None:
        self.add(replace(tracked, request_ts_us=request_ts_us))

    def take_by_request(self, request_ts_us: int) -> TrackedSubmission | None:
        key = self._key_by_request.get(request_ts_us)
        return None if key is None else self.remove(key)

    def take_unsequenced_before(self, ts_us: int) -> list[TrackedSubmission]:
        """Remove and return the unsequenced submissions whose max sequencing time is before
        `ts_us`, by change key."""
        expired = []
        while self._deadlines and self._deadlines[0][0] < ts_us:
            _, key, message_id = heapq.heappop(self._deadlines)
            tracked = self._by_key.get(key)
            if (tracked is not None and tracked.request_ts_us is None
                    and tracked.message_id == message_id):
                expired.append(tracked)
        for tracked in expired:
            self.remove(tracked.change_id.key)
        return sorted(expired, key=lambda s: s.change_id.key)

    def next_deadline_us(self) -> int | None:
        """The earliest max sequencing time of an unsequenced submission."""
        while self._deadlines:
            until_us, key, message_id = self._deadlines[0]
            tracked = self._by_key.get(key)
            if (tracked is not None and tracked.request_ts_us is None
                    and tracked.message_id == message_id):
                return until_us
            heapq.heappop(self._deadlines)
        return None


class DeadlineIndex(Generic[Item]):
    """Items by timestamp, each with a deadline; what has passed comes out by timestamp."""

    def __init__(self) -> None:
        self._items: dict[int, tuple[int, Item]] = {}  # ts -> (deadline, item)
        self._deadlines: list[tuple[int, int]] = []  # (deadline, ts)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, ts_us: int) -> bool:
        return ts_us in self._items

    def timestamps(self) -> list[int]:
        return sorted(self._items)

    def values(self) -> Iterator[Item]:
        return iter([item for _, item in self._items.values()])

    def get(self, ts_us: int) -> Item | None:
        entry = self._items.get(ts_us)
        return None if entry is None else entry[1]

    def put(self, ts_us: int, deadline_us: int, item: Item) -> None:
        self._items[ts_us] = (deadline_us, item)
        heapq.heappush(self._deadlines, (deadline_us, ts_us))

    def pop(self, ts_us: int) -> Item | None:
        entry = self._items.pop(ts_us, None)
        return None if entry is None else entry[1]

    def take_before(self, now_us: int) -> list[tuple[int, Item]]:
        """Remove and return the items whose deadline is before `now_us`, by timestamp."""
        expired = []
        while self._deadlines and self._deadlines[0][0] < now_us:
            deadline_us, ts_us = heapq.heappop(self._deadlines)
            entry = self._items.get(ts_us)
            if entry is not None and entry[0] == deadline_us:
                del self._items[ts_us]
                expired.append((ts_us, entry[1]))
        return sorted(expired, key=lambda pair: pair[0])

    def next_deadline_us(self) -> int | None:
        while self._deadlines:
            deadline_us, ts_us = self._deadlines[0]
            entry = self._items.get(ts_us)
            if entry is not None and entry[0] == deadline_us:
                return deadline_us
            heapq.heappop(self._deadlines)
        return None
