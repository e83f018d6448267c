"""The compiled reading of sequenced events (core/sequencing/event_wire.py) against protobuf.

`parse_signed_event` reads the bytes sequencers write with `decode_signed_event` and leaves
everything else to the protobuf path (`signed_event_from_proto` of the parsed message), which
defines what the bytes mean. These tests hold the two to the same answer: the same
`SignedSequencedEvent` (field for field, `==`) or `MalformedRequest`, for events as sequencers
of this and the previous release write them, for protobuf encodings no sequencer writes
(fields out of order, repeated, unknown, explicit defaults, long varints, wrong wire types,
text outside ASCII) and for corrupted bytes; and they check that the bytes sequencers write do
take the compiled reading.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicanton.codec.sequencer import (
    _GROUP_FROM_PB,
    _proof_from_proto,
    _read_varint,
    batch_bytes,
    batch_from_proto,
    deliver_event_bytes,
    envelope_from_proto,
    event_bytes,
    event_from_proto,
    packed_messages,
    parse_message,
    parse_signed_event,
    pb,
    recipient_from_proto,
    sign_event_bytes,
    sign_events,
    signature_from_proto,
    signed_event_from_proto,
    signed_event_to_proto,
    signed_run_bytes,
    unpacked_messages,
)
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.ids import MemberId
from minicanton.core.sequencing import event_wire
from minicanton.core.sequencing.batch import (
    Batch,
    Envelope,
    GroupRecipient,
    MemberRecipient,
    RecipientGroup,
)
from minicanton.core.sequencing.errors import MalformedRequest
from minicanton.core.sequencing.event_wire import decode_signed_event
from minicanton.core.sequencing.events import (
    Deliver,
    DeliverError,
    SequencedEvent,
    SignedSequencedEvent,
)

from .test_event_bytes import STORED_BEFORE

SEQUENCER = SigningKeyPair.from_private(bytes([7]) * 32)
INT64 = st.integers(-(2**63), 2**63 - 1)


def _protobuf_path(raw: bytes) -> SignedSequencedEvent:
    """The definition: protobuf's parse, then the codec's conversion."""
    return signed_event_from_proto(parse_message(pb.SignedSequencedEvent, raw))


def _outcome(read: Any, raw: bytes) -> object:
    try:
        return read(raw)
    except MalformedRequest:
        return MalformedRequest


def _same_answer(raw: bytes) -> object:
    """Both readings' answer, asserted equal; the compiled one may only decline (None)."""
    expected = _outcome(_protobuf_path, raw)
    fast = decode_signed_event(raw)
    if fast is not None:
        assert fast == expected, raw.hex()
    assert _outcome(parse_signed_event, raw) == expected, raw.hex()
    return expected


# -- events as sequencers write them -------------------------------------------------------

texts = st.text(st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=12)
any_texts = st.one_of(texts, st.text(max_size=6))  # sometimes outside ASCII: protobuf decides
recipients = st.one_of(
    st.builds(MemberRecipient, any_texts.map(MemberId)),
    st.builds(GroupRecipient, st.sampled_from(list(RecipientGroup))))
envelopes = st.builds(Envelope, st.lists(recipients, max_size=4).map(tuple),
                      st.binary(max_size=40))
contents = st.one_of(
    st.builds(Deliver, st.none() | any_texts.filter(bool).map(MemberId),
              st.none() | any_texts.filter(bool),
              st.builds(Batch, st.lists(envelopes, max_size=3).map(tuple))),
    st.builds(DeliverError, any_texts, any_texts, any_texts))


@st.composite
def runs(draw: st.DrawFn) -> list[SequencedEvent]:
    count = draw(st.integers(1, 6))
    domain, member = draw(any_texts), MemberId(draw(any_texts))
    counter = draw(st.integers(-3, 2**63 - 8))
    out = []
    for offset in range(count):
        previous = draw(INT64) if counter + offset > 0 else None
        out.append(SequencedEvent(domain, member, counter + offset, draw(INT64), previous,
                                  draw(contents)))
    return out


@settings(max_examples=150, deadline=None)
@given(run=runs())
def test_events_as_sequencers_write_them_read_the_same_both_ways(run) -> None:
    """Through `signed_run_bytes` (what a sequencer serves) and protobuf's own serializer
    (what the previous release served): equal results, compiled where all text is ASCII and
    every integer fits (then it must not decline)."""
    signed = sign_events(run, SEQUENCER)
    for one, raw in zip(signed, signed_run_bytes(signed), strict=True):
        for wire in (raw, signed_event_to_proto(one).SerializeToString()):
            assert _same_answer(wire) == one
            if _plain(one.event):
                assert decode_signed_event(wire) == one


def _plain(event: SequencedEvent) -> bool:
    content = event.content
    texts = [event.domain_id, event.member]
    if isinstance(content, DeliverError):
        texts += [content.message_id, content.error_id, content.reason]
    else:
        texts += [content.sender or "", content.message_id or ""]
        texts += [r.member for e in content.batch.envelopes for r in e.recipients
                  if isinstance(r, MemberRecipient)]
    numbers = [event.counter, event.timestamp_us, event.previous_timestamp_us or 0]
    return all(t.isascii() for t in texts) and all(n >= 0 for n in numbers)


def test_the_bytes_a_sequencer_delivers_take_the_compiled_reading() -> None:
    """(a)'s shapes, as `sequencer.delivery` makes them (`deliver_event_bytes`, then
    `sign_event_bytes`), and an event stored by the release before last."""
    member = MemberId("PAR::bank::1220" + "ab" * 32)
    envelope = pb.Envelope(recipients=[pb.Recipient(member=member),
                                       pb.Recipient(group=pb.MEDIATOR_GROUP)],
                           content=b"x" * 3_000).SerializeToString()
    small = pb.Envelope(recipients=[pb.Recipient(group=pb.ALL_MEMBERS)]).SerializeToString()
    batch = batch_bytes([envelope, small])
    encoded = [deliver_event_bytes("da::1220", member, counter, 10 + counter,
                                   9 + counter if counter else None, None,
                                   "m" if counter % 2 else None, batch)
               for counter in range(5)]
    for raw in [*sign_event_bytes(encoded, SEQUENCER), *sign_event_bytes(encoded[:1], SEQUENCER),
                STORED_BEFORE]:
        decoded = decode_signed_event(raw)
        assert decoded is not None
        assert decoded == _protobuf_path(raw)
    assert decode_signed_event(STORED_BEFORE).event_bytes == event_bytes(  # type: ignore[union-attr]
        _protobuf_path(STORED_BEFORE).event)


def test_the_recipient_groups_are_the_protos() -> None:
    assert {n: g.group for n, g in event_wire._GROUP_RECIPIENTS.items()} == {
        int(n): g for n, g in _GROUP_FROM_PB.items()}


# -- any protobuf encoding of the schema --------------------------------------------------
# A field is (number, wire type, payload); messages are written field by field in an order
# the test draws, so the reading must agree with protobuf on every liberty the wire allows.

SCHEMA: dict[str, dict[int, str]] = {
    "SignedSequencedEvent": {1: "SequencedEvent", 2: "Signature", 3: "RunProofStep"},
    "Signature": {1: "string", 2: "purpose", 3: "bytes"},
    "RunProofStep": {1: "bytes", 2: "bool"},
    "SequencedEvent": {1: "string", 2: "string", 3: "int", 4: "int", 5: "int",
                       6: "Deliver", 7: "DeliverError"},
    "Deliver": {1: "string", 2: "string", 3: "Batch"},
    "DeliverError": {1: "string", 2: "string", 3: "string"},
    "Batch": {1: "Envelope"},
    "Envelope": {1: "Recipient", 2: "bytes"},
    "Recipient": {1: "string", 2: "group"},
}
ONEOFS = {"SequencedEvent": (6, 7), "Recipient": (1, 2)}  # each its message's last fields
REPEATED = {("SignedSequencedEvent", 3), ("Batch", 1), ("Envelope", 1)}
VARINTS = {"int", "purpose", "group", "bool"}
ASCII = [chr(n) for n in range(0x80)]


def _varint(value: int, extra: int = 0) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    for _ in range(extra):  # a longer encoding of the same value
        out[-1] |= 0x80
        out.append(0)
    return bytes(out)


class _Encoder:
    """Writes a message of SCHEMA as serializers do (each field once, in field-number order),
    taking each liberty the wire allows with probability `rate`: a field left out or
    repeated, both or neither field of a oneof, an unknown field (or a known one of another
    wire type, or a group), the fields in any order, long varints, text outside ASCII or not
    UTF-8, integers out of range."""

    def __init__(self, rnd: random.Random, rate: float, forced: frozenset[int] = frozenset(),
                 only: str | None = None) -> None:
        self.rnd, self.rate = rnd, rate
        self.forced, self.decisions = forced, 0  # the decisions that take a liberty anyway
        self.only, self.writing = only, ""  # liberties only in messages named `only`

    def odd(self) -> bool:
        if self.only is not None and self.writing != self.only:
            return False
        self.decisions += 1
        return self.decisions in self.forced or self.rnd.random() < self.rate

    def message(self, name: str, depth: int = 0) -> bytes:
        outer, self.writing = self.writing, name
        try:
            return self._message(name, depth)
        finally:
            self.writing = outer

    def _message(self, name: str, depth: int) -> bytes:
        fields: list[tuple[int, bytes]] = []
        oneof = ONEOFS.get(name, ())
        for number in SCHEMA[name]:
            if number in oneof:
                continue
            if (name, number) in REPEATED:
                count = self.rnd.randint(0, 3)
            else:
                count = self.rnd.choice([0, 2]) if self.odd() else 1
            fields += [self.tagged(name, number, depth) for _ in range(count)]
        if oneof:  # one of them, last; or neither, both (in either order), one twice
            first, second = self.rnd.sample(oneof, 2)
            chosen = self.rnd.choice([(), (first, second), (first, first)]) if self.odd() \
                else (first,)
            fields += [self.tagged(name, number, depth) for number in chosen]
        if self.odd():
            fields.insert(self.rnd.randint(0, len(fields)), self.unknown())
        if self.odd():
            self.rnd.shuffle(fields)
        return b"".join(_varint(tag) + payload for tag, payload in fields)

    def tagged(self, name: str, number: int, depth: int) -> tuple[int, bytes]:
        kind = SCHEMA[name][number]
        return number << 3 | (0 if kind in VARINTS else 2), self.field(kind, depth)

    def unknown(self) -> tuple[int, bytes]:
        """A field of a number or wire type the schema does not have there."""
        number, wire_type = self.rnd.randint(1, 20), self.rnd.choice([0, 1, 2, 3, 5])
        payload = {0: _varint(self.rnd.randint(0, 300)), 1: bytes(8), 5: bytes(4),
                   2: _varint(2) + b"ab", 3: _varint(number << 3 | 4)}[wire_type]
        return number << 3 | wire_type, payload

    def field(self, kind: str, depth: int) -> bytes:
        """A field's payload as written after its tag (length-delimited: with its length)."""
        if kind in VARINTS:
            return _varint(self.number(kind), self.rnd.choice([1, 4]) if self.odd() else 0)
        if kind in SCHEMA:
            body = self.message(kind, depth + 1) if depth < 6 else b""
        elif kind == "string" and self.odd():
            body = self.rnd.choice([chr(self.rnd.randint(0x80, 0x10FFFF)).encode(
                "utf-8", "surrogatepass"), self.rnd.randbytes(3)])
        elif kind == "string":
            body = "".join(self.rnd.choices(ASCII, k=self.rnd.randint(0, 12))).encode()
        else:
            body = self.rnd.randbytes(self.rnd.randint(0, 8))
        return _varint(len(body)) + body

    def number(self, kind: str) -> int:
        if self.odd():
            return self.rnd.choice([-1, -(2**63), 2**63, 2**64 - 1, 2**32 + 7, 24, 5])
        return {"int": self.rnd.randint(0, 2**40), "purpose": self.rnd.randint(1, 22),
                "group": self.rnd.randint(1, 3), "bool": self.rnd.randint(0, 1)}[kind]


@settings(max_examples=200, deadline=None)
@given(rnd=st.randoms(use_true_random=True), rate=st.sampled_from([0.0, 0.01, 0.03, 0.1]))
def test_any_encoding_reads_the_same_both_ways(rnd, rate) -> None:
    _same_answer(_Encoder(rnd, rate).message("SignedSequencedEvent"))


@settings(max_examples=200, deadline=None)
@given(rnd=st.randoms(use_true_random=True), only=st.sampled_from(sorted(SCHEMA)),
       rate=st.sampled_from([0.1, 0.3]))
def test_liberties_in_one_kind_of_message_read_the_same_both_ways(rnd, only, rate) -> None:
    """Liberties taken often, but only in the messages of one type, the rest as written by
    a serializer: each message's own reading checked where it matters."""
    _same_answer(_Encoder(rnd, rate, only=only).message("SignedSequencedEvent"))


# Each message type's own reading against the codec's conversion of protobuf's parse.
PIECES: dict[str, tuple[Any, Any]] = {
    "Recipient": (event_wire._recipient, lambda raw: recipient_from_proto(
        parse_message(pb.Recipient, raw))),
    "Envelope": (event_wire._envelope, lambda raw: envelope_from_proto(
        parse_message(pb.Envelope, raw))),
    "Batch": (event_wire._envelopes, lambda raw: batch_from_proto(
        parse_message(pb.Batch, raw)).envelopes),
    "SequencedEvent": (event_wire._event, lambda raw: event_from_proto(
        parse_message(pb.SequencedEvent, raw))),
    "Signature": (event_wire._signature, lambda raw: signature_from_proto(
        parse_message(pb.Signature, raw))),
    "RunProofStep": (event_wire._proof_step, lambda raw: _proof_from_proto(
        [parse_message(pb.RunProofStep, raw)])[0]),
}


@settings(max_examples=300, deadline=None)
@given(rnd=st.randoms(use_true_random=True), name=st.sampled_from(sorted(PIECES)),
       rate=st.sampled_from([0.0, 0.1, 0.3, 0.6]))
def test_each_message_reads_the_same_both_ways(rnd, name, rate) -> None:
    raw = _Encoder(rnd, rate, only=name).message(name)
    fast, protobuf = PIECES[name]
    expected = _outcome(protobuf, raw)
    try:
        got = fast(raw, 0, len(raw))
    except ValueError:  # declined: the protobuf path decides
        return
    assert got == expected, raw.hex()


@settings(max_examples=200, deadline=None)
@given(rnd=st.randoms(use_true_random=True),
       forced=st.frozensets(st.integers(1, 60), min_size=1, max_size=2))
def test_one_or_two_liberties_read_the_same_both_ways(rnd, forced) -> None:
    """Bytes as a serializer writes them but for one or two liberties: where a reading that
    took a liberty for the usual form would differ from protobuf's."""
    _same_answer(_Encoder(rnd, 0.0, forced).message("SignedSequencedEvent"))


# -- corrupted bytes ----------------------------------------------------------------------

def _delivered() -> list[bytes]:
    member = MemberId("PAR::alice::1220" + "cd" * 32)
    recipients = (MemberRecipient(member), GroupRecipient(RecipientGroup.ALL_MEMBERS))
    events = [SequencedEvent("da::1220", member, n, 100 + n, 99 + n if n else None,
                             Deliver(MemberId("MED::m::1220") if n % 2 else None,
                                     f"m{n}" if n % 3 == 0 else None,
                                     Batch((Envelope(recipients, b"view %d" % n),
                                            Envelope(recipients[:1], b"")))))
              for n in range(4)]
    events.append(SequencedEvent("da::1220", member, 4, 200, 103,
                                 DeliverError("m4", "SEQUENCER_X", "why")))
    return signed_run_bytes(sign_events(events, SEQUENCER))


DELIVERED = _delivered()


@settings(max_examples=200, deadline=None)
@given(index=st.integers(0, len(DELIVERED) - 1), edits=st.lists(st.tuples(
    st.sampled_from(["flip", "cut", "insert", "delete", "append"]), st.integers(0, 10**6),
    st.binary(min_size=1, max_size=4)), min_size=1, max_size=3))
def test_corrupted_bytes_read_the_same_both_ways(index, edits) -> None:
    raw = DELIVERED[index]
    for action, where, data in edits:
        at = where % (len(raw) + 1)
        if action == "flip" and at < len(raw):
            raw = raw[:at] + bytes([raw[at] ^ (data[0] or 1)]) + raw[at + 1:]
        elif action == "cut":
            raw = raw[:at]
        elif action == "insert":
            raw = raw[:at] + data + raw[at:]
        elif action == "delete":
            raw = raw[:at] + raw[at + len(data):]
        else:
            raw = raw + data
    _same_answer(raw)


@settings(max_examples=100, deadline=None)
@given(raw=st.binary(max_size=120))
def test_garbage_reads_the_same_both_ways(raw) -> None:
    _same_answer(raw)


def test_every_single_byte_flip_reads_the_same_both_ways() -> None:
    for raw in DELIVERED[:2]:
        for position in range(len(raw)):
            for mask in (0x01, 0x80, 0xFF):
                _same_answer(raw[:position] + bytes([raw[position] ^ mask])
                             + raw[position + 1:])


@pytest.mark.parametrize("raw", [b"", b"\x0a\x00", b"\x0a\x01\x00", b"\x12\x00",
                                 bytes(10), b"\x0a" + b"\xff" * 11])
def test_known_garbage_is_malformed_both_ways(raw) -> None:
    assert decode_signed_event(raw) is None
    assert _same_answer(raw) is MalformedRequest


def test_a_proof_longer_than_allowed_is_malformed_both_ways() -> None:
    signed = sign_events([SequencedEvent("d", MemberId("m"), 0, 1, None,
                                         DeliverError("a", "b", "c"))], SEQUENCER)[0]
    message = signed_event_to_proto(signed)
    for count in (32, 33):
        del message.run_proof[:]
        message.run_proof.extend([pb.RunProofStep(sibling=bytes(32))] * count)
        answer = _same_answer(message.SerializeToString())
        assert (answer is MalformedRequest) == (count == 33)


# -- packed runs --------------------------------------------------------------------------

def _unpacked_before(raw: bytes) -> list[bytes]:
    """The codec's `unpacked_messages` as it was before it called the compiled one."""
    items, position = [], 0
    while position < len(raw):
        if raw[position] != 0x0A:
            raise MalformedRequest("a packed message holds something other than its items")
        length, position = _read_varint(raw, position + 1)
        end = position + length
        if end > len(raw):
            raise MalformedRequest("a packed message is cut short")
        items.append(raw[position:end])
        position = end
    return items


def _unpack_outcome(read: Any, raw: bytes) -> object:
    try:
        return read(raw)
    except MalformedRequest as error:
        return error.message


@settings(max_examples=200, deadline=None)
@given(items=st.lists(st.binary(max_size=300), max_size=5),
       edits=st.lists(st.tuples(st.integers(0, 10**6), st.binary(max_size=3)), max_size=2))
def test_packed_runs_unpack_the_same_as_before(items, edits) -> None:
    raw = packed_messages(items)
    assert unpacked_messages(raw) == items
    for where, data in edits:  # then corrupted: the same items or the same error
        at = where % (len(raw) + 1)
        raw = raw[:at] + data + raw[at + 1:]  # a byte replaced by 0 to 3 others
        assert _unpack_outcome(unpacked_messages, raw) == _unpack_outcome(_unpacked_before, raw)


@pytest.mark.parametrize("raw", [b"\x0a", b"\x0a\x05ab", b"\x12\x00", b"\x0a" + b"\xff" * 10,
                                 b"\x0a" + b"\x80" * 9 + b"\x01", bytearray(b"\x0a\x01x")])
def test_packed_garbage_gives_the_same_error_as_before(raw) -> None:
    assert _unpack_outcome(unpacked_messages, raw) == _unpack_outcome(_unpacked_before, raw)
