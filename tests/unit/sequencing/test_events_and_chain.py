"""Projection onto one member's stream, event signatures, and the client's chain check."""

from __future__ import annotations

import dataclasses

import pytest

from minicanton.codec.sequencer import event_bytes, sign_event
from minicanton.core.hashing import HashPurpose, hash_of
from minicanton.core.sequencing.batch import Envelope, MemberRecipient
from minicanton.core.sequencing.chain import EventChain
from minicanton.core.sequencing.errors import (
    EventChainBroken,
    EventVerificationFailed,
    SequencerFork,
)
from minicanton.core.sequencing.events import Deliver, DeliverError, event_hash
from minicanton.core.sequencing.stored import (
    StoredEnvelope,
    StoredEvent,
    StreamCursor,
    advance,
    project_event,
)

from .helpers import ALICE, BOB, CAROL, DOMAIN, KEYS, MEDIATOR, SEQUENCER_KEY

TRUSTED = {SEQUENCER_KEY.fingerprint: SEQUENCER_KEY.public}
FOR_BOB = Envelope((MemberRecipient(BOB),), b"secret for bob")
FOR_CAROL = Envelope((MemberRecipient(CAROL),), b"secret for carol")


def stored(ts: int, *envelopes: tuple[frozenset[int], Envelope]) -> StoredEvent:
    return StoredEvent(ts, 0, 1, "msg", tuple(StoredEnvelope(n, e) for n, e in envelopes))


def stream(member, number: int, events: list[StoredEvent]):
    cursor, out = StreamCursor(), []
    for item in events:
        if item.is_for(number):
            event = project_event(item, DOMAIN, member, number, ALICE, cursor)
            cursor = advance(cursor, event)
            out.append(sign_event(event, SEQUENCER_KEY))
    return out


EVENTS = [stored(10, (frozenset({2}), FOR_BOB), (frozenset({3}), FOR_CAROL)),
          stored(20, (frozenset({3}), FOR_CAROL)),
          stored(30, (frozenset({2}), FOR_BOB))]


def test_a_member_sees_only_its_envelopes_and_the_sender_its_receipt() -> None:
    bob = stream(BOB, 2, EVENTS)
    assert [e.event.counter for e in bob] == [0, 1]
    assert [e.event.previous_timestamp_us for e in bob] == [None, 10]
    assert all(e.event.content.batch.envelopes == (FOR_BOB,) for e in bob)
    assert all(e.event.content.message_id is None for e in bob)
    alice = stream(ALICE, 1, EVENTS)
    assert [e.event.content.message_id for e in alice] == ["msg", "msg", "msg"]
    assert all(e.event.content.batch.envelopes == () for e in alice)


def test_a_participant_is_not_told_which_participant_sent_a_batch() -> None:
    """Seed 003 sender privacy (core review #2): Bob's copy of Alice's batch names no sender,
    and the signed event verifies over exactly that copy; Alice's receipt names herself."""
    bob = stream(BOB, 2, EVENTS)
    assert [e.event.content.sender for e in bob] == [None, None]
    assert EventChain(DOMAIN, BOB, TRUSTED, None).accept(bob[0]).event.content.sender is None
    alice = stream(ALICE, 1, EVENTS)
    assert {e.event.content.sender for e in alice} == {ALICE}


def test_domain_entities_are_named_to_everyone_and_see_every_sender() -> None:
    by_mediator = StoredEvent(50, 0, 4, "verdict", (StoredEnvelope(frozenset({2}), FOR_BOB),))
    to_bob = project_event(by_mediator, DOMAIN, BOB, 2, MEDIATOR, StreamCursor())
    assert to_bob.content.sender == MEDIATOR  # a verdict says who it is from anyway
    to_mediator = StoredEvent(60, 0, 1, "request", (
        StoredEnvelope(frozenset({4}), Envelope((MemberRecipient(MEDIATOR),), b"informee")),))
    seen = project_event(to_mediator, DOMAIN, MEDIATOR, 4, ALICE, StreamCursor())
    assert seen.content.sender == ALICE  # the mediator authenticates the submitter by it


def test_hiding_the_sender_changes_the_event_hash_and_keeps_the_others() -> None:
    """The event hash is of the event's serialized bytes (as signed and sent): an event that
    hides its sender hashes differently from one that names it, so the field is not
    malleable."""
    (bob_event, *_), (alice_event, *_) = stream(BOB, 2, EVENTS), stream(ALICE, 1, EVENTS)
    named = dataclasses.replace(bob_event.event, content=dataclasses.replace(
        bob_event.event.content, sender=ALICE))
    assert event_hash(event_bytes(named)) != event_hash(bob_event.event_bytes)
    assert event_hash(alice_event.event_bytes) == hash_of(
        HashPurpose.SEQUENCED_EVENT, event_bytes(alice_event.event))


def test_a_deliver_error_goes_to_the_sender_only() -> None:
    failed = StoredEvent(40, 0, 1, "m", (), DeliverError("m", "E", "why"))
    assert failed.is_for(1) and not failed.is_for(2)


def test_the_chain_accepts_a_well_formed_stream() -> None:
    chain = EventChain(DOMAIN, BOB, TRUSTED, None)
    assert chain.restart() == 0
    verified = [chain.accept(e) for e in stream(BOB, 2, EVENTS)]
    assert [v.position.counter for v in verified] == [0, 1]
    assert chain.last == verified[-1].position


def test_a_verified_event_keeps_the_bytes_it_was_decoded_from() -> None:
    """A member storing its events as evidence keeps what it was delivered, not a copy of
    its own encoding (the mediator's audit log)."""
    events = stream(BOB, 2, EVENTS)
    chain = EventChain(DOMAIN, BOB, TRUSTED, None)
    assert chain.accept(events[0], b"as delivered").raw == b"as delivered"
    assert chain.accept(events[1]).raw == b""  # a caller without them keeps nothing


def test_a_resumed_stream_compares_the_overlap() -> None:
    events = stream(BOB, 2, EVENTS)
    chain = EventChain(DOMAIN, BOB, TRUSTED, None)
    first = chain.accept(events[0])
    resumed = EventChain(DOMAIN, BOB, TRUSTED, first.position)
    assert resumed.restart() == 0
    assert resumed.accept(events[0]) is None
    assert resumed.accept(events[1]).position.counter == 1


def test_different_content_at_the_overlap_is_a_fork() -> None:
    events = stream(BOB, 2, EVENTS)
    chain = EventChain(DOMAIN, BOB, TRUSTED, None)
    chain.accept(events[0])
    chain.restart()
    other = dataclasses.replace(events[0].event, content=Deliver(ALICE, None, events[1].event
                                                                 .content.batch))
    other_content = dataclasses.replace(other, timestamp_us=11)
    with pytest.raises(SequencerFork):
        chain.accept(sign_event(other_content, SEQUENCER_KEY))


def test_a_gap_or_a_broken_chain_stops_processing() -> None:
    events = stream(BOB, 2, EVENTS)
    with pytest.raises(EventChainBroken):
        EventChain(DOMAIN, BOB, TRUSTED, None).accept(events[1])
    chain = EventChain(DOMAIN, BOB, TRUSTED, None)
    chain.accept(events[0])
    relinked = dataclasses.replace(events[1].event, previous_timestamp_us=5)
    with pytest.raises(EventChainBroken):
        chain.accept(sign_event(relinked, SEQUENCER_KEY))


def test_untrusted_or_misaddressed_events_are_refused() -> None:
    events = stream(BOB, 2, EVENTS)
    forged = sign_event(events[0].event, KEYS[ALICE])
    with pytest.raises(EventVerificationFailed):
        EventChain(DOMAIN, BOB, TRUSTED, None).accept(forged)
    with pytest.raises(EventVerificationFailed):
        EventChain(DOMAIN, CAROL, TRUSTED, None).accept(events[0])
    altered = dataclasses.replace(events[0].event, timestamp_us=11)
    tampered = dataclasses.replace(events[0], event=altered, event_bytes=event_bytes(altered))
    with pytest.raises(EventVerificationFailed):
        EventChain(DOMAIN, BOB, TRUSTED, None).accept(tampered)
