"""What the participant machine asks its shell to do, and the completions it reports.

Effects are returned in the order they must happen. Every effect except `SendBatch`,
`RequestTimeProof` and `RaiseAlarm` is state to persist, and all the persisted effects of one
sequenced event go into ONE database transaction together with that event's clean position
(`PersistCommit`, `EmitCompletion`, `PersistPendingRequest`, `RemovePendingRequest`,
`MarkSubmissionSequenced`); only then are the `SendBatch`es sent (persist before send). A
`SendBatch` from `ParticipantMachine.submit` is sent once the submission is recorded in flight
(the shell's deduplication step). Message ids are deterministic, so a resend after a crash is
deduplicated by the sequencer.

A pending request's payload (`encode_pending_payload`) holds the request's envelopes as we
received them and the responses we sent, so a restarted participant re-derives the request
(`ParticipantMachine.restore`) and resends the responses under the same message id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

from minicanton.core.hashing import Hash
from minicanton.core.ids import MemberId, ParticipantId, PartyId, RequestId, TransactionId
from minicanton.core.lf.contract_id import CONTRACT_ID_VERSION_PREFIX
from minicanton.core.protocol.commit_set import CommitSet, ProjectedTransaction
from minicanton.core.protocol.conflict_detection import RequestLocks
from minicanton.core.protocol.deduplication import ChangeId
from minicanton.core.protocol.messages import RejectReason, UnresponsiveParticipant
from minicanton.core.protocol.views import SubmitterMetadata
from minicanton.core.sequencing.batch import (
    Batch,
    Envelope,
    GroupRecipient,
    MemberRecipient,
    Recipient,
    RecipientGroup,
)
from minicanton.core.topology.errors import TopologyDecodeError
from minicanton.core.topology.serialization import Reader, Writer

# google.rpc.Code values a completion carries (what the Ledger API reports).
STATUS_OK = 0
STATUS_INVALID_ARGUMENT = 3
STATUS_NOT_FOUND = 5
STATUS_ALREADY_EXISTS = 6
STATUS_PERMISSION_DENIED = 7
STATUS_FAILED_PRECONDITION = 9
STATUS_ABORTED = 10

MEDIATOR_TIMEOUT = "MEDIATOR_SAYS_TX_TIMED_OUT"
NOT_SEQUENCED = "NOT_SEQUENCED_TIMEOUT"
LOCAL_TIMEOUT = "LOCAL_VERDICT_TIMEOUT"
# The store's alarm for a `PersistCommit` whose transaction id is already in the ledger (a
# replay that got past replay protection): nothing is written twice, the event still commits.
DUPLICATE_TRANSACTION = "PARTICIPANT_DUPLICATE_TRANSACTION"

# Every code a rejection carries, with the status of its Canton error category: contention
# (locks, timeouts, time bounds) ABORTED, missing contracts NOT_FOUND, existing keys
# ALREADY_EXISTS, a state the submitter must change first (vetting, hosting, quorum)
# FAILED_PRECONDITION, authorization PERMISSION_DENIED; a malformed or tampered request is a
# security alert, INVALID_ARGUMENT. The sequencer's refusals (its error ids) default to
# INVALID_ARGUMENT. runtime.grpc_errors.STATUS_BY_ERROR_ID takes these in for the gRPC side.
_STATUS_BY_CODE = {
    "LOCAL_VERDICT_LOCKED_CONTRACTS": STATUS_ABORTED,
    "LOCAL_VERDICT_LOCKED_KEYS": STATUS_ABORTED,
    "LOCAL_VERDICT_INACTIVE_CONTRACTS": STATUS_NOT_FOUND,
    "LOCAL_VERDICT_DUPLICATE_KEY": STATUS_ALREADY_EXISTS,
    "LOCAL_VERDICT_INCONSISTENT_KEY": STATUS_ALREADY_EXISTS,
    "LOCAL_VERDICT_SUBMITTER_NOT_AUTHORIZED": STATUS_PERMISSION_DENIED,
    "LOCAL_VERDICT_FAILED_AUTHORIZATION": STATUS_PERMISSION_DENIED,
    "LOCAL_VERDICT_LEDGER_TIME_OUT_OF_BOUND": STATUS_ABORTED,
    "LOCAL_VERDICT_MAX_SEQUENCING_TIME_EXCEEDED": STATUS_ABORTED,
    "LOCAL_VERDICT_PACKAGE_NOT_VETTED": STATUS_FAILED_PRECONDITION,
    "LOCAL_VERDICT_CREATES_EXISTING_CONTRACTS": STATUS_INVALID_ARGUMENT,
    "LOCAL_VERDICT_MALFORMED_REQUEST": STATUS_INVALID_ARGUMENT,
    "LOCAL_VERDICT_MALFORMED_VIEW": STATUS_INVALID_ARGUMENT,
    "LOCAL_VERDICT_MISSING_VIEWS": STATUS_INVALID_ARGUMENT,
    "LOCAL_VERDICT_MODEL_CONFORMANCE": STATUS_INVALID_ARGUMENT,
    "LOCAL_VERDICT_AUTHENTICATION_FAILED": STATUS_INVALID_ARGUMENT,
    "LOCAL_VERDICT_CONTRACT_AUTHENTICATION_FAILED": STATUS_INVALID_ARGUMENT,
    "LOCAL_VERDICT_DUPLICATE_REQUEST": STATUS_INVALID_ARGUMENT,
    "MEDIATOR_INFORMEES_NOT_HOSTED": STATUS_FAILED_PRECONDITION,
    "MEDIATOR_QUORUM_UNREACHABLE": STATUS_FAILED_PRECONDITION,
    "MEDIATOR_ROOT_HASH_MISMATCH": STATUS_INVALID_ARGUMENT,
    "MEDIATOR_MISSING_ROOT_HASH_MESSAGE": STATUS_INVALID_ARGUMENT,
    "MEDIATOR_SUPERFLUOUS_ROOT_HASH_MESSAGE": STATUS_INVALID_ARGUMENT,
    "MEDIATOR_WRONG_MEDIATOR": STATUS_INVALID_ARGUMENT,
    "MEDIATOR_MALFORMED_REQUEST": STATUS_INVALID_ARGUMENT,
    "MEDIATOR_DUPLICATE_REQUEST": STATUS_INVALID_ARGUMENT,
    "SEQUENCER_MAX_SEQUENCING_TIME_EXCEEDED": STATUS_ABORTED,
    MEDIATOR_TIMEOUT: STATUS_ABORTED,
    NOT_SEQUENCED: STATUS_ABORTED,
    LOCAL_TIMEOUT: STATUS_ABORTED,
}
REJECTION_STATUS_BY_CODE = MappingProxyType(_STATUS_BY_CODE)
_CONTRACT_ID = re.compile(rf"\b{CONTRACT_ID_VERSION_PREFIX}[0-9a-f]{{64}}\b")


def status_of(error_id: str) -> int:
    return _STATUS_BY_CODE.get(error_id, STATUS_INVALID_ARGUMENT)


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a command failed: the check (`error_id`), the explanation naming the contracts,
    and the participants concerned (the rejecting ones, or those that did not answer)."""

    error_id: str
    message: str
    participants: tuple[ParticipantId, ...] = ()
    reasons: tuple[RejectReason, ...] = ()
    unresponsive: tuple[UnresponsiveParticipant, ...] = ()

    @property
    def status_code(self) -> int:
        return status_of(self.error_id)

    @property
    def contract_ids(self) -> tuple[str, ...]:
        """The contracts the reasons name (contract ids are ``00`` + 64 hex digits)."""
        texts = [self.message, *[r.message for r in self.reasons]]
        return tuple(sorted({cid for text in texts for cid in _CONTRACT_ID.findall(text)}))


@dataclass(frozen=True, slots=True)
class Completion:
    """The outcome of one of our submissions: accepted with a transaction id, or rejected."""

    change_id: ChangeId
    submission_id: str
    record_time_us: int
    transaction_id: TransactionId | None = None
    rejection: Rejection | None = None

    @property
    def accepted(self) -> bool:
        return self.rejection is None


@dataclass(frozen=True, slots=True)
class TrackedSubmission:
    """One of our submissions from `submit` until its completion (restored after a crash
    from the store's in-flight rows)."""

    change_id: ChangeId
    submission_id: str
    message_id: str
    max_sequencing_time_us: int
    request_ts_us: int | None = None  # set by our receipt: the request's id

    def __init__(
        self,
        change_id: ChangeId,
        submission_id: str,
        message_id: str,
        max_sequencing_time_us: int,
        request_ts_us: int | None = None,
    ) -> None:
        object.__setattr__(self, "change_id", change_id)
        object.__setattr__(self, "submission_id", submission_id)
        object.__setattr__(self, "message_id", message_id)
        object.__setattr__(self, "max_sequencing_time_us", max_sequencing_time_us)
        object.__setattr__(self, "request_ts_us", request_ts_us)


# ------------------------------------------------------------------------------------ effects


@dataclass(frozen=True, slots=True)
class SendBatch:
    message_id: str
    batch: Batch
    max_sequencing_time_us: int


@dataclass(frozen=True, slots=True)
class PersistCommit:
    """An approved transaction as far as our parties see it: apply `commit_set` to the ACS
    (archive, add created, store divulged) and append its projection at a new offset; with
    `completion` at the same offset when it was our submission."""

    request_id: RequestId
    transaction_id: TransactionId
    root_hash: Hash
    record_time_us: int
    ledger_time_us: int
    workflow_id: str
    commit_set: CommitSet
    submitter: SubmitterMetadata | None  # known when we hold a root view
    completion: Completion | None

    def projection_for(self, party: PartyId) -> ProjectedTransaction:
        return self.commit_set.projection.projection_for(party)


@dataclass(frozen=True, slots=True)
class EmitCompletion:
    """A completion not tied to a commit of ours (a rejection, a timeout, a refusal)."""

    completion: Completion


@dataclass(frozen=True, slots=True)
class PersistPendingRequest:
    """A request awaiting its verdict: its locks and what rebuilds it after a restart."""

    locks: RequestLocks
    payload: bytes


@dataclass(frozen=True, slots=True)
class RemovePendingRequest:
    request_id: RequestId


@dataclass(frozen=True, slots=True)
class MarkSubmissionSequenced:
    change_id: ChangeId
    message_id: str
    request_id: RequestId
    sequenced_at_us: int


@dataclass(frozen=True, slots=True)
class RequestTimeProof:
    """A deadline passed on our clock; only a sequenced event shows it passed in the domain."""

    at_us: int


@dataclass(frozen=True, slots=True)
class RaiseAlarm:
    ts_us: int
    code: str
    message: str


Effect = (
    SendBatch | PersistCommit | EmitCompletion | PersistPendingRequest | RemovePendingRequest
    | MarkSubmissionSequenced | RequestTimeProof | RaiseAlarm
)
PERSISTED = (PersistCommit, EmitCompletion, PersistPendingRequest, RemovePendingRequest,
             MarkSubmissionSequenced)


# ------------------------------------------------------------------------- pending payloads

_PAYLOAD_VERSION = 2  # 2 adds the view messages' recipients; 1 is still read


@dataclass(frozen=True, slots=True)
class PendingPayload:
    view_messages: tuple[bytes, ...]
    root_hash_messages: tuple[bytes, ...]
    responses: SendBatch | None
    # each view message's envelope recipients; None in a payload persisted before they were
    view_recipients: tuple[tuple[Recipient, ...], ...] | None = None

    def __init__(
        self,
        view_messages: tuple[bytes, ...],
        root_hash_messages: tuple[bytes, ...],
        responses: SendBatch | None,
        view_recipients: tuple[tuple[Recipient, ...], ...] | None = None,
    ) -> None:
        object.__setattr__(self, "view_messages", view_messages)
        object.__setattr__(self, "root_hash_messages", root_hash_messages)
        object.__setattr__(self, "responses", responses)
        object.__setattr__(self, "view_recipients", view_recipients)


def encode_pending_payload(payload: PendingPayload) -> bytes:
    w = Writer()
    w.u8(_PAYLOAD_VERSION)
    for group in (payload.view_messages, payload.root_hash_messages):
        w.u32(len(group))
        for item in group:
            w.raw(item)
    w.u8(0 if payload.responses is None else 1)
    if payload.responses is not None:
        _write_send(w, payload.responses)
    recipients = payload.view_recipients
    w.u8(0 if recipients is None else 1)
    if recipients is not None:
        w.u32(len(recipients))
        for envelope_recipients in recipients:
            w.texts([r.canonical for r in envelope_recipients])
    return w.getvalue()


def _write_send(w: Writer, send: SendBatch) -> None:
    w.text(send.message_id)
    w.i64(send.max_sequencing_time_us)
    w.u32(len(send.batch.envelopes))
    for envelope in send.batch.envelopes:
        w.texts([r.canonical for r in envelope.recipients])
        w.raw(envelope.content)


def decode_pending_payload(data: bytes) -> PendingPayload:
    """The payload `encode_pending_payload` wrote; `TopologyDecodeError` on bad bytes."""
    r = Reader(data)
    version = r.u8()
    if version not in (1, _PAYLOAD_VERSION):
        raise TopologyDecodeError("unknown pending-request payload version")
    views = tuple(r.raw() for _ in range(r.count(4)))
    roots = tuple(r.raw() for _ in range(r.count(4)))
    responses = _read_send(r) if r.u8() == 1 else None
    recipients = None
    if version >= 2 and r.u8() == 1:
        recipients = tuple(tuple(_recipient(text) for text in r.texts())
                           for _ in range(r.count(4)))
    r.end()
    return PendingPayload(views, roots, responses, recipients)


def _read_send(r: Reader) -> SendBatch:
    message_id = r.text()
    max_sequencing_time_us = r.i64()
    envelopes = tuple(
        Envelope(tuple(_recipient(text) for text in r.texts()), r.raw())
        for _ in range(r.count(8))
    )
    return SendBatch(message_id, Batch(envelopes), max_sequencing_time_us)


def _recipient(canonical: str) -> Recipient:
    kind, _, name = canonical.partition(":")
    if kind == "member":
        return MemberRecipient(MemberId(name))
    if kind == "group" and name in RecipientGroup.__members__:
        return GroupRecipient(RecipientGroup(name))
    raise TopologyDecodeError(f"bad recipient {canonical!r}")
