"""Typed errors of sequencing, each with a stable Daml-style `error_id`.

Submission errors are raised before anything is written (the sequencer answers the send with
them); `SequencerClientError`s are what a member's sequencer client reports to its owner. The
shells map `grpc_status` at the boundary only.
"""

from __future__ import annotations

from minicanton.core.errors import CryptoError, InvalidArgument, MinicantonError


class SubmissionRejected(MinicantonError):
    """A send the sequencer refuses; nothing is written for it."""

    error_id = "SEQUENCER_SUBMISSION_REJECTED"
    grpc_status = "INVALID_ARGUMENT"


class MalformedRequest(SubmissionRejected, InvalidArgument):
    error_id = "SEQUENCER_MALFORMED_REQUEST"


class RequestTooLarge(SubmissionRejected):
    error_id = "SEQUENCER_REQUEST_TOO_LARGE"
    grpc_status = "RESOURCE_EXHAUSTED"


class WrongDomain(SubmissionRejected):
    error_id = "SEQUENCER_WRONG_DOMAIN"


class UnknownSender(SubmissionRejected):
    error_id = "SEQUENCER_UNKNOWN_SENDER"
    grpc_status = "PERMISSION_DENIED"


class SenderMismatch(SubmissionRejected):
    """The authenticated member is not the request's sender."""

    error_id = "SEQUENCER_SENDER_NOT_AUTHENTICATED_MEMBER"
    grpc_status = "PERMISSION_DENIED"


class InvalidSubmissionSignature(SubmissionRejected, CryptoError):
    error_id = "SEQUENCER_INVALID_SIGNATURE"
    grpc_status = "UNAUTHENTICATED"


class UnknownRecipient(SubmissionRejected):
    error_id = "SEQUENCER_UNKNOWN_RECIPIENT"


class MaxSequencingTimePassed(SubmissionRejected):
    error_id = "SEQUENCER_MAX_SEQUENCING_TIME_PASSED"


class MaxSequencingTimeTooFar(SubmissionRejected):
    error_id = "SEQUENCER_MAX_SEQUENCING_TIME_TOO_FAR"


class UnknownMember(MinicantonError):
    error_id = "SEQUENCER_UNKNOWN_MEMBER"
    grpc_status = "NOT_FOUND"


class MemberDisabled(MinicantonError):
    error_id = "SEQUENCER_MEMBER_DISABLED"
    grpc_status = "FAILED_PRECONDITION"


class AuthenticationFailed(MinicantonError):
    error_id = "SEQUENCER_AUTHENTICATION_FAILED"
    grpc_status = "UNAUTHENTICATED"


class PermissionDenied(MinicantonError):
    """An authenticated member asked for something of another member."""

    error_id = "SEQUENCER_PERMISSION_DENIED"
    grpc_status = "PERMISSION_DENIED"


class CounterPruned(MinicantonError):
    error_id = "SEQUENCER_COUNTER_PRUNED"
    grpc_status = "OUT_OF_RANGE"


class SequencerUnavailable(MinicantonError):
    """This instance cannot sequence now (offline, fenced, shutting down): try another."""

    error_id = "SEQUENCER_UNAVAILABLE"
    grpc_status = "UNAVAILABLE"


class SequencerClientError(MinicantonError):
    error_id = "SEQUENCER_CLIENT_ERROR"


class EventVerificationFailed(SequencerClientError, CryptoError):
    """A delivered event is not signed by a trusted sequencer, or names another member or
    domain: processing stops, the event is never skipped."""

    error_id = "SEQUENCER_EVENT_VERIFICATION_FAILED"


class EventChainBroken(SequencerClientError):
    """A gap in counters or a previous-timestamp that does not chain: processing stops."""

    error_id = "SEQUENCER_EVENT_CHAIN_BROKEN"


class SequencerFork(SequencerClientError):
    """Two sequencers served different events at the same counter: an alarm."""

    error_id = "SEQUENCER_FORK_DETECTED"
