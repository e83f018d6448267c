"""Envelopes travel through the sequencer as bytes: what those bytes are, and that the stored
payload keeps the previous release's format in both directions (rolling upgrade).

`parse_submission_envelopes` must give, for any request the sequencer accepts, exactly the
bytes the previous release delivered for each envelope (`envelope_bytes` of the envelope the
request decodes to), whatever liberties the sender's encoding took: unknown fields, fields out
of order or repeated, over-long varints.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_pb2 as pb
from minicanton.codec.sequencer import (
    _varint,
    decode_stored_batch,
    decode_stored_envelopes,
    encode_stored_envelopes,
    envelope_bytes,
    parse_submission,
    parse_submission_envelopes,
    signature_to_proto,
    submission_to_proto,
)
from minicanton.core.sequencing.batch import (
    Batch,
    Envelope,
    GroupRecipient,
    MemberRecipient,
    RecipientGroup,
    SubmissionRequest,
    sign_submission,
)
from minicanton.core.sequencing.errors import MalformedRequest
from minicanton.core.sequencing.stored import StoredEnvelope

from .helpers import ALICE, BOB, DOMAIN, KEYS, MEDIATOR
from .test_delivery_cache import previous_release_encoding

_GROUPS = {RecipientGroup.ALL_MEMBERS: 1, RecipientGroup.ALL_PARTICIPANTS: 2,
           RecipientGroup.MEDIATOR_GROUP: 3}


def _tag(number: int, wire_type: int) -> bytes:
    return _varint((number << 3) | wire_type)


def _length(value: int, padding: int) -> bytes:
    """A varint, over-long by `padding` bytes (parsers accept up to ten)."""
    raw = bytearray(_varint(value))
    if padding:
        raw[-1] |= 0x80
        raw += b"\x80" * (padding - 1) + b"\x00"
    return bytes(raw)


@st.composite
def _unknown(draw: st.DrawFn) -> bytes:
    number = draw(st.integers(3, 200))
    if draw(st.booleans()):
        return _tag(number, 0) + _varint(draw(st.integers(0, 2**40)))
    payload = draw(st.binary(max_size=8))
    return _tag(number, 2) + _varint(len(payload)) + payload


@st.composite
def _recipient_wire(draw: st.DrawFn) -> bytes:
    """A Recipient as a sender might encode it: maybe both kinds (the last one counts),
    maybe an unknown or out-of-range group, maybe unknown fields."""
    fields = []
    for _ in range(draw(st.integers(1, 2))):
        if draw(st.booleans()):
            member = draw(st.sampled_from([ALICE, BOB, MEDIATOR, ""])).encode()
            fields.append(_tag(1, 2) + _length(len(member), draw(st.integers(0, 2))) + member)
        else:
            group = draw(st.sampled_from([0, 1, 2, 3, 7]))
            fields.append(_tag(2, 0) + _length(group, draw(st.integers(0, 2))))
    fields += draw(st.lists(_unknown(), max_size=2))
    return b"".join(draw(st.permutations(fields)))


@st.composite
def _envelope_wire(draw: st.DrawFn) -> bytes:
    fields = [_tag(1, 2) + _varint(len(raw)) + raw
              for raw in draw(st.lists(_recipient_wire(), min_size=1, max_size=3))]
    for content in draw(st.lists(st.binary(max_size=40), min_size=0, max_size=2)):
        fields.append(_tag(2, 2) + _length(len(content), draw(st.integers(0, 1))) + content)
    fields += draw(st.lists(_unknown(), max_size=2))
    # recipients keep their order among themselves: that order is the envelope's
    recipients = [f for f in fields if f.startswith(_tag(1, 2))]
    others = draw(st.permutations([f for f in fields if not f.startswith(_tag(1, 2))]))
    cut = draw(st.integers(0, len(others)))
    return b"".join(others[:cut] + recipients + others[cut:])


def _signed_wire(envelopes: list[bytes], tail: bytes) -> bytes:
    request = pb.SubmissionRequest(domain_id=DOMAIN, sender=ALICE, message_id="m",
                                   max_sequencing_time_us=5).SerializeToString()
    batch = b"".join(_tag(1, 2) + _varint(len(e)) + e for e in envelopes)
    request += _tag(5, 2) + _varint(len(batch)) + batch + tail
    signature = sign_submission(SubmissionRequest(DOMAIN, ALICE, "m", 5, Batch()),
                                KEYS[ALICE]).signature
    signature_raw = signature_to_proto(signature).SerializeToString()
    return (_tag(1, 2) + _varint(len(request)) + request
            + _tag(2, 2) + _varint(len(signature_raw)) + signature_raw)


@settings(max_examples=200, deadline=None)
@given(st.lists(_envelope_wire(), max_size=3), st.lists(_unknown(), max_size=2))
def test_an_accepted_envelope_travels_as_the_bytes_the_previous_release_sent(
        envelopes: list[bytes], tail: list[bytes]) -> None:
    raw = _signed_wire(envelopes, b"".join(tail))
    try:
        expected = parse_submission(raw)
    except MalformedRequest:
        with pytest.raises(MalformedRequest):
            parse_submission_envelopes(raw)
        return
    signed, serialized = parse_submission_envelopes(raw)
    assert signed == expected
    assert serialized == tuple(envelope_bytes(e) for e in expected.request.batch.envelopes)


def test_a_plain_request_travels_as_it_was_encoded() -> None:
    batch = Batch((Envelope((MemberRecipient(BOB), GroupRecipient(RecipientGroup.ALL_MEMBERS)),
                            b"view"), Envelope((MemberRecipient(MEDIATOR),), b"")))
    signed = sign_submission(SubmissionRequest(DOMAIN, ALICE, "m", 5, batch), KEYS[ALICE])
    raw = submission_to_proto(signed).SerializeToString()
    assert parse_submission_envelopes(raw) == (
        signed, tuple(envelope_bytes(e) for e in batch.envelopes))
    with pytest.raises(MalformedRequest):
        parse_submission_envelopes(b"\xff\xff")


_member_recipient = st.sampled_from([MemberRecipient(m) for m in (ALICE, BOB, MEDIATOR)])
_envelope = st.builds(
    Envelope, st.lists(_member_recipient | st.builds(GroupRecipient, st.sampled_from(
        list(RecipientGroup))), max_size=3).map(tuple), st.binary(max_size=300))
_numbers = st.frozensets(st.integers(-2**31, 2**31 - 1) | st.integers(0, 300), max_size=5)
_stored = st.lists(st.builds(StoredEnvelope, _numbers, _envelope), max_size=4).map(tuple)


@settings(max_examples=200, deadline=None)
@given(_stored)
def test_the_stored_payload_is_the_previous_release_format_both_ways(
        stored: tuple[StoredEnvelope, ...]) -> None:
    as_bytes = tuple(StoredEnvelope(e.member_numbers, envelope_bytes(e.envelope))  # type: ignore
                     for e in stored)
    before = previous_release_encoding(stored)
    # this release writes exactly what the previous one wrote, from objects or bytes ...
    assert encode_stored_envelopes(stored) == before
    assert encode_stored_envelopes(as_bytes) == before
    # ... so an instance of the previous release reads it (rolling upgrade) ...
    assert decode_stored_envelopes(encode_stored_envelopes(as_bytes)) == stored
    # ... and this release reads what the previous one stored, as the envelopes' bytes
    assert decode_stored_batch(before) == as_bytes


@settings(max_examples=100, deadline=None)
@given(_stored, st.lists(_unknown(), max_size=2), st.booleans())
def test_a_payload_in_another_valid_encoding_reads_the_same(
        stored: tuple[StoredEnvelope, ...], unknown: list[bytes], unpacked: bool) -> None:
    """Not what any release writes, but valid protobuf: the slow path parses it."""
    items = []
    for e in stored:
        numbers = sorted(e.member_numbers)
        number_fields = (b"".join(_tag(1, 0) + _varint(n & (2**64 - 1)) for n in numbers)
                         if unpacked else b"")
        envelope = envelope_bytes(e.envelope)  # type: ignore[arg-type]
        item = _tag(2, 2) + _varint(len(envelope)) + envelope + number_fields + b"".join(unknown)
        if not unpacked and numbers:
            packed = b"".join(_varint(n & (2**64 - 1)) for n in numbers)
            item += _tag(1, 2) + _varint(len(packed)) + packed
        items.append(_tag(1, 2) + _varint(len(item)) + item)
    assert decode_stored_batch(b"".join(items)) == decode_stored_batch(
        previous_release_encoding(stored))


def test_a_corrupt_payload_is_a_typed_error() -> None:
    for raw in (b"\x0a\x05\x12\x09ab", b"\x0a\xff", b"\xff\xff\xff"):
        with pytest.raises(MalformedRequest):
            decode_stored_batch(raw)
