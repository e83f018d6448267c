"""The sequencer store interface: what the sequencer process needs from its shared database.

One implementation runs (store/postgres/sequencer.py). The ordering rules it must obey are the
pure ones of `core.sequencing.ordering`: a write commits events and the writer's watermark
together, only while the writer is online with its session; reads return events at or below
both their writer's watermark and the safe watermark.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from minicanton.core.ids import MemberId
from minicanton.core.sequencing.errors import SequencerUnavailable
from minicanton.core.sequencing.members import MemberRecord
from minicanton.core.sequencing.ordering import InstanceWatermark
from minicanton.core.sequencing.stored import StoredEvent
from minicanton.core.sequencing.submission import PlannedEvent


class InstanceFenced(SequencerUnavailable):
    """This instance is no longer online with its session: it must recover before writing."""

    error_id = "SEQUENCER_INSTANCE_FENCED"


class SettingsMismatch(SequencerUnavailable):
    error_id = "SEQUENCER_SETTINGS_MISMATCH"


class StampedBelowWatermark(SequencerUnavailable):
    """Another instance raised our watermark past timestamps we stamped, and shifting them
    would not do (a max sequencing time in the way): stamp above `watermark_us` and retry."""

    error_id = "SEQUENCER_STAMPED_BELOW_WATERMARK"

    def __init__(self, watermark_us: int) -> None:
        super().__init__(f"timestamps at or below the watermark {watermark_us}")
        self.watermark_us = watermark_us


@dataclass(frozen=True, slots=True)
class EventPage:
    """Events in (after, up_to_us], in timestamp order; the stream is complete up to `up_to_us`
    (which only moves forward, and never past the safe watermark)."""

    events: list[StoredEvent]
    up_to_us: int


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a write committed: the timestamps stored (the others were duplicates), each
    `shift_us` above its planned one (another instance had raised our watermark past them),
    and our watermark now (at least the planned one)."""

    written: set[int]
    shift_us: int
    watermark_us: int


@dataclass(frozen=True, slots=True)
class CounterCheckpoint:
    counter: int  # -1: before the member's first event
    timestamp_us: int  # ts of that event; 0 before the first


@dataclass(frozen=True, slots=True)
class PruneResult:
    pruned_up_to_us: int
    events_removed: int


class SequencerStore(Protocol):
    async def initialize(self, domain_id: str, total_nodes: int) -> None: ...

    async def claim_node_index(self, total_nodes: int) -> int: ...

    async def go_online(self, node_index: int, session: UUID, now_us: int) -> int: ...

    async def go_offline(self, node_index: int, session: UUID) -> None: ...

    async def write(self, node_index: int, session: UUID, watermark_us: int, now_us: int,
                    planned: Sequence[PlannedEvent]) -> WriteResult: ...

    async def mark_stale_offline(self, node_index: int, offline_timeout_ms: float) -> list[int]: ...

    async def watermarks(self) -> list[InstanceWatermark]: ...

    async def read_events(self, after_us: int, limit: int) -> EventPage: ...

    async def read_member_events(self, number: int, after_us: int, limit: int) -> EventPage: ...

    async def checkpoint_before(self, number: int, counter: int) -> CounterCheckpoint: ...

    async def pruned_counter(self, number: int) -> int: ...

    async def save_checkpoint(self, number: int, checkpoint: CounterCheckpoint) -> None: ...

    async def members(self) -> list[MemberRecord]: ...

    async def register_member(self, member: MemberId, public_key: bytes) -> bool: ...

    async def disable_member(self, member: MemberId) -> None: ...

    async def acknowledge(self, number: int, timestamp_us: int) -> None: ...

    async def prune(self, before_us: int, now_us: int) -> PruneResult: ...

    async def save_challenge(self, nonce: bytes, member: MemberId, expires_at_us: int) -> None: ...

    async def take_challenge(self, nonce: bytes, member: MemberId, now_us: int) -> bool: ...

    async def save_token(self, token_hash: bytes, member: MemberId, expires_at_us: int) -> None: ...

    async def token_member(self, token_hash: bytes, now_us: int) -> tuple[MemberId, int] | None:
        ...

    async def domain_max_request_size(self) -> int | None: ...

    async def set_domain_max_request_size(self, size_bytes: int) -> None: ...

    async def listen(self, on_events: Callable[[str], None],
                     on_members: Callable[[str], None]) -> None: ...

    async def close(self) -> None: ...
