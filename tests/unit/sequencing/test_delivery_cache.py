"""What a sequencer instance shares between members' copies of one stored event (delivery.py)
must leave every member's signed bytes exactly what computing them afresh gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from minicanton.codec.sequencer import (
    batch_bytes,
    envelope_bytes,
    event_bytes,
    event_to_proto,
    sign_events,
    signed_event_to_proto,
)
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.ids import MemberId
from minicanton.core.sequencing.batch import (
    Batch,
    Envelope,
    GroupRecipient,
    MemberRecipient,
    RecipientGroup,
)
from minicanton.core.sequencing.events import (
    Deliver,
    DeliverError,
    SequencedEvent,
)
from minicanton.core.sequencing.stored import (
    StoredEnvelope,
    StoredEvent,
    StreamCursor,
    project_event,
)
from minicanton.sequencer.delivery import PreparedEvent, signed_run

DOMAIN = "da::1220" + "ab" * 32
SEQUENCER = SigningKeyPair.from_private(bytes([7]) * 32)
MEMBERS = {1: MemberId("PAR::alice::1220" + "cd" * 32), 2: MemberId("PAR::bob::1220" + "ce" * 32),
           3: MemberId("MED::mediator::1220" + "cf" * 32), 4: MemberId("PAR::carol::12201")}
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


def _afresh(events: list[StoredEvent], number: int) -> list[bytes]:
    """The member's run as the reader built it before delivery.py."""
    cursor, run = StreamCursor(4, 17), []
    for stored in events:
        if stored.is_for(number):
            event = project_event(stored, DOMAIN, MEMBERS[number], number,
                                  MEMBERS[stored.sender_number], cursor)
            cursor = StreamCursor(event.counter, event.timestamp_us)
            run.append(event)
    signed = sign_events(run, SEQUENCER) if run else []
    return [signed_event_to_proto(s).SerializeToString() for s in signed]


def _shared(prepared: list[PreparedEvent], number: int) -> list[bytes]:
    cursor, run, views = StreamCursor(4, 17), [], []
    for item in prepared:
        if number in item.recipients:
            view = item.view_for(number)
            event = project_event(item.stored, DOMAIN, MEMBERS[number], number,
                                  MEMBERS[item.stored.sender_number], cursor,
                                  None if view is None else view.batch)
            cursor = StreamCursor(event.counter, event.timestamp_us)
            run.append(event)
            views.append(view)
    return signed_run(run, views, SEQUENCER) if run else []


@settings(max_examples=150, deadline=None)
@given(st.lists(_stored_event, min_size=1, max_size=5), st.booleans(),
       st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=8))
def test_every_member_gets_the_bytes_it_got_before(events: list[StoredEvent], warm: bool,
                                                   readers: list[int]) -> None:
    """Members read the same prepared events in any order, some twice, warm or cold, and
    one cooled halfway: each gets exactly the bytes computed afresh."""
    prepared = [PreparedEvent(event, warm) for event in events]
    for position, number in enumerate(readers):
        if position == len(readers) // 2:
            prepared[0].cool()
        assert _shared(prepared, number) == _afresh(events, number)


@settings(max_examples=150, deadline=None)
@given(_stored_event, st.sampled_from(NUMBERS), st.integers(0, 2**40),
       st.none() | st.integers(0, 2**62), st.booleans(), st.booleans())
def test_a_batch_view_is_the_projection_and_its_bytes(
        stored: StoredEvent, number: int, counter: int, previous: int | None, show: bool,
        receipt: bool) -> None:
    view = PreparedEvent(stored).view_for(number)
    if stored.error is not None:
        assert view is None
        return
    assert view is not None
    mine = Batch(tuple(e.envelope for e in stored.envelopes if number in e.member_numbers))
    assert view.batch == mine
    assert view.serialized == batch_bytes([envelope_bytes(e) for e in mine.envelopes])
    event = SequencedEvent(DOMAIN, MEMBERS[number], counter, stored.timestamp_us, previous,
                           Deliver(MEMBERS[1] if show else None, "m" if receipt else None,
                                   mine))
    assert event_bytes(event, view.serialized) == event_to_proto(event).SerializeToString()


def test_a_deliver_error_and_an_empty_batch_serialize_as_before() -> None:
    error = SequencedEvent(DOMAIN, MEMBERS[1], 0, 5, None, DeliverError("m", "E", "why"))
    assert event_bytes(error, b"ignored") == event_to_proto(error).SerializeToString()
    empty = SequencedEvent(DOMAIN, MEMBERS[1], 3, 9, 7, Deliver(None, None, Batch(())))
    assert event_bytes(empty, batch_bytes([])) == event_to_proto(empty).SerializeToString()
