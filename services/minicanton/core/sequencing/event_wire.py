"""A member's sequenced events read from their wire bytes, compiled (the receive path).

Theory of operation. Every event a member receives is a serialized SignedSequencedEvent
(proto minicanton.sequencer.v1), and the codec's protobuf path (codec/sequencer.py,
`signed_event_from_proto` of the parsed message) defines what such bytes mean. Building the
event through protobuf objects costs every member some 10 µs of interpreted calls per event;
this module reads the same bytes straight into the core's types, compiled, when they are in
the form every sequencer writes (protobuf's own serialization, or the codec's splicing of
exactly that form): each known field at most once, in field-number order, with its declared
wire type; no unknown field; text in ASCII; integers that are not negative; signature
purposes and recipient groups the codec knows; a proof of at most `MAX_PROOF_STEPS` steps;
the event non-empty and a deliver or a deliver-error. In that form protobuf's reading is
unambiguous (nothing merges, repeats, defaults differently or is dropped), so the result is
field for field what the protobuf path gives.

Anything else gives None: an unknown field (a newer sequencer), a field repeated or out of
order, a varint of ten bytes, text outside ASCII, anything the protobuf path refuses. The
caller then parses with protobuf, which decides: the same event or `MalformedRequest`. So
protobuf stays the one definition and this is only a shorter way to its answer for the
bytes that actually arrive; property tests hold the two equal on generated and corrupted
bytes (tests/unit/sequencing/test_event_wire.py).

The event is read from the bytes of field 1, which the result carries as `event_bytes`: the
bytes that are hashed and verified are the bytes that were parsed.
"""

from __future__ import annotations

from typing import Final

from minicanton.core.crypto.signing import Signature
from minicanton.core.hashing import HashPurpose
from minicanton.core.ids import Fingerprint, MemberId
from minicanton.core.sequencing.batch import (
    Batch,
    Envelope,
    GroupRecipient,
    MemberRecipient,
    Recipient,
    RecipientGroup,
)
from minicanton.core.sequencing.errors import MalformedRequest
from minicanton.core.sequencing.events import (
    Deliver,
    DeliverError,
    SequencedEvent,
    SignedSequencedEvent,
)
from minicanton.core.sequencing.run_signature import (
    MAX_PROOF_STEPS,
    ProofStep,
    proof_step,
)

# A field's tag byte: field number << 3 | wire type (0 varint, 2 length-delimited); every
# field read here has a number under 16, so its canonical tag is this one byte.
_F1_LEN: Final = 0x0A
_F2_LEN: Final = 0x12
_F3_LEN: Final = 0x1A
_F6_LEN: Final = 0x32
_F7_LEN: Final = 0x3A
_F2_VARINT: Final = 0x10
_F3_VARINT: Final = 0x18
_F4_VARINT: Final = 0x20
_F5_VARINT: Final = 0x28

# proto RecipientGroup's numbers (the codec's `_GROUP_TO_PB`; a test holds them equal)
_GROUPS: Final = {1: RecipientGroup.ALL_MEMBERS, 2: RecipientGroup.ALL_PARTICIPANTS,
                  3: RecipientGroup.MEDIATOR_GROUP}
_GROUP_RECIPIENTS: Final = {number: GroupRecipient(group) for number, group in _GROUPS.items()}
_PURPOSES: Final = {int(purpose): purpose for purpose in HashPurpose}


class _NotCanonical(ValueError):
    """The bytes are outside the form read here: the caller asks protobuf."""


def decode_signed_event(raw: bytes) -> SignedSequencedEvent | None:
    """The event `raw` (a serialized SignedSequencedEvent) holds, exactly as the codec's
    protobuf path reads it; None where that path must decide (module docstring)."""
    try:
        return _signed_event(raw)
    except ValueError:  # _NotCanonical, or text outside ASCII
        return None


def unpack_items(raw: bytes) -> list[bytes]:
    """The elements of field 1 (repeated message) of `raw`, each as its own bytes (a
    SignedSequencedEventBatch's events, a packed send's requests); anything else in `raw` is
    a `MalformedRequest`. What the codec's `unpacked_messages` did interpreted, to the byte
    and to the error."""
    items: list[bytes] = []
    position = 0
    end = len(raw)
    while position < end:
        if raw[position] != _F1_LEN:
            raise MalformedRequest("a packed message holds something other than its items")
        length, position = _packed_length(raw, position + 1, end)
        stop = position + length
        if stop > end:
            raise MalformedRequest("a packed message is cut short")
        items.append(raw[position:stop])
        position = stop
    return items


def _packed_length(raw: bytes, position: int, end: int) -> tuple[int, int]:
    value = 0
    shift = 0
    while position < end and shift < 64:
        byte = raw[position]
        value |= (byte & 0x7F) << shift
        position += 1
        if byte < 0x80:
            return value, position
        shift += 7
    raise MalformedRequest("a packed message has a bad length")


def _signed_event(raw: bytes) -> SignedSequencedEvent:
    end = len(raw)
    if end == 0 or raw[0] != _F1_LEN:
        raise _NotCanonical
    start, position = _length(raw, 1, end)
    if position == start:  # no event: the protobuf path's error
        raise _NotCanonical
    event_raw = raw[start:position]
    if position >= end or raw[position] != _F2_LEN:
        raise _NotCanonical
    start, position = _length(raw, position + 1, end)
    signature = _signature(raw, start, position)
    steps: list[ProofStep] = []
    while position < end:
        if raw[position] != _F3_LEN or len(steps) == MAX_PROOF_STEPS:
            raise _NotCanonical
        start, position = _length(raw, position + 1, end)
        steps.append(_proof_step(raw, start, position))
    event = _event(event_raw, 0, len(event_raw))
    return SignedSequencedEvent(event, event_raw, signature, tuple(steps))


def _signature(raw: bytes, position: int, end: int) -> Signature:
    signed_by = ""
    purpose_number = 0
    signature_raw = b""
    if position < end and raw[position] == _F1_LEN:
        start, position = _length(raw, position + 1, end)
        signed_by = _text(raw, start, position)
    if position < end and raw[position] == _F2_VARINT:
        purpose_number, position = _varint(raw, position + 1, end)
    if position < end and raw[position] == _F3_LEN:
        start, position = _length(raw, position + 1, end)
        signature_raw = raw[start:position]
    purpose = _PURPOSES.get(purpose_number)
    if position != end or purpose is None:
        raise _NotCanonical
    return Signature(Fingerprint(signed_by), purpose, signature_raw)


def _proof_step(raw: bytes, position: int, end: int) -> ProofStep:
    sibling = b""
    sibling_is_left = 0
    if position < end and raw[position] == _F1_LEN:
        start, position = _length(raw, position + 1, end)
        sibling = raw[start:position]
    if position < end and raw[position] == _F2_VARINT:
        sibling_is_left, position = _varint(raw, position + 1, end)
    if position != end or sibling_is_left > 1:
        raise _NotCanonical
    return proof_step(sibling, sibling_is_left == 1)


def _event(raw: bytes, position: int, end: int) -> SequencedEvent:
    domain_id = member = ""
    counter = timestamp_us = previous_us = 0
    if position < end and raw[position] == _F1_LEN:
        start, position = _length(raw, position + 1, end)
        domain_id = _text(raw, start, position)
    if position < end and raw[position] == _F2_LEN:
        start, position = _length(raw, position + 1, end)
        member = _text(raw, start, position)
    if position < end and raw[position] == _F3_VARINT:
        counter, position = _varint(raw, position + 1, end)
    if position < end and raw[position] == _F4_VARINT:
        timestamp_us, position = _varint(raw, position + 1, end)
    if position < end and raw[position] == _F5_VARINT:
        previous_us, position = _varint(raw, position + 1, end)
    if position >= end:
        raise _NotCanonical  # neither deliver nor deliver-error: the protobuf path's error
    tag = raw[position]
    start, position = _length(raw, position + 1, end)
    if position != end:
        raise _NotCanonical
    content: Deliver | DeliverError
    if tag == _F6_LEN:
        content = _deliver(raw, start, end)
    elif tag == _F7_LEN:
        content = _deliver_error(raw, start, end)
    else:
        raise _NotCanonical
    return SequencedEvent(domain_id, MemberId(member), counter, timestamp_us,
                          previous_us if counter > 0 else None, content)


def _deliver(raw: bytes, position: int, end: int) -> Deliver:
    sender = message_id = ""
    if position < end and raw[position] == _F1_LEN:
        start, position = _length(raw, position + 1, end)
        sender = _text(raw, start, position)
    if position < end and raw[position] == _F2_LEN:
        start, position = _length(raw, position + 1, end)
        message_id = _text(raw, start, position)
    envelopes: tuple[Envelope, ...] = ()
    if position < end and raw[position] == _F3_LEN:
        start, position = _length(raw, position + 1, end)
        envelopes = _envelopes(raw, start, position)
    if position != end:
        raise _NotCanonical
    return Deliver(MemberId(sender) if sender else None, message_id or None, Batch(envelopes))


def _deliver_error(raw: bytes, position: int, end: int) -> DeliverError:
    texts = ["", "", ""]  # message id, error id, reason: fields 1 to 3
    for index, tag in enumerate((_F1_LEN, _F2_LEN, _F3_LEN)):
        if position < end and raw[position] == tag:
            start, position = _length(raw, position + 1, end)
            texts[index] = _text(raw, start, position)
    if position != end:
        raise _NotCanonical
    return DeliverError(texts[0], texts[1], texts[2])


def _envelopes(raw: bytes, position: int, end: int) -> tuple[Envelope, ...]:
    """A Batch's field 1, repeated: its envelopes."""
    envelopes: list[Envelope] = []
    while position < end:
        if raw[position] != _F1_LEN:
            raise _NotCanonical
        start, position = _length(raw, position + 1, end)
        envelopes.append(_envelope(raw, start, position))
    return tuple(envelopes)


def _envelope(raw: bytes, position: int, end: int) -> Envelope:
    recipients: list[Recipient] = []
    while position < end and raw[position] == _F1_LEN:
        start, position = _length(raw, position + 1, end)
        recipients.append(_recipient(raw, start, position))
    content = b""
    if position < end and raw[position] == _F2_LEN:
        start, position = _length(raw, position + 1, end)
        content = raw[start:position]
    if position != end:
        raise _NotCanonical
    return Envelope(tuple(recipients), content)


def _recipient(raw: bytes, position: int, end: int) -> Recipient:
    """Exactly one field of the oneof: a member or a known group."""
    if position < end and raw[position] == _F1_LEN:
        start, stop = _length(raw, position + 1, end)
        if stop == end:
            return MemberRecipient(MemberId(_text(raw, start, stop)))
    elif position < end and raw[position] == _F2_VARINT:
        number, stop = _varint(raw, position + 1, end)
        group = _GROUP_RECIPIENTS.get(number)
        if stop == end and group is not None:
            return group
    raise _NotCanonical


def _length(raw: bytes, position: int, end: int) -> tuple[int, int]:
    """A length-delimited field's contents from `position` (just after its tag): where they
    start and end."""
    length, start = _varint(raw, position, end)
    stop = start + length
    if stop > end:
        raise _NotCanonical
    return start, stop


def _varint(raw: bytes, position: int, end: int) -> tuple[int, int]:
    """A varint of at most nine bytes (below 2**63: never a negative int64) and the
    position after it."""
    if position < end:
        byte = raw[position]
        if byte < 0x80:  # most tags' values and lengths: one byte
            return byte, position + 1
    value = 0
    shift = 0
    while position < end and shift < 63:
        byte = raw[position]
        value |= (byte & 0x7F) << shift
        position += 1
        if byte < 0x80:
            return value, position
        shift += 7
    raise _NotCanonical


def _text(raw: bytes, start: int, stop: int) -> str:
    """An ASCII string field (`UnicodeDecodeError`, a ValueError, outside ASCII)."""
    return raw[start:stop].decode("ascii")
