"""Sequenced events signed over their serialized bytes, and runs verified as a whole.

A member hashes exactly the bytes it received (field 1 of SignedSequencedEvent) and parses
the event from those same bytes, so no byte of an event can change without the signature
failing, and no event can be claimed for bytes it was not parsed from.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicanton.codec.sequencer import (
    _field,
    event_bytes,
    event_from_proto,
    parse_signed_event,
    pb,
    sign_event,
    sign_events,
    signed_event_to_proto,
    signed_run_bytes,
)
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.hashing import HashPurpose, hash_of
from minicanton.core.ids import MemberId
from minicanton.core.sequencing.batch import Batch, Envelope, MemberRecipient
from minicanton.core.sequencing.chain import EventChain
from minicanton.core.sequencing.errors import EventVerificationFailed, MalformedRequest
from minicanton.core.sequencing.events import (
    Deliver,
    DeliverError,
    SequencedEvent,
    SignedSequencedEvent,
    event_hash,
    verify_event,
)
from minicanton.core.sequencing.run_signature import RunSignatureCache, run_tree

DOMAIN = "da::1220" + "ab" * 32
MEMBER = MemberId("PAR::alice::1220" + "cd" * 32)
SEQUENCER = SigningKeyPair.from_private(bytes([7]) * 32)
TRUSTED = {SEQUENCER.fingerprint: SEQUENCER.public}

# A run's first event as the previous version (structural event hash, field 1 an embedded
# SequencedEvent) wrote it: what a mediator has in its store from before this change.
STORED_BEFORE = bytes.fromhex(
    "0a84020a4864613a3a313232306162616261626162616261626162616261626162616261626162616261"
    "626162616261626162616261626162616261626162616261626162616261626162616212505041523a3a"
    "616c6963653a3a3132323063646364636463646364636463646364636463646364636463646364636463"
    "64636463646364636463646364636463646364636463646364636463646364636420e80732631a610a5f"
    "0a520a505041523a3a616c6963653a3a3132323063646364636463646364636463646364636463646364"
    "636463646364636463646364636463646364636463646364636463646364636463646364636463646364"
    "12097061796c6f61642030128a010a443132323066343739366164373038646333306232383638633039"
    "393838393363343033393138646266623139313962636536386163353737393538656337373037376433"
    "10151a40ae0d5f309107456cb0b8eb488de6e4e3509ff8c45f566d6981162f704b54a920c235f6197b44"
    "cacb03210e6112494ef0fa990ec4090be13332ee3cf6283036011a220a20da7327370b61d75297fee2a0"
    "7f3f210061e527b771cb9e74492b4ba4aca072db")


def _event(counter: int, payload: bytes = b"payload", error: bool = False) -> SequencedEvent:
    content = (DeliverError(f"m{counter}", "E", "why") if error else
               Deliver(None, None, Batch((Envelope((MemberRecipient(MEMBER),), payload),))))
    return SequencedEvent(DOMAIN, MEMBER, counter, 1_000 + counter,
                          None if counter == 0 else 999 + counter, content)


def _run(count: int) -> list[SignedSequencedEvent]:
    return sign_events([_event(n, b"payload %d" % n, n % 3 == 2) for n in range(count)],
                       SEQUENCER)


def _wire(signed: SignedSequencedEvent) -> bytes:
    return signed_event_to_proto(signed).SerializeToString()


def _accepts(wire: bytes) -> bool:
    """Whether a member at the start of its stream accepts `wire` as its first event."""
    try:
        return EventChain(DOMAIN, MEMBER, TRUSTED, None).accept(parse_signed_event(wire)) \
            is not None
    except (MalformedRequest, EventVerificationFailed):
        return False


def _flipped(raw: bytes, position: int, mask: int) -> bytes:
    return raw[:position] + bytes([raw[position] ^ mask]) + raw[position + 1:]


def test_the_event_hash_is_of_exactly_the_bytes_sent_and_the_event_is_parsed_from_them() -> None:
    for signed in [sign_event(_event(0), SEQUENCER), *_run(5)]:
        assert signed.event_bytes == event_bytes(signed.event)
        assert event_hash(signed.event_bytes) == hash_of(HashPurpose.SEQUENCED_EVENT,
                                                         signed.event_bytes)
        decoded = parse_signed_event(_wire(signed))
        assert decoded == signed
        assert decoded.event == event_from_proto(pb.SequencedEvent.FromString(
            decoded.event_bytes))
        assert verify_event(decoded, TRUSTED) == event_hash(signed.event_bytes)


def test_every_byte_of_a_signed_event_is_covered() -> None:
    """Exhaustively: each byte of the event's bytes, flipped on the wire, makes the event
    refused, signed alone or as part of a run."""
    for signed in [sign_event(_event(0), SEQUENCER), _run(4)[0]]:
        wire = _wire(signed)
        assert _accepts(wire)
        event_start = wire.index(signed.event_bytes)
        for position in range(event_start, event_start + len(signed.event_bytes)):
            assert not _accepts(_flipped(wire, position, 0x01)), position


@settings(max_examples=100, deadline=None)
@given(count=st.integers(1, 9), index=st.integers(0, 8), position=st.integers(0, 10**6),
       mask=st.integers(1, 255))
def test_any_flipped_byte_of_an_event_is_refused(count: int, index: int, position: int,
                                                 mask: int) -> None:
    run = _run(count)
    target = run[index % count]
    raw = target.event_bytes
    tampered = _flipped(raw, position % len(raw), mask)
    wire = _wire(target).replace(raw, tampered)
    with pytest.raises((MalformedRequest, EventVerificationFailed)):
        decoded = parse_signed_event(wire)
        assert decoded.event_bytes == tampered  # what is hashed is what was parsed
        verify_event(decoded, TRUSTED, RunSignatureCache())


def test_a_second_event_field_cannot_smuggle_content_past_the_signature() -> None:
    """With field 1 an embedded message, protobuf merged a repeated field 1 into the event
    while the hash was rebuilt from the merged result; as bytes, the last one is the event,
    it is what is hashed, and a forger's bytes fail the signature."""
    signed = sign_event(_event(0), SEQUENCER)
    forged_part = event_bytes(dataclasses.replace(signed.event, timestamp_us=5))
    for wire in (_wire(signed) + _field(1, forged_part),
                 _field(1, forged_part) + _wire(signed)):
        decoded = parse_signed_event(wire)
        assert decoded.event == event_from_proto(pb.SequencedEvent.FromString(
            decoded.event_bytes))
        if decoded.event_bytes == signed.event_bytes:  # the genuine bytes came last
            assert decoded.event == signed.event
            verify_event(decoded, TRUSTED)
        else:
            with pytest.raises(EventVerificationFailed):
                verify_event(decoded, TRUSTED)


def test_an_event_without_bytes_or_with_garbage_bytes_is_malformed() -> None:
    signed = sign_event(_event(0), SEQUENCER)
    for event in (b"", b"\xff\xff"):
        message = signed_event_to_proto(signed)
        message.event = event
        with pytest.raises(MalformedRequest):
            parse_signed_event(message.SerializeToString())


def test_events_stored_by_the_previous_version_still_read() -> None:
    """Field 1 was an embedded SequencedEvent: the same wire encoding as bytes, so a stored
    event parses to the event it held (its signature was over the old structural hash and
    is not checked again once stored)."""
    decoded = parse_signed_event(STORED_BEFORE)
    assert decoded.event == _event(0, b"payload 0")
    assert decoded.event_bytes == event_bytes(decoded.event)
    assert decoded.signature.purpose is HashPurpose.SEQUENCED_EVENT_RUN


@pytest.mark.parametrize("count", [1, 2, 3, 8, 13, 32])
def test_a_run_verified_together_hashes_each_inner_node_once(count: int) -> None:
    run = [parse_signed_event(raw) for raw in signed_run_bytes(_run(count))]
    cache = RunSignatureCache()
    for signed in run:
        verify_event(signed, TRUSTED, cache)
        verify_event(signed, TRUSTED)  # and each alone, without the cache
    nodes = cache.nodes_for(HashPurpose.SEQUENCED_EVENT_RUN, run[0].signature.raw)
    assert len(nodes) == max(count - 1, 0)
    if count > 1:
        root, _ = run_tree([event_hash(s.event_bytes) for s in run])
        assert root.digest in nodes.values()


def test_remembered_nodes_do_not_let_a_forged_proof_or_event_through() -> None:
    run = _run(8)
    cache = RunSignatureCache()
    for signed in run[:4]:
        verify_event(signed, TRUSTED, cache)
    steps = run[5].run_proof
    forged_step = dataclasses.replace(run[5], run_proof=(
        steps[0], steps[1]._replace(sibling=bytes(32)), *steps[2:]))
    other = dataclasses.replace(run[0].event, counter=5)
    forged_event = dataclasses.replace(run[5], event=other, event_bytes=event_bytes(other))
    for forged in (forged_step, forged_event):
        with pytest.raises(EventVerificationFailed):
            verify_event(forged, TRUSTED, cache)
    for signed in run[4:]:  # the genuine rest of the run still verifies
        verify_event(signed, TRUSTED, cache)


def test_the_node_memory_is_one_run_and_one_purpose() -> None:
    cache = RunSignatureCache()
    first = cache.nodes_for(HashPurpose.SEQUENCED_EVENT_RUN, b"sig-1")
    first[(b"a", b"b")] = b"c"
    assert cache.nodes_for(HashPurpose.SEQUENCED_EVENT_RUN, b"sig-1") is first
    assert cache.nodes_for(HashPurpose.SUBMISSION_REQUEST_RUN, b"sig-1") == {}
    assert cache.nodes_for(HashPurpose.SEQUENCED_EVENT_RUN, b"sig-1") == {}
    assert cache.nodes_for(HashPurpose.SEQUENCED_EVENT_RUN, b"sig-2") == {}
