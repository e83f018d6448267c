"""A bounded memo of a pure function's results, for answers a node already knows.

A node often computes again what it made itself moments ago: a submitter opens the views it
sealed when its own request comes back, and verifies the signature it just made. Where the
function is pure (the same input always gives the same output), its result may be remembered
under the exact input, and only results the node computed or produced itself are entered, so
nothing a peer sends can plant an answer. Bounded by entry count and, where entries can be
large, by their total size; the oldest go first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedMemo(Generic[K, V]):
    def __init__(self, capacity: int, max_bytes: int | None = None,
                 size_of: Callable[[K, V], int] | None = None) -> None:
        self.capacity = capacity
        self._max_bytes = max_bytes
        self._size_of = size_of
        # ordered for eviction: a plain dict's first key is found by scanning past every slot
        # deleted since its last resize, which made evicting the oldest linear in the memo
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._sizes: dict[K, int] = {}
        self.total_bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: K) -> bool:
        return key in self._entries

    def get(self, key: K) -> V | None:
        return self._entries.get(key)

    def put(self, key: K, value: V) -> None:
        if self._size_of is not None:
            size = self._size_of(key, value)
            if self._max_bytes is not None and size > self._max_bytes:
                return  # never worth evicting everything else for
            self.total_bytes += size - self._sizes.get(key, 0)
            self._sizes[key] = size
        self._entries[key] = value
        while len(self._entries) > self.capacity or (
                self._max_bytes is not None and self.total_bytes > self._max_bytes):
            self._evict_oldest()

    def _evict_oldest(self) -> None:
        oldest, _ = self._entries.popitem(last=False)
        self.total_bytes -= self._sizes.pop(oldest, 0)
