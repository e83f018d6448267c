"""A member's submissions go on the wire as `submission_run_bytes` writes them: byte for byte
what `submission_to_proto(...).SerializeToString()` gave (the previous release's encoding), so
a sequencer of either release reads the same request, and nothing a sender wrote changes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_pb2 as pb
from minicanton.codec.sequencer import (
    parse_submission,
    submission_bytes,
    submission_run_bytes,
    submission_to_proto,
)
from minicanton.core.crypto.signing import Signature
from minicanton.core.hashing import HashPurpose
from minicanton.core.ids import Fingerprint, MemberId
from minicanton.core.sequencing.batch import (
    Batch,
    Envelope,
    GroupRecipient,
    MemberRecipient,
    RecipientGroup,
    SignedSubmissionRequest,
    SubmissionRequest,
    sign_submissions,
)
from minicanton.core.sequencing.run_signature import proof_step

from .helpers import ALICE, BOB, DOMAIN, KEYS, MEDIATOR

_text = st.text(max_size=12)
_recipient = (st.builds(MemberRecipient, st.sampled_from([ALICE, BOB, MEDIATOR, ""])
                        | _text.map(MemberId))
              | st.builds(GroupRecipient, st.sampled_from(list(RecipientGroup))))
_envelope = st.builds(Envelope, st.lists(_recipient, max_size=3).map(tuple),
                      st.binary(max_size=300) | st.sampled_from([b"", b"x" * 5_000]))
_request = st.builds(
    SubmissionRequest, _text, _text.map(MemberId), _text,
    st.integers(-(2**63), 2**63 - 1) | st.sampled_from([0, 1, 1_700_000_000_000_000]),
    st.builds(Batch, st.lists(_envelope, max_size=4).map(tuple)))
_signature = st.builds(Signature, _text.map(Fingerprint), st.sampled_from(list(HashPurpose)),
                       st.binary(max_size=64))
_proof = st.lists(st.builds(proof_step, st.binary(max_size=40), st.booleans()),
                  max_size=4).map(tuple)
_signed = st.builds(SignedSubmissionRequest, _request, _signature, _proof)


def _previous(signed: SignedSubmissionRequest) -> bytes:
    return submission_to_proto(signed).SerializeToString()


@settings(max_examples=200, deadline=None)
@given(st.lists(_signed, min_size=1, max_size=4))
def test_any_request_is_written_as_protobuf_serialized_it(run: list[SignedSubmissionRequest]
                                                          ) -> None:
    assert submission_run_bytes(run) == [_previous(signed) for signed in run]
    assert submission_bytes(run[0]) == _previous(run[0])


def test_a_run_signed_together_shares_its_signature_and_reads_back() -> None:
    requests = [
        SubmissionRequest(DOMAIN, ALICE, f"m-{n}", 1_700_000_000_000_000 + n, Batch((
            Envelope((MemberRecipient(BOB), MemberRecipient(MEDIATOR)), bytes([n]) * 3_000),
            Envelope((GroupRecipient(RecipientGroup.MEDIATOR_GROUP),), b"informee"),
            Envelope((MemberRecipient(ALICE),), b"")))) for n in range(5)]
    run = sign_submissions(requests, KEYS[ALICE])
    raws = submission_run_bytes(run)
    assert raws == [_previous(signed) for signed in run]
    assert [parse_submission(raw) for raw in raws] == run
    assert len({pb.SignedSubmissionRequest.FromString(raw).signature.raw for raw in raws}) == 1
