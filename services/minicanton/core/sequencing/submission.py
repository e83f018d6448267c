"""Checking a submission before anything is written, and turning accepted ones into events.

`validate_submission` is the whole admission rule: a request is refused (typed error, nothing
written) unless it fits the size limit, names this domain, comes from the authenticated,
enabled sender with a valid signature by its current key, addresses only enabled members, and
has a max sequencing time in the future but within the horizon. `plan_events` stamps a batch of
admitted requests in order; one whose stamp lands after its max sequencing time becomes a
deliver-error to its sender instead (it was not sequenced in time, and the sender is told).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from minicanton.core.ids import MemberId
from minicanton.core.sequencing.batch import (
    MAX_MESSAGE_ID_LENGTH,
    SignedSubmissionRequest,
    SubmissionRequest,
    verify_submission,
)
from minicanton.core.sequencing.errors import (
    MalformedRequest,
    MaxSequencingTimePassed,
    MaxSequencingTimeTooFar,
    RequestTooLarge,
    SenderMismatch,
    UnknownRecipient,
    UnknownSender,
    WrongDomain,
)
from minicanton.core.sequencing.events import DeliverError
from minicanton.core.sequencing.members import MemberDirectory
from minicanton.core.sequencing.ordering import TimestampAllocator
from minicanton.core.sequencing.run_signature import RunSignatureCache
from minicanton.core.sequencing.stored import StoredEnvelope, StoredEvent

SEQUENCING_TIME_EXCEEDED = "SEQUENCER_MAX_SEQUENCING_TIME_EXCEEDED"


@dataclass(frozen=True, slots=True)
class SubmissionLimits:
    domain_id: str
    max_request_size_bytes: int
    max_sequencing_time_horizon_us: int


@dataclass(frozen=True, slots=True)
class ValidatedSubmission:
    request: SubmissionRequest
    sender_number: int
    envelopes: tuple[StoredEnvelope, ...]

    def __init__(
        self,
        request: SubmissionRequest,
        sender_number: int,
        envelopes: tuple[StoredEnvelope, ...],
    ) -> None:
        object.__setattr__(self, "request", request)
        object.__setattr__(self, "sender_number", sender_number)
        object.__setattr__(self, "envelopes", envelopes)

    @property
    def dedup_key(self) -> tuple[int, str]:
        return (self.sender_number, self.request.message_id)


def validate_submission(
    signed: SignedSubmissionRequest, size_bytes: int, authenticated: MemberId,
    directory: MemberDirectory, limits: SubmissionLimits, now_us: int,
    runs: RunSignatureCache | None = None,
) -> ValidatedSubmission:
    """`runs`: the sender's cache of the request run it verified last (run_signature.py)."""
    request = signed.request
    _check_shape(request, size_bytes, authenticated, limits)
    sender = directory.enabled(request.sender)
    if sender is None:
        raise UnknownSender(f"sender {request.sender} is not an enabled member")
    verify_submission(signed, sender.public_key, runs)
    _check_max_sequencing_time(request, limits, now_us)
    return ValidatedSubmission(request, sender.number, _resolve(request, directory))


def _check_shape(
    request: SubmissionRequest, size_bytes: int, authenticated: MemberId,
    limits: SubmissionLimits,
) -> None:
    if size_bytes > limits.max_request_size_bytes:
        raise RequestTooLarge(
            f"request of {size_bytes} bytes exceeds the domain's maximum of "
            f"{limits.max_request_size_bytes}"
        )
    if request.domain_id != limits.domain_id:
        raise WrongDomain(f"request is for domain {request.domain_id!r}, this is "
                          f"{limits.domain_id!r}")
    if not 0 < len(request.message_id) <= MAX_MESSAGE_ID_LENGTH:
        raise MalformedRequest(f"message id must be 1-{MAX_MESSAGE_ID_LENGTH} characters")
    if request.sender != authenticated:
        raise SenderMismatch(f"authenticated as {authenticated}, sending as {request.sender}")


def _check_max_sequencing_time(
    request: SubmissionRequest, limits: SubmissionLimits, now_us: int
) -> None:
    if request.max_sequencing_time_us <= now_us:
        raise MaxSequencingTimePassed(
            f"max sequencing time {request.max_sequencing_time_us} is not after now ({now_us})"
        )
    if request.max_sequencing_time_us > now_us + limits.max_sequencing_time_horizon_us:
        raise MaxSequencingTimeTooFar(
            f"max sequencing time {request.max_sequencing_time_us} is more than "
            f"{limits.max_sequencing_time_horizon_us} us ahead"
        )


def _resolve(request: SubmissionRequest, directory: MemberDirectory) -> tuple[StoredEnvelope, ...]:
    resolved = []
    for index, envelope in enumerate(request.batch.envelopes):
        if not envelope.recipients:
            raise MalformedRequest(f"envelope {index} has no recipients")
        numbers: frozenset[int] = frozenset()
        for recipient in envelope.recipients:
            numbers |= directory.resolve(recipient)
        if not numbers:
            raise UnknownRecipient(f"envelope {index} resolves to no enabled member")
        resolved.append(StoredEnvelope(numbers, envelope))
    return tuple(resolved)


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    """One admitted submission's fate in a write: its event, or None when the same
    (sender, message id) came earlier in the same batch."""

    submission: ValidatedSubmission
    event: StoredEvent | None

    def __init__(self, submission: ValidatedSubmission, event: StoredEvent | None) -> None:
        object.__setattr__(self, "submission", submission)
        object.__setattr__(self, "event", event)


def plan_events(
    submissions: Sequence[ValidatedSubmission], allocator: TimestampAllocator, now_us: int
) -> list[PlannedEvent]:
    seen: set[tuple[int, str]] = set()
    planned = []
    for submission in submissions:
        if submission.dedup_key in seen:
            planned.append(PlannedEvent(submission, None))
            continue
        seen.add(submission.dedup_key)
        planned.append(PlannedEvent(submission, _event(submission, allocator, now_us)))
    return planned


def _event(
    submission: ValidatedSubmission, allocator: TimestampAllocator, now_us: int
) -> StoredEvent:
    request = submission.request
    timestamp_us = allocator.allocate(now_us)
    error = None
    if timestamp_us > request.max_sequencing_time_us:
        error = DeliverError(
            request.message_id, SEQUENCING_TIME_EXCEEDED,
            f"sequencing time {timestamp_us} is after the max sequencing time "
            f"{request.max_sequencing_time_us}",
        )
    return StoredEvent(
        timestamp_us, allocator.node_index, submission.sender_number, request.message_id,
        () if error else submission.envelopes, error,
    )
