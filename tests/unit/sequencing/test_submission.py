"""Admission of submission requests: every refusal is typed, and signatures bind every field."""

from __future__ import annotations

import dataclasses

import pytest

from minicanton.core.sequencing.batch import (
    Batch,
    Envelope,
    GroupRecipient,
    MemberRecipient,
    RecipientGroup,
    SignedSubmissionRequest,
    sign_submission,
    submission_request_hash,
)
from minicanton.core.sequencing.errors import (
    InvalidSubmissionSignature,
    MalformedRequest,
    MaxSequencingTimePassed,
    MaxSequencingTimeTooFar,
    RequestTooLarge,
    SenderMismatch,
    UnknownRecipient,
    UnknownSender,
    WrongDomain,
)
from minicanton.core.sequencing.ordering import TimestampAllocator
from minicanton.core.sequencing.submission import (
    SEQUENCING_TIME_EXCEEDED,
    plan_events,
    validate_submission,
)

from .helpers import ALICE, BOB, CAROL, KEYS, LIMITS, MEDIATOR, directory, request, signed

NOW = 1_000_000


def validate(s: SignedSubmissionRequest, *, size: int = 100, authenticated=ALICE,
             members=None):
    return validate_submission(s, size, authenticated, members or directory(), LIMITS, NOW)


def test_a_valid_request_resolves_its_recipients() -> None:
    accepted = validate(signed(request(ALICE, BOB, CAROL)))
    assert accepted.sender_number == 1
    assert accepted.envelopes[0].member_numbers == {2, 3}


def test_groups_resolve_to_enabled_members_of_their_kind() -> None:
    envelopes = (Envelope((GroupRecipient(RecipientGroup.ALL_PARTICIPANTS),), b"p"),
                 Envelope((GroupRecipient(RecipientGroup.MEDIATOR_GROUP),), b"m"),
                 Envelope((GroupRecipient(RecipientGroup.ALL_MEMBERS),), b"a"))
    req = dataclasses.replace(request(), batch=Batch(envelopes))
    accepted = validate(signed(req), members=directory(CAROL))
    assert [e.member_numbers for e in accepted.envelopes] == [{1, 2}, {4}, {1, 2, 4}]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"domain_id": "other::1220aa"}, WrongDomain),
        ({"message_id": ""}, MalformedRequest),
        ({"message_id": "x" * 256}, MalformedRequest),
        ({"max_sequencing_time_us": NOW}, MaxSequencingTimePassed),
        ({"max_sequencing_time_us": NOW + 60_000_001}, MaxSequencingTimeTooFar),
    ],
)
def test_bad_fields_are_refused(change, error) -> None:
    with pytest.raises(error):
        validate(signed(dataclasses.replace(request(), **change)))


def test_oversize_is_refused() -> None:
    with pytest.raises(RequestTooLarge):
        validate(signed(request()), size=LIMITS.max_request_size_bytes + 1)


def test_sending_as_someone_else_is_refused() -> None:
    with pytest.raises(SenderMismatch):
        validate(signed(request()), authenticated=BOB)


def test_unknown_or_disabled_sender_is_refused() -> None:
    with pytest.raises(UnknownSender):
        validate(signed(request()), members=directory(ALICE))


def test_unknown_or_disabled_recipient_is_refused() -> None:
    with pytest.raises(UnknownRecipient):
        validate(signed(request(ALICE, BOB)), members=directory(BOB))
    stranger = dataclasses.replace(request(), batch=Batch(
        (Envelope((MemberRecipient("PAR::nobody::1220ab"),), b"x"),)))  # type: ignore[arg-type]
    with pytest.raises(UnknownRecipient):
        validate(signed(stranger))


def test_an_envelope_without_recipients_is_malformed() -> None:
    req = dataclasses.replace(request(), batch=Batch((Envelope((), b"x"),)))
    with pytest.raises(MalformedRequest):
        validate(signed(req))


def test_a_signature_by_another_key_is_refused() -> None:
    forged = sign_submission(request(), KEYS[BOB])
    with pytest.raises(InvalidSubmissionSignature):
        validate(forged)


@pytest.mark.parametrize("field", ["message_id", "max_sequencing_time_us", "batch", "sender"])
def test_the_signature_covers_every_field(field) -> None:
    original = signed(request())
    value = {"message_id": "m2", "max_sequencing_time_us": 2_000_001,
             "batch": Batch((Envelope((MemberRecipient(CAROL),), b"hello"),)),
             "sender": BOB}[field]
    tampered = SignedSubmissionRequest(dataclasses.replace(original.request, **{field: value}),
                                       original.signature)
    with pytest.raises((InvalidSubmissionSignature, SenderMismatch, UnknownSender)):
        validate(tampered, authenticated=tampered.request.sender)


def test_recipient_lists_cannot_be_regrouped_without_changing_the_hash() -> None:
    one = Batch((Envelope((MemberRecipient(BOB), MemberRecipient(CAROL)), b"x"),))
    two = Batch((Envelope((MemberRecipient(BOB),), b""), Envelope((MemberRecipient(CAROL),), b"x")))
    assert submission_request_hash(dataclasses.replace(request(), batch=one)) != \
        submission_request_hash(dataclasses.replace(request(), batch=two))


def test_plan_stamps_in_order_and_deduplicates_within_a_batch() -> None:
    first = validate(signed(request(message_id="a")))
    again = validate(signed(request(message_id="a")))
    other = validate(signed(request(message_id="b")))
    planned = plan_events([first, again, other], TimestampAllocator(2, 1), NOW)
    assert [p.event is None for p in planned] == [False, True, False]
    stamps = [p.event.timestamp_us for p in planned if p.event]
    assert stamps[0] < stamps[1] and all(ts % 2 == 1 for ts in stamps)
    assert planned[0].event.recipient_numbers == {1, 2}


def test_a_stamp_after_the_max_sequencing_time_becomes_a_deliver_error() -> None:
    accepted = validate(signed(request(max_sequencing_time_us=NOW + 10)))
    (planned,) = plan_events([accepted], TimestampAllocator(1, 0), NOW + 11)
    assert planned.event.error.error_id == SEQUENCING_TIME_EXCEEDED
    assert planned.event.recipient_numbers == {1}
    assert MEDIATOR  # the mediator is registered but never addressed here
