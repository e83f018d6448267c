"""A sequencer delivers each member exactly the signed bytes the previous release did.

The previous release decoded a stored event's envelopes into objects, projected the event
(`project_event`), encoded it and signed the encoding. Now the envelopes stay the bytes they
were stored as and a member's event is its header spliced around them (delivery.py). For the
same stored event, the same member and the same run, every byte a member verifies is the same.
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_pb2 as pb
from minicanton.codec.sequencer import (
    decode_stored_batch,
    decode_stored_envelopes,
    encode_stored_envelopes,
    envelope_to_proto,
    sign_events,
    signed_event_to_proto,
)
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.ids import MemberId
from minicanton.core.sequencing.batch import (
    Envelope,
    GroupRecipient,
    MemberRecipient,
    RecipientGroup,
)
from minicanton.core.sequencing.events import DeliverError
from minicanton.core.sequencing.members import MemberRecord
from minicanton.core.sequencing.stored import (
    StoredEnvelope,
    StoredEvent,
    StreamCursor,
    project_event,
)
from minicanton.sequencer.delivery import PreparedEvent, signed_run
from minicanton.sequencer.reader import EventFeed, StreamContext, member_stream
from minicanton.store.sequencer import CounterCheckpoint, EventPage

DOMAIN = "da::1220" + "ab" * 32
SEQUENCER = SigningKeyPair.from_private(bytes([7]) * 32)
MEMBERS = {1: MemberId("PAR::alice::1220" + "cd" * 32), 2: MemberId("PAR::bob::1220" + "ce" * 32),
           3: MemberId("MED::mediator::1220" + "cf" * 32), 4: MemberId("PAR::carol::12201"),
           300: MemberId("PAR::dave::1220" + "d0" * 32)}
NUMBERS = sorted(MEMBERS)

_recipient = st.one_of(st.sampled_from([MemberRecipient(m) for m in MEMBERS.values()]),
                       st.sampled_from([GroupRecipient(g) for g in RecipientGroup]))
_stored_envelope = st.builds(
    lambda numbers, recipients, content: StoredEnvelope(
        frozenset(numbers), Envelope(tuple(recipients), content)),
    st.sets(st.sampled_from(NUMBERS), min_size=1), st.lists(_recipient, min_size=1, max_size=3),
    st.binary(max_size=300))
_error = st.none() | st.builds(DeliverError, st.text(max_size=5), st.text(max_size=5),
                               st.text(max_size=20))
_stored_event = st.builds(
    lambda ts, sender, message_id, envelopes, error: StoredEvent(
        ts, ts % 2, sender, message_id, () if error else tuple(envelopes), error),
    st.integers(min_value=1, max_value=2**62), st.sampled_from(NUMBERS),
    st.text(min_size=1, max_size=8), st.lists(_stored_envelope, max_size=4), _error)


def previous_release_encoding(envelopes: tuple[StoredEnvelope, ...]) -> bytes:
    """The previous release's `encode_stored_envelopes`, as it was."""
    return pb.StoredBatch(envelopes=[
        pb.StoredEnvelope(member_numbers=sorted(e.member_numbers),
                          envelope=envelope_to_proto(e.envelope))  # type: ignore[arg-type]
        for e in envelopes
    ]).SerializeToString()


def as_read(event: StoredEvent, payload: bytes) -> StoredEvent:
    """`event` as the store reads it back from `payload`: envelopes as bytes."""
    envelopes = decode_stored_batch(payload) if event.error is None else ()
    return StoredEvent(event.timestamp_us, event.node_index, event.sender_number,
                       event.message_id, envelopes, event.error)


def previous_release_run(events: list[StoredEvent], number: int,
                         cursor: StreamCursor, from_counter: int = 0) -> list[bytes]:
    """The member's run as the previous release built it: envelopes decoded from the stored
    payload, the event projected, encoded and signed (those from `from_counter` on)."""
    run = []
    for stored in events:
        if stored.is_for(number):
            payload = previous_release_encoding(stored.envelopes)
            decoded = StoredEvent(stored.timestamp_us, stored.node_index, stored.sender_number,
                                  stored.message_id,
                                  decode_stored_envelopes(payload) if stored.error is None
                                  else (), stored.error)
            event = project_event(decoded, DOMAIN, MEMBERS[number], number,
                                  MEMBERS[stored.sender_number], cursor)
            cursor = StreamCursor(event.counter, event.timestamp_us)
            if event.counter >= from_counter:
                run.append(event)
    signed = sign_events(run, SEQUENCER) if run else []
    return [signed_event_to_proto(s).SerializeToString() for s in signed]


def delivered_run(prepared: list[PreparedEvent], number: int,
                  cursor: StreamCursor) -> list[bytes]:
    """The member's run as the reader builds it now (reader.member_stream)."""
    counter, previous_us, run = cursor.counter, cursor.timestamp_us, []
    for item in prepared:
        if number in item.recipients:
            counter += 1
            run.append(item.event_for(DOMAIN, MEMBERS[number], number,
                                      MEMBERS[item.stored.sender_number], counter,
                                      previous_us))
            previous_us = item.stored.timestamp_us
    return signed_run(run, SEQUENCER) if run else []


@settings(max_examples=150, deadline=None)
@given(st.lists(_stored_event, min_size=1, max_size=5), st.booleans(),
       st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=8), st.booleans(),
       st.sampled_from([StreamCursor(), StreamCursor(4, 17)]))
def test_every_member_gets_the_signed_bytes_the_previous_release_delivered(
        events: list[StoredEvent], warm: bool, readers: list[int], stored_before: bool,
        cursor: StreamCursor) -> None:
    """Stored by this release or the previous one, read as bytes, served to members in any
    order, some twice, warm or cold and one cooled halfway: each member gets exactly the
    bytes the previous release delivered for the same stored events."""
    encode = previous_release_encoding if stored_before else encode_stored_envelopes
    prepared = [PreparedEvent(as_read(event, encode(event.envelopes)), warm)
                for event in events]
    for position, number in enumerate(readers):
        if position == len(readers) // 2:
            prepared[0].cool()
        assert delivered_run(prepared, number, cursor) == \
            previous_release_run(events, number, cursor)


@settings(max_examples=100, deadline=None)
@given(_stored_event, st.sampled_from(NUMBERS))
def test_envelopes_held_as_objects_deliver_the_same_bytes(stored: StoredEvent,
                                                          number: int) -> None:
    """The core's form (the simulation's) and the sequencer's give the same event."""
    as_bytes = as_read(stored, encode_stored_envelopes(stored.envelopes))
    for item in (PreparedEvent(stored), PreparedEvent(as_bytes, warm=False)):
        assert delivered_run([item], number, StreamCursor()) == \
            previous_release_run([stored], number, StreamCursor())


def test_an_envelope_held_as_bytes_is_not_projected_into_a_batch() -> None:
    stored = StoredEvent(5, 0, 1, "m", (StoredEnvelope(frozenset({2}), b"\x12\x01x"),))
    with pytest.raises(TypeError):
        project_event(stored, DOMAIN, MEMBERS[2], 2, MEMBERS[1], StreamCursor())


class _Store:
    """The store as a stream and the feed use it: these events, nothing pruned."""

    def __init__(self, events: list[StoredEvent]) -> None:
        self.events = events
        self.checkpoints: list[tuple[int, CounterCheckpoint]] = []

    async def read_events(self, after_us: int, limit: int) -> EventPage:
        return EventPage([e for e in self.events if e.timestamp_us > after_us][:limit],
                         max(after_us, *[e.timestamp_us for e in self.events]))

    async def pruned_counter(self, number: int) -> int:
        return -1

    async def checkpoint_before(self, number: int, counter: int) -> CounterCheckpoint:
        return CounterCheckpoint(-1, 0)

    async def save_checkpoint(self, number: int, checkpoint: CounterCheckpoint) -> None:
        self.checkpoints.append((number, checkpoint))


_EXAMPLES = [StoredEvent(10 + 7 * n, n % 2, NUMBERS[n % 5], f"m{n}", (
    StoredEnvelope(frozenset(NUMBERS[n % 3:n % 3 + 2]), Envelope(
        (MemberRecipient(MEMBERS[NUMBERS[n % 3]]), GroupRecipient(RecipientGroup.ALL_MEMBERS)),
        bytes([n]) * (n * 40))),
    StoredEnvelope(frozenset({3}), Envelope((MemberRecipient(MEMBERS[3]),), b"to mediator")),
) if n % 4 != 3 else (), DeliverError(f"m{n}", "E", "late") if n % 4 == 3 else None)
    for n in range(12)]


@pytest.mark.parametrize("from_counter", [0, 2])
async def test_a_member_stream_sends_what_the_previous_release_sent(from_counter: int) -> None:
    """The reader's stream itself (counting, skipping below `from_counter`, signing what
    one read made ready as one run), from payloads read back as bytes."""
    store = _Store([as_read(event, encode_stored_envelopes(event.envelopes))
                    for event in _EXAMPLES])
    feed = EventFeed(store)  # type: ignore[arg-type]
    await feed._read_new()
    context = StreamContext(store, feed, DOMAIN, SEQUENCER,  # type: ignore[arg-type]
                            MEMBERS.__getitem__, lambda: None)
    for number in NUMBERS:
        expected = previous_release_run(_EXAMPLES, number, StreamCursor(), from_counter)
        stream = member_stream(context, MemberRecord(MEMBERS[number], number,
                                                     SEQUENCER.public, True), from_counter)
        got: list[bytes] = []
        while len(got) < len(expected):
            got += await stream.__anext__()
        await stream.aclose()  # type: ignore[attr-defined]
        assert got == expected
    await asyncio.sleep(0)  # checkpoints are saved by tasks of their own
    assert (3, CounterCheckpoint(0, 10)) in store.checkpoints  # every member's counter 0
