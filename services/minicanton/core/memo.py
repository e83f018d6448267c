"""A bounded memo of a pure function's results, for answers a node already knows.

A node often computes again what it made itself moments ago: a submitter opens the views it
sealed when its own request comes back, and verifies the signature it just made. Where the
function is pure (the same input always gives the same output), its result may be remembered
under the exact input, and only results the node computed or produced itself are entered, so
nothing a peer sends can plant an answer. Bounded by entry count; the oldest go first.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedMemo(Generic[K, V]):
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: dict[K, V] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: K) -> bool:
        return key in self._entries

    def get(self, key: K) -> V | None:
        return self._entries.get(key)

    def put(self, key: K, value: V) -> None:
        entries = self._entries
        entries[key] = value
        if len(entries) > self.capacity:
            del entries[next(iter(entries))]
