"""Timestamp allocation and the watermark rules of DESIGN.md §4."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicanton.core.errors import InvalidArgument
from minicanton.core.sequencing.ordering import (
    InstanceWatermark,
    TimestampAllocator,
    is_readable,
    next_timestamp,
    rejoin_timestamp,
    safe_watermark,
    stale_instances,
)


@settings(max_examples=150)
@given(total=st.integers(1, 5), data=st.data())
def test_allocation_is_strictly_increasing_in_the_nodes_residue_class(total, data) -> None:
    index = data.draw(st.integers(0, total - 1))
    allocator = TimestampAllocator(total, index)
    clock = data.draw(st.lists(st.integers(0, 10_000), min_size=1, max_size=50))
    stamps = [allocator.allocate(now) for now in clock]
    assert all(ts % total == index for ts in stamps)
    assert all(a < b for a, b in itertools.pairwise(stamps))
    assert all(ts >= now for ts, now in zip(stamps, clock, strict=True))


@settings(max_examples=100)
@given(clock=st.lists(st.integers(0, 1_000), min_size=1, max_size=40))
def test_two_instances_never_share_a_timestamp(clock) -> None:
    first, second = TimestampAllocator(2, 0), TimestampAllocator(2, 1)
    stamps = [first.allocate(now) for now in clock] + [second.allocate(now) for now in clock]
    assert len(set(stamps)) == len(stamps)


def test_next_timestamp_is_the_smallest_fit() -> None:
    assert next_timestamp(10, 0, 3, 1) == 10
    assert next_timestamp(10, 0, 3, 2) == 11
    assert next_timestamp(10, 10, 3, 1) == 13
    assert next_timestamp(5, 20, 1, 0) == 21


def test_allocator_rejects_an_index_out_of_range() -> None:
    with pytest.raises(InvalidArgument):
        TimestampAllocator(2, 2)


def test_advance_past_moves_only_forward() -> None:
    allocator = TimestampAllocator(2, 0, last_us=100)
    allocator.advance_past(50)
    assert allocator.allocate(0) == 102
    allocator.advance_past(1_000)
    assert allocator.allocate(0) == 1_002


def test_safe_watermark_is_the_lowest_online_one() -> None:
    rows = [InstanceWatermark(0, 100, True), InstanceWatermark(1, 50, False),
            InstanceWatermark(2, 80, True)]
    assert safe_watermark(rows) == 80


def test_with_nobody_online_the_highest_watermark_is_safe() -> None:
    rows = [InstanceWatermark(0, 100, False), InstanceWatermark(1, 150, False)]
    assert safe_watermark(rows) == 150
    assert safe_watermark([]) is None


def test_an_event_is_readable_only_below_its_writers_and_the_safe_watermark() -> None:
    offline = InstanceWatermark(1, 50, False)
    assert is_readable(49, offline, 80)
    assert not is_readable(51, offline, 80)
    assert not is_readable(81, InstanceWatermark(0, 100, True), 80)
    assert not is_readable(1, offline, None)


def test_rejoin_goes_above_every_watermark_and_now() -> None:
    rows = [InstanceWatermark(0, 100, True), InstanceWatermark(1, 300, False)]
    assert rejoin_timestamp(rows, 200) == 300
    assert rejoin_timestamp(rows, 400) == 400


def test_stale_instances_excludes_itself() -> None:
    assert stale_instances({0: 10_000.0, 1: 5.0, 2: 3_001.0}, 0, 3_000) == [2]
