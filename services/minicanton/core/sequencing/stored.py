"""Events as the sequencer stores them, and their projection onto one member's stream.

The store keeps one row per timestamp with the whole batch, each envelope tagged with the
member numbers it resolved to when it was sequenced. Projection keeps only the envelopes the
reading member is a recipient of, so a member's delivered bytes never carry an envelope
addressed only to others, nor the recipients of such an envelope.
"""

from __future__ import annotations

from dataclasses import dataclass

from minicanton.core.ids import MemberId
from minicanton.core.sequencing.batch import Batch, Envelope
from minicanton.core.sequencing.events import Deliver, DeliverError, SequencedEvent


@dataclass(frozen=True, slots=True)
class StoredEnvelope:
    member_numbers: frozenset[int]
    envelope: Envelope


@dataclass(frozen=True, slots=True)
class StoredEvent:
    timestamp_us: int
    node_index: int
    sender_number: int
    message_id: str
    envelopes: tuple[StoredEnvelope, ...]
    error: DeliverError | None = None

    @property
    def recipient_numbers(self) -> frozenset[int]:
        """Who reads this event: every envelope recipient, and the sender (its receipt)."""
        numbers: set[int] = {self.sender_number}
        if self.error is None:
            for stored in self.envelopes:
                numbers |= stored.member_numbers
        return frozenset(numbers)

    def is_for(self, number: int) -> bool:
        return number == self.sender_number or (
            self.error is None and any(number in e.member_numbers for e in self.envelopes)
        )


@dataclass(frozen=True, slots=True)
class StreamCursor:
    """Where one member's stream stands: the last counter and timestamp delivered to it."""

    counter: int = -1
    timestamp_us: int | None = None


def project_event(
    stored: StoredEvent, domain_id: str, member: MemberId, number: int, sender: MemberId,
    cursor: StreamCursor,
) -> SequencedEvent:
    """`stored` as member `number` reads it, right after `cursor`."""
    if stored.error is not None:
        content: Deliver | DeliverError = stored.error
    else:
        mine = tuple(e.envelope for e in stored.envelopes if number in e.member_numbers)
        message_id = stored.message_id if number == stored.sender_number else None
        content = Deliver(sender, message_id, Batch(mine))
    return SequencedEvent(
        domain_id, member, cursor.counter + 1, stored.timestamp_us, cursor.timestamp_us, content
    )


def advance(cursor: StreamCursor, event: SequencedEvent) -> StreamCursor:
    return StreamCursor(event.counter, event.timestamp_us)
