"""Ledger offsets: string order is ledger order; ranges behave as the Ledger API's."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicanton import _native
from minicanton.core.errors import InvalidArgument
from minicanton.core.protocol.offsets import (
    LEDGER_BEGIN,
    MAX_OFFSET_COUNTER,
    LedgerBoundary,
    Offset,
    OffsetAfterLedgerEnd,
    OffsetOutOfRange,
    counter_of,
    next_offset,
    offset_of,
    offset_range,
    parse_offset,
)

counters = st.integers(0, MAX_OFFSET_COUNTER)


@settings(max_examples=200)
@given(counters, counters)
def test_string_order_is_counter_order(a: int, b: int) -> None:
    assert (offset_of(a) < offset_of(b)) == (a < b)
    assert (offset_of(a) == offset_of(b)) == (a == b)


@settings(max_examples=200)
@given(counters)
def test_offset_round_trips_through_its_text(counter: int) -> None:
    offset = offset_of(counter)
    assert counter_of(parse_offset(str(offset))) == counter


def test_ledger_begin_sorts_before_every_offset() -> None:
    assert offset_of(0) == LEDGER_BEGIN == ""
    assert LEDGER_BEGIN < offset_of(1) < next_offset(offset_of(1))
    assert offset_of(1) == "0000000000000001"
    assert offset_of(255) == "00000000000000ff"


@pytest.mark.parametrize("bad", ["1", "000000000000000G", "00000000000000001", "ABCDEF0123456789"])
def test_malformed_offsets_are_refused(bad: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_offset(bad)


@pytest.mark.parametrize("bad", [-1, MAX_OFFSET_COUNTER + 1, True])
def test_counters_out_of_range_are_refused(bad: int) -> None:
    if bad is True and "minicanton.core.protocol.offsets" in _native.STATE.modules:
        # Compiled (ADR 16), the `int` parameter unboxes True to 1 as it enters.
        assert offset_of(bad) == offset_of(1)
        return
    with pytest.raises(InvalidArgument):
        offset_of(bad)


def test_range_is_begin_exclusive_end_inclusive() -> None:
    end = offset_of(5)
    window = offset_range(offset_of(2), offset_of(4), ledger_end=end)
    assert [c for c in range(1, 6) if window.contains(offset_of(c))] == [3, 4]


def test_boundaries_resolve_against_the_ledger_end() -> None:
    end = offset_of(7)
    everything = offset_range(LedgerBoundary.LEDGER_BEGIN, LedgerBoundary.LEDGER_END, end)
    assert everything.begin_exclusive == LEDGER_BEGIN and everything.end_inclusive == end
    follow = offset_range(LedgerBoundary.LEDGER_END, None, end)
    assert follow.end_inclusive is None and follow.contains(offset_of(8))
    assert not follow.contains(end)


def test_offsets_beyond_the_ledger_end_are_refused() -> None:
    end = offset_of(3)
    with pytest.raises(OffsetAfterLedgerEnd) as beyond:
        offset_range(LEDGER_BEGIN, offset_of(4), end)
    assert beyond.value.error_id == "OFFSET_AFTER_LEDGER_END"
    with pytest.raises(OffsetAfterLedgerEnd):
        offset_range(offset_of(4), None, end)


def test_begin_after_end_is_out_of_range() -> None:
    with pytest.raises(OffsetOutOfRange) as reversed_range:
        offset_range(offset_of(3), offset_of(2), offset_of(5))
    assert reversed_range.value.error_id == "OFFSET_OUT_OF_RANGE"


def test_absolute_offset_text_is_validated_when_resolved() -> None:
    with pytest.raises(InvalidArgument):
        offset_range(Offset("zz"), None, offset_of(1))
