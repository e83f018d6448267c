"""Ledger offsets: opaque strings that sort lexicographically in ledger order.

A participant numbers every update it publishes (an accepted transaction, a rejection
completion) with a counter starting at 1. The offset of update ``n`` is ``n`` as 16 lower-case
hex digits, so string order equals numeric order and an offset survives any client that treats
offsets as plain strings (Daml's Ledger API says offsets are opaque but ordered). The empty
string is *ledger begin*: it sorts before every offset and names "before the first update".

Ranges follow the Ledger API: a stream from ``begin`` to ``end`` returns updates with
``begin < offset <= end`` (begin exclusive, end inclusive); an ``end`` beyond the ledger end is
an error; an omitted end means "follow the ledger for ever".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import NewType

from minicanton.core.errors import InvalidArgument, MinicantonError

Offset = NewType("Offset", str)

OFFSET_HEX_DIGITS = 16
MAX_OFFSET_COUNTER = 16**OFFSET_HEX_DIGITS - 1
LEDGER_BEGIN = Offset("")

_OFFSET = re.compile(rf"^[0-9a-f]{{{OFFSET_HEX_DIGITS}}}$")


class OffsetAfterLedgerEnd(MinicantonError):
    error_id = "OFFSET_AFTER_LEDGER_END"


class OffsetOutOfRange(MinicantonError):
    error_id = "OFFSET_OUT_OF_RANGE"


class LedgerBoundary(Enum):
    """Daml's `LedgerOffset.LedgerBoundary`: resolved against the ledger end when read."""

    LEDGER_BEGIN = 0
    LEDGER_END = 1


def offset_of(counter: int) -> Offset:
    """The offset of the `counter`-th update (1-based); 0 is ledger begin."""
    if isinstance(counter, bool) or not isinstance(counter, int):
        raise InvalidArgument(f"an offset counter is an int, got {type(counter).__name__}")
    if counter == 0:
        return LEDGER_BEGIN
    if not 0 < counter <= MAX_OFFSET_COUNTER:
        raise InvalidArgument(f"offset counter {counter} out of range")
    return Offset(format(counter, f"0{OFFSET_HEX_DIGITS}x"))


def counter_of(offset: Offset) -> int:
    """The update number an offset names (0 for ledger begin)."""
    return 0 if offset == LEDGER_BEGIN else int(parse_offset(offset), 16)


def parse_offset(text: str) -> Offset:
    """Validate an absolute offset as a client sent it."""
    if text == "" or _OFFSET.match(text):
        return Offset(text)
    raise InvalidArgument(
        f"offset {text!r} is not an absolute offset ({OFFSET_HEX_DIGITS} lower-case hex digits "
        "or the empty string for ledger begin)"
    )


def next_offset(offset: Offset) -> Offset:
    return offset_of(counter_of(offset) + 1)


def resolve(bound: Offset | LedgerBoundary, ledger_end: Offset) -> Offset:
    """An absolute offset for a boundary, as of the given ledger end."""
    if bound is LedgerBoundary.LEDGER_BEGIN:
        return LEDGER_BEGIN
    if bound is LedgerBoundary.LEDGER_END:
        return ledger_end
    return parse_offset(bound)


@dataclass(frozen=True, slots=True)
class OffsetRange:
    """Updates with ``begin_exclusive < offset <= end_inclusive``; no end means open-ended."""

    begin_exclusive: Offset
    end_inclusive: Offset | None

    def contains(self, offset: Offset) -> bool:
        if offset <= self.begin_exclusive:
            return False
        return self.end_inclusive is None or offset <= self.end_inclusive


def offset_range(
    begin: Offset | LedgerBoundary,
    end: Offset | LedgerBoundary | None,
    ledger_end: Offset,
) -> OffsetRange:
    """Check a client's (begin, end) against the ledger end, as the Ledger API does."""
    begin_abs = resolve(begin, ledger_end)
    if begin_abs > ledger_end:
        raise OffsetAfterLedgerEnd(
            f"begin offset {begin_abs} is after the ledger end {ledger_end or '(begin)'}"
        )
    if end is None:
        return OffsetRange(begin_abs, None)
    end_abs = resolve(end, ledger_end)
    if end_abs > ledger_end:
        raise OffsetAfterLedgerEnd(
            f"end offset {end_abs} is after the ledger end {ledger_end or '(begin)'}"
        )
    if begin_abs > end_abs:
        raise OffsetOutOfRange(f"begin offset {begin_abs} is after end offset {end_abs}")
    return OffsetRange(begin_abs, end_abs)
