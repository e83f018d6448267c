"""Total order of N sequencer instances sharing one database, with no coordination.

Theory of operation (DESIGN.md §4, Canton's database sequencer):

* **Timestamps.** Instance `i` of `N` stamps events with microsecond timestamps where
  `ts mod N == i`, strictly increasing per instance. Two instances can never produce the same
  timestamp, so the timestamp alone is the domain's total order.
* **Watermarks.** An instance commits its events together with its watermark (the highest
  timestamp it will never write below again), and only while its row is marked online with its
  own session (fencing): an instance that was marked offline, or whose node index was taken
  over, cannot commit. Idle instances move their watermark on a keep-alive, and promptly when
  another instance wrote events, so readers are not held back.
* **Readers** deliver an event only when it is at or below its writer's watermark and at or
  below the *safe watermark*: the lowest watermark of the online instances. Nothing can ever be
  committed at or below the safe watermark again, so every instance serves the same stream.
  With no instance online, the highest watermark is safe (nobody can write below it).
* **Offline and rejoin.** An instance whose heartbeat stops is marked offline by the others;
  readers then pass its last watermark. On return it deletes its own events past its watermark
  (never readable), rejoins at `max(all watermarks, now)`, and only stamps timestamps above it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from minicanton.core.errors import InvalidArgument


def next_timestamp(now_us: int, last_us: int, total_nodes: int, node_index: int) -> int:
    """The smallest timestamp `>= now_us`, `> last_us`, and `== node_index (mod total_nodes)`."""
    floor = max(now_us, last_us + 1)
    return floor + (node_index - floor) % total_nodes


class TimestampAllocator:
    """One instance's strictly increasing timestamps in its residue class."""

    def __init__(self, total_nodes: int, node_index: int, last_us: int = 0) -> None:
        if total_nodes < 1 or not 0 <= node_index < total_nodes:
            raise InvalidArgument(f"node index {node_index} is not in [0, {total_nodes})")
        self.total_nodes = total_nodes
        self.node_index = node_index
        self.last_us = last_us

    def allocate(self, now_us: int) -> int:
        self.last_us = next_timestamp(now_us, self.last_us, self.total_nodes, self.node_index)
        return self.last_us

    def advance_past(self, timestamp_us: int) -> None:
        """Never stamp at or below `timestamp_us` (after a rejoin)."""
        self.last_us = max(self.last_us, timestamp_us)


@dataclass(frozen=True, slots=True)
class InstanceWatermark:
    node_index: int
    watermark_us: int
    online: bool


def safe_watermark(instances: Iterable[InstanceWatermark]) -> int | None:
    """Readers may deliver up to this timestamp; None before any instance ever wrote."""
    rows = list(instances)
    online = [r.watermark_us for r in rows if r.online]
    if online:
        return min(online)
    return max((r.watermark_us for r in rows), default=None)


def is_readable(event_us: int, writer: InstanceWatermark, safe_us: int | None) -> bool:
    return safe_us is not None and event_us <= safe_us and event_us <= writer.watermark_us


def rejoin_timestamp(instances: Iterable[InstanceWatermark], now_us: int) -> int:
    """The watermark a returning instance goes online at: above anything ever readable."""
    return max([now_us, *[r.watermark_us for r in instances]])


def stale_instances(
    heartbeat_ages_ms: dict[int, float], own_index: int, offline_timeout_ms: float
) -> list[int]:
    """Online instances (by index) silent for longer than the timeout, other than ourselves."""
    return sorted(
        index for index, age_ms in heartbeat_ages_ms.items()
        if index != own_index and age_ms > offline_timeout_ms
    )
