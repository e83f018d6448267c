"""Submission requests: a sender's signed batch of envelopes, each with its own recipients.

A request is signed over its canonical hash (HashPurpose.SUBMISSION_REQUEST), computed from the
fields here rather than from wire bytes, so the proto is transport only and any faithful
encoding verifies. Lists are count-prefixed and envelopes hashed one by one, so no two
different requests share a hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from minicanton.core.crypto.signing import (
    Signature,
    SigningKeyPair,
    SigningPublicKey,
)
from minicanton.core.errors import CryptoError
from minicanton.core.hashing import Hash, HashPurpose, hash_of
from minicanton.core.ids import MemberId
from minicanton.core.sequencing.errors import InvalidSubmissionSignature
from minicanton.core.sequencing.run_signature import (
    RunProof,
    RunSignatureCache,
    sign_run,
    verify_in_run,
)

MAX_MESSAGE_ID_LENGTH = 255


class RecipientGroup(Enum):
    """Recipients by role, resolved to the enabled members at sequencing time."""

    ALL_MEMBERS = "ALL_MEMBERS"
    ALL_PARTICIPANTS = "ALL_PARTICIPANTS"
    MEDIATOR_GROUP = "MEDIATOR_GROUP"


@dataclass(frozen=True, slots=True)
class MemberRecipient:
    member: MemberId

    def __init__(self, member: MemberId) -> None:
        object.__setattr__(self, "member", member)

    @property
    def canonical(self) -> str:
        return f"member:{self.member}"


@dataclass(frozen=True, slots=True)
class GroupRecipient:
    group: RecipientGroup

    def __init__(self, group: RecipientGroup) -> None:
        object.__setattr__(self, "group", group)

    @property
    def canonical(self) -> str:
        return f"group:{self.group.value}"


Recipient = MemberRecipient | GroupRecipient


@dataclass(frozen=True, slots=True)
class Envelope:
    recipients: tuple[Recipient, ...]
    content: bytes

    def __init__(self, recipients: tuple[Recipient, ...], content: bytes) -> None:
        object.__setattr__(self, "recipients", recipients)
        object.__setattr__(self, "content", content)


@dataclass(frozen=True, slots=True)
class Batch:
    envelopes: tuple[Envelope, ...] = ()

    def __init__(self, envelopes: tuple[Envelope, ...] = ()) -> None:
        object.__setattr__(self, "envelopes", envelopes)


@dataclass(frozen=True, slots=True)
class SubmissionRequest:
    domain_id: str
    sender: MemberId
    message_id: str
    max_sequencing_time_us: int
    batch: Batch

    def __init__(
        self,
        domain_id: str,
        sender: MemberId,
        message_id: str,
        max_sequencing_time_us: int,
        batch: Batch,
    ) -> None:
        object.__setattr__(self, "domain_id", domain_id)
        object.__setattr__(self, "sender", sender)
        object.__setattr__(self, "message_id", message_id)
        object.__setattr__(self, "max_sequencing_time_us", max_sequencing_time_us)
        object.__setattr__(self, "batch", batch)


@dataclass(frozen=True, slots=True)
class SignedSubmissionRequest:
    """`signature` is over the request hash when `run_proof` is empty, else over the root of
    the requests signed with it (HashPurpose.SUBMISSION_REQUEST_RUN, run_signature.py)."""

    request: SubmissionRequest
    signature: Signature
    run_proof: RunProof = ()

    def __init__(
        self,
        request: SubmissionRequest,
        signature: Signature,
        run_proof: RunProof = (),
    ) -> None:
        object.__setattr__(self, "request", request)
        object.__setattr__(self, "signature", signature)
        object.__setattr__(self, "run_proof", run_proof)


def _i64(value: int) -> bytes:
    return value.to_bytes(8, "big", signed=True)


def envelope_digest(envelope: Envelope) -> bytes:
    recipients = [r.canonical for r in envelope.recipients]
    return hash_of(
        HashPurpose.SUBMISSION_REQUEST, "envelope", _i64(len(recipients)), *recipients,
        envelope.content,
    ).digest


def batch_digest(batch: Batch) -> bytes:
    return batch_digest_of([envelope_digest(e) for e in batch.envelopes])


def batch_digest_of(envelope_digests: Sequence[bytes]) -> bytes:
    """`batch_digest` of a batch whose envelopes' `envelope_digest`s these are, in order (a
    sequencer serving one envelope to several members computes its digest once)."""
    return hash_of(HashPurpose.SUBMISSION_REQUEST, "batch", _i64(len(envelope_digests)),
                   *envelope_digests).digest


def submission_request_hash(request: SubmissionRequest) -> Hash:
    return hash_of(
        HashPurpose.SUBMISSION_REQUEST, "minicanton.submission.v1", request.domain_id,
        request.sender, request.message_id, _i64(request.max_sequencing_time_us),
        batch_digest(request.batch),
    )


def sign_submission(request: SubmissionRequest, key: SigningKeyPair) -> SignedSubmissionRequest:
    signature = key.sign(submission_request_hash(request), HashPurpose.SUBMISSION_REQUEST)
    return SignedSubmissionRequest(request, signature)


def sign_submissions(requests: Sequence[SubmissionRequest],
                     key: SigningKeyPair) -> list[SignedSubmissionRequest]:
    """The requests signed together, once over their run root (one request: as
    `sign_submission`)."""
    signed = sign_run([submission_request_hash(r) for r in requests], key,
                      HashPurpose.SUBMISSION_REQUEST, HashPurpose.SUBMISSION_REQUEST_RUN)
    return [SignedSubmissionRequest(request, signature, proof)
            for request, (signature, proof) in zip(requests, signed, strict=True)]


def verify_submission(signed: SignedSubmissionRequest, key: SigningPublicKey,
                      cache: RunSignatureCache | None = None) -> None:
    """Raise `InvalidSubmissionSignature` unless the sender's `key` signed this request; with
    a `cache` (one per sender), a run root verified just before is not verified again."""
    try:
        verify_in_run(key, submission_request_hash(signed.request), signed.run_proof,
                      signed.signature, HashPurpose.SUBMISSION_REQUEST,
                      HashPurpose.SUBMISSION_REQUEST_RUN, cache)
    except (CryptoError, ValueError) as error:
        raise InvalidSubmissionSignature(
            f"submission {signed.request.message_id!r} of {signed.request.sender}: "
            f"{getattr(error, 'message', error)}"
        ) from None
