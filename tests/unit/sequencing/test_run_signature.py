"""Run signatures: one signature over a run of events or requests, each verifiable alone."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicanton.codec.sequencer import (
    event_bytes,
    parse_signed_event,
    parse_submission,
    sign_events,
    signed_event_to_proto,
    signed_run_bytes,
    submission_to_proto,
)
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.hashing import Hash, HashPurpose, hash_of
from minicanton.core.ids import MemberId
from minicanton.core.sequencing.batch import (
    Batch,
    SubmissionRequest,
    sign_submissions,
    verify_submission,
)
from minicanton.core.sequencing.chain import EventChain
from minicanton.core.sequencing.errors import (
    EventVerificationFailed,
    InvalidSubmissionSignature,
    MalformedRequest,
)
from minicanton.core.sequencing.events import (
    Deliver,
    SequencedEvent,
    SignedSequencedEvent,
    event_hash,
    verify_event,
)
from minicanton.core.sequencing.run_signature import (
    ProofStep,
    RunSignatureCache,
    run_root,
    run_tree,
)

DOMAIN = "da::1220" + "ab" * 32
MEMBER = MemberId("PAR::alice::1220" + "cd" * 32)
SEQUENCER = SigningKeyPair.from_private(bytes([7]) * 32)
OTHER_KEY = SigningKeyPair.from_private(bytes([8]) * 32)
TRUSTED = {SEQUENCER.fingerprint: SEQUENCER.public, OTHER_KEY.fingerprint: OTHER_KEY.public}


def _events(count: int, first: int = 0) -> list[SequencedEvent]:
    return [SequencedEvent(DOMAIN, MEMBER, counter, 1_000 + counter,
                           None if counter == 0 else 999 + counter,
                           Deliver(None, None, Batch(())))
            for counter in range(first, first + count)]


def _altered(signed: SignedSequencedEvent, **changes: object) -> SignedSequencedEvent:
    """`signed` with another event, serialized as the codec would: what a forger sends."""
    event = dataclasses.replace(signed.event, **changes)
    return dataclasses.replace(signed, event=event, event_bytes=event_bytes(event))


def _leaf(n: int) -> Hash:
    return hash_of(HashPurpose.SEQUENCED_EVENT, str(n))


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=70))
def test_every_leaf_proof_leads_to_the_root(count: int) -> None:
    leaves = [_leaf(n) for n in range(count)]
    root, proofs = run_tree(leaves)
    assert [run_root(leaf, proof) for leaf, proof in zip(leaves, proofs, strict=True)] == \
        [root] * count
    assert all(run_root(_leaf(count + 1), proof) != root for proof in proofs)  # another leaf


def test_a_single_event_is_signed_as_before_and_a_run_once_over_its_root() -> None:
    [single] = sign_events(_events(1), SEQUENCER)
    assert single.run_proof == ()
    assert single.signature.purpose is HashPurpose.SEQUENCED_EVENT
    run = sign_events(_events(5), SEQUENCER)
    assert len({signed.signature for signed in run}) == 1
    assert run[0].signature.purpose is HashPurpose.SEQUENCED_EVENT_RUN
    for signed in run:
        assert verify_event(signed, TRUSTED) == event_hash(signed.event_bytes)
        assert signed.event_bytes == event_bytes(signed.event)


def test_each_event_of_a_run_survives_the_wire_alone_and_verifies() -> None:
    for signed in sign_events(_events(3), SEQUENCER):
        decoded = parse_signed_event(signed_event_to_proto(signed).SerializeToString())
        assert decoded == signed
        verify_event(decoded, TRUSTED)


def test_altered_event_proof_or_signature_is_refused() -> None:
    run = sign_events(_events(4), SEQUENCER)
    other = sign_events(_events(4, first=10), SEQUENCER)
    altered_content = _altered(run[1], timestamp_us=run[1].event.timestamp_us + 1)
    flipped_step = ProofStep(run[1].run_proof[0].sibling,
                             not run[1].run_proof[0].sibling_is_left)
    attempts = [
        altered_content,
        dataclasses.replace(run[1], run_proof=(flipped_step, *run[1].run_proof[1:])),
        dataclasses.replace(run[1], run_proof=run[1].run_proof[:-1]),
        dataclasses.replace(run[1], run_proof=()),  # run signature passed off as per-event
        dataclasses.replace(run[1], signature=other[1].signature),  # another run's signature
        sign_events(_events(4), OTHER_KEY)[1].__class__(  # signer claims the sequencer's key
            run[1].event, run[1].event_bytes, dataclasses.replace(OTHER_KEY.sign(Hash(bytes(32)),
                                              HashPurpose.SEQUENCED_EVENT_RUN),
                                              signed_by=SEQUENCER.fingerprint),
            run[1].run_proof),
    ]
    for forged in attempts:
        with pytest.raises(EventVerificationFailed):
            verify_event(forged, TRUSTED, RunSignatureCache())


def test_the_cache_skips_only_a_root_already_verified_with_the_same_signature() -> None:
    run = sign_events(_events(4), SEQUENCER)
    cache = RunSignatureCache()
    verify_event(run[0], TRUSTED, cache)
    forged_sibling = _altered(run[1], counter=99)
    with pytest.raises(EventVerificationFailed):  # folds to another root: verified, refused
        verify_event(forged_sibling, TRUSTED, cache)
    verify_event(run[2], TRUSTED, cache)


def test_a_chain_accepts_a_run_and_refuses_an_oversized_proof() -> None:
    chain = EventChain(DOMAIN, MEMBER, TRUSTED, None)
    accepted = [chain.accept(signed) for signed in sign_events(_events(6), SEQUENCER)]
    assert [v.position.counter for v in accepted if v is not None] == list(range(6))
    message = signed_event_to_proto(sign_events(_events(2), SEQUENCER)[0])
    for _ in range(40):
        message.run_proof.add(sibling=bytes(32))
    with pytest.raises(MalformedRequest):
        parse_signed_event(message.SerializeToString())
    message.run_proof[0].sibling = b"short"
    del message.run_proof[1:]
    with pytest.raises(EventVerificationFailed, match="32-byte"):
        EventChain(DOMAIN, MEMBER, TRUSTED, None).accept(
            parse_signed_event(message.SerializeToString()))


def _requests(count: int) -> list[SubmissionRequest]:
    return [SubmissionRequest(DOMAIN, MEMBER, f"m{n}", 5_000, Batch(())) for n in range(count)]


def test_requests_signed_together_verify_one_by_one_and_survive_the_wire() -> None:
    signed = sign_submissions(_requests(5), SEQUENCER)
    assert len({s.signature for s in signed}) == 1
    assert signed[0].signature.purpose is HashPurpose.SUBMISSION_REQUEST_RUN
    cache = RunSignatureCache()
    for one in signed:
        decoded = parse_submission(submission_to_proto(one).SerializeToString())
        assert decoded == one
        verify_submission(decoded, SEQUENCER.public, cache)
    [alone] = sign_submissions(_requests(1), SEQUENCER)
    assert alone.run_proof == ()
    verify_submission(alone, SEQUENCER.public)


def test_a_forged_request_in_a_verified_run_or_a_rotated_key_is_refused() -> None:
    signed = sign_submissions(_requests(4), SEQUENCER)
    cache = RunSignatureCache()
    verify_submission(signed[0], SEQUENCER.public, cache)
    forged = dataclasses.replace(signed[1], request=dataclasses.replace(
        signed[1].request, message_id="other"))
    with pytest.raises(InvalidSubmissionSignature):
        verify_submission(forged, SEQUENCER.public, cache)
    with pytest.raises(InvalidSubmissionSignature):  # the sender's key changed since
        verify_submission(signed[2], OTHER_KEY.public, cache)
    as_event_run = dataclasses.replace(signed[3], signature=dataclasses.replace(
        signed[3].signature, purpose=HashPurpose.SEQUENCED_EVENT_RUN))
    with pytest.raises(InvalidSubmissionSignature):
        verify_submission(as_event_run, SEQUENCER.public, RunSignatureCache())


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=1, max_value=20))
def test_a_run_serialized_at_once_is_byte_for_byte_each_event_serialized_alone(
        count: int) -> None:
    run = sign_events(_events(count), SEQUENCER)
    assert signed_run_bytes(run) == [signed_event_to_proto(s).SerializeToString() for s in run]
