"""Round trips of the sequencer protos, and typed errors for garbage."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicanton.codec import sequencer as codec
from minicanton.core.ids import MemberId
from minicanton.core.sequencing.batch import (
    Batch,
    Envelope,
    GroupRecipient,
    MemberRecipient,
    RecipientGroup,
    SignedSubmissionRequest,
    SubmissionRequest,
    sign_submission,
    verify_submission,
)
from minicanton.core.sequencing.errors import MalformedRequest
from minicanton.core.sequencing.events import (
    Deliver,
    DeliverError,
    SequencedEvent,
    verify_event,
)
from minicanton.core.sequencing.stored import StoredEnvelope

from .helpers import ALICE, DOMAIN, KEYS, SEQUENCER_KEY

recipients = st.one_of(
    st.builds(MemberRecipient, st.text(min_size=1, max_size=20).map(MemberId)),
    st.builds(GroupRecipient, st.sampled_from(list(RecipientGroup))),
)
envelopes = st.builds(Envelope, st.lists(recipients, max_size=4).map(tuple),
                      st.binary(max_size=64))
batches = st.builds(Batch, st.lists(envelopes, max_size=4).map(tuple))


@settings(max_examples=100)
@given(batch=batches, message_id=st.text(min_size=1, max_size=30),
       mst=st.integers(0, 2**62))
def test_submissions_round_trip_and_still_verify(batch, message_id, mst) -> None:
    signed = sign_submission(SubmissionRequest(DOMAIN, ALICE, message_id, mst, batch),
                             KEYS[ALICE])
    raw = codec.submission_to_proto(signed).SerializeToString()
    decoded = codec.parse_submission(raw)
    assert decoded == signed
    verify_submission(decoded, KEYS[ALICE].public)


@settings(max_examples=100)
@given(batch=batches, counter=st.integers(0, 10**9), error=st.booleans())
def test_events_round_trip_and_still_verify(batch, counter, error) -> None:
    content = DeliverError("m", "E", "r") if error else Deliver(ALICE, "m" if counter else None,
                                                                batch)
    previous = None if counter == 0 else counter * 10
    event = SequencedEvent(DOMAIN, ALICE, counter, counter * 10 + 5, previous, content)
    signed = codec.sign_event(event, SEQUENCER_KEY)
    wire = codec.signed_event_to_proto(signed).SerializeToString()
    message = codec.pb.SignedSequencedEvent.FromString(wire)
    decoded = codec.signed_event_from_proto(message)
    assert decoded == signed
    verify_event(decoded, {SEQUENCER_KEY.fingerprint: SEQUENCER_KEY.public})


@settings(max_examples=100)
@given(raw=st.binary(max_size=200))
def test_garbage_is_a_typed_error_or_an_empty_request(raw) -> None:
    try:
        decoded = codec.parse_submission(raw)
    except MalformedRequest as error:
        assert error.error_id == "SEQUENCER_MALFORMED_REQUEST"
    else:
        assert isinstance(decoded, SignedSubmissionRequest)


def test_known_garbage_is_malformed() -> None:
    with pytest.raises(MalformedRequest):
        codec.parse_submission(b"\xff\xff\xff\xff")
    with pytest.raises(MalformedRequest):
        codec.parse_submission(b"")


def test_stored_envelopes_round_trip() -> None:
    stored = (StoredEnvelope(frozenset({3, 1}), Envelope((MemberRecipient(ALICE),), b"x")),)
    assert codec.decode_stored_envelopes(codec.encode_stored_envelopes(stored)) == stored
