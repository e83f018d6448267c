"""Events as the sequencer stores them, and their projection onto one member's stream.

The store keeps one row per timestamp with the whole batch, each envelope tagged with the
member numbers it resolved to when it was sequenced. In the sequencer process an envelope
travels as its serialized bytes (`StoredEnvelope.envelope` is `bytes`): the canonical encoding
of the envelope the submission carried, checked when it was admitted, stored as it is and
spliced as it is into every member's delivery, so nothing rebuilds or re-encodes it. The core's
own machines (the simulation) keep `Envelope` objects; both project by the same rules.
Projection keeps only the envelopes the reading member is a recipient of, so a member's
delivered bytes never carry an envelope addressed only to others, nor the recipients of such an
envelope.

Projection also decides whether the reader learns the sender (`sender_visible`). Seed 003
asks for sender privacy: "the recipients do not learn the identity of the submitting
participant", and Canton's `Deliver` carries no sender. So a participant reading another
participant's batch gets no sender. The sender is shown only where it is no secret or is
needed: in the sender's own copy (its receipt); when the sender is a domain entity (mediator,
topology manager, sequencer: a verdict or topology broadcast says who it is from anyway); and
to a domain entity reader (the mediator needs the authenticated sender of a request to know
who gets the full verdict, and of a response). The sequencer signs each member's projection,
so a reader's event hash is over exactly the bytes it was delivered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from minicanton.core.errors import InvalidArgument
from minicanton.core.ids import MemberId, MemberKind, parse_member_id
from minicanton.core.sequencing.batch import Batch, Envelope
from minicanton.core.sequencing.events import Deliver, DeliverError, SequencedEvent


@dataclass(frozen=True, slots=True)
class StoredEnvelope:
    """`envelope`: the envelope, or its serialized bytes (`codec.sequencer.envelope_bytes` of
    the envelope they encode, exactly), as the sequencer's shell keeps it."""

    member_numbers: frozenset[int]
    envelope: Envelope | bytes

    def __init__(self, member_numbers: frozenset[int], envelope: Envelope | bytes) -> None:
        object.__setattr__(self, "member_numbers", member_numbers)
        object.__setattr__(self, "envelope", envelope)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    timestamp_us: int
    node_index: int
    sender_number: int
    message_id: str
    envelopes: tuple[StoredEnvelope, ...]
    error: DeliverError | None = None

    def __init__(
        self,
        timestamp_us: int,
        node_index: int,
        sender_number: int,
        message_id: str,
        envelopes: tuple[StoredEnvelope, ...],
        error: DeliverError | None = None,
    ) -> None:
        object.__setattr__(self, "timestamp_us", timestamp_us)
        object.__setattr__(self, "node_index", node_index)
        object.__setattr__(self, "sender_number", sender_number)
        object.__setattr__(self, "message_id", message_id)
        object.__setattr__(self, "envelopes", envelopes)
        object.__setattr__(self, "error", error)

    @property
    def recipient_numbers(self) -> frozenset[int]:
        """Who reads this event: every envelope recipient, and the sender (its receipt)."""
        numbers: set[int] = {self.sender_number}
        if self.error is None:
            for stored in self.envelopes:
                numbers |= stored.member_numbers
        return frozenset(numbers)

    def is_for(self, number: int) -> bool:
        if number == self.sender_number:
            return True
        if self.error is not None:
            return False
        return any(number in stored.member_numbers for stored in self.envelopes)


@dataclass(frozen=True, slots=True)
class StreamCursor:
    """Where one member's stream stands: the last counter and timestamp delivered to it."""

    counter: int = -1
    timestamp_us: int | None = None

    def __init__(self, counter: int = -1, timestamp_us: int | None = None) -> None:
        object.__setattr__(self, "counter", counter)
        object.__setattr__(self, "timestamp_us", timestamp_us)


def _is_domain_entity(member: MemberId) -> bool:
    try:
        kind, _ = parse_member_id(member)
    except InvalidArgument:
        return False  # not a member id we know: treat it as a participant would be
    return kind is not MemberKind.PARTICIPANT


def sender_visible(reader: MemberId, sender: MemberId, reader_is_sender: bool) -> bool:
    """Whether `reader` may learn that `sender` sent a batch it reads (module docstring)."""
    return reader_is_sender or _is_domain_entity(sender) or _is_domain_entity(reader)


def with_serialized(envelopes: tuple[StoredEnvelope, ...],
                    serialized: Sequence[bytes]) -> tuple[StoredEnvelope, ...]:
    """`envelopes` with each envelope replaced by its serialized bytes (`serialized[i]` must
    encode `envelopes[i].envelope`: the codec's parse gives both from one message)."""
    if len(serialized) != len(envelopes):
        raise ValueError("one serialized envelope per envelope")
    return tuple([StoredEnvelope(stored.member_numbers, raw)
                  for stored, raw in zip(envelopes, serialized, strict=True)])


def deliver_header(stored: StoredEvent, member: MemberId, number: int,
                   sender: MemberId) -> tuple[MemberId | None, str | None]:
    """The sender and the message id that member `number`'s copy of `stored` names: the
    message id only in the sender's own copy (its receipt), the sender only where
    `sender_visible` allows."""
    own = number == stored.sender_number
    shown = sender if sender_visible(member, sender, own) else None
    return shown, stored.message_id if own else None


def envelope_indices(stored: StoredEvent, number: int) -> tuple[int, ...]:
    """Which of `stored`'s envelopes member `number` reads (its projection), in order."""
    return tuple(index for index, envelope in enumerate(stored.envelopes)
                 if number in envelope.member_numbers)


def project_event(
    stored: StoredEvent, domain_id: str, member: MemberId, number: int, sender: MemberId,
    cursor: StreamCursor, batch: Batch | None = None,
) -> SequencedEvent:
    """`stored` as member `number` reads it, right after `cursor`; `sender` is the member
    that sent it, named in the result only where `sender_visible` allows. `batch`: the
    member's envelopes (those at `envelope_indices`) where the caller built them already,
    to share one Batch between the members that read the same envelopes."""
    if stored.error is not None:
        content: Deliver | DeliverError = stored.error
    else:
        if batch is None:
            batch = Batch(tuple([_envelope(e) for e in stored.envelopes
                                 if number in e.member_numbers]))
        shown, message_id = deliver_header(stored, member, number, sender)
        content = Deliver(shown, message_id, batch)
    return SequencedEvent(
        domain_id, member, cursor.counter + 1, stored.timestamp_us, cursor.timestamp_us, content
    )


def _envelope(stored: StoredEnvelope) -> Envelope:
    if isinstance(stored.envelope, bytes):
        raise TypeError("a serialized envelope is delivered as it is (sequencer/delivery.py), "
                        "not projected into a Batch")
    return stored.envelope


def advance(cursor: StreamCursor, event: SequencedEvent) -> StreamCursor:
    return StreamCursor(event.counter, event.timestamp_us)
