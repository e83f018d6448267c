"""The bounded memo: the newest entries stay, within an entry count and a total size."""

from __future__ import annotations

from minicanton.core.memo import BoundedMemo


def test_the_memory_keeps_only_the_newest_entries() -> None:
    memory: BoundedMemo[bytes, int] = BoundedMemo(capacity=3)
    for n in range(5):
        memory.put(bytes([n]), n)
    assert len(memory) == 3
    assert bytes([0]) not in memory and memory.get(bytes([4])) == 4


def test_large_entries_are_bounded_by_their_total_size() -> None:
    memory: BoundedMemo[str, bytes] = BoundedMemo(
        capacity=100, max_bytes=1_000, size_of=lambda key, value: len(value))
    for name in "abcd":
        memory.put(name, b"x" * 300)
    assert len(memory) == 3 and "a" not in memory and memory.total_bytes == 900
    memory.put("huge", b"x" * 1_001)  # alone over the bound: not kept, nothing evicted
    assert "huge" not in memory and len(memory) == 3
    memory.put("b", b"x" * 100)  # replacing an entry counts its new size only
    assert memory.total_bytes == 700
