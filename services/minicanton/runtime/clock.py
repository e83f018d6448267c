"""Wall-clock time for the shells, in integer microseconds since the epoch (the unit of every
timestamp in minicanton). The core never reads it: it gets times as arguments."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], int]


def wall_clock_us() -> int:
    return time.time_ns() // 1_000
