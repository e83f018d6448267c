"""What the participant answers: its confirmation responses and its submitters' completions.

Responses (DESIGN.md §3 step 5): for each view we hold that has confirming parties we may
confirm for, one signed `ConfirmationResponse` for all of them. The local verdict is the
first failure in this order: the request-wide rejection (malformed, authenticity, ledger
time, replay), the view's own checks (packages, parameters, conformance, authorization), the
view's part of the activeness result (locked, inactive, duplicate or inconsistent key);
otherwise approval. When we hold no view at all (a withheld one), a single rejection that
names no view speaks for every party we may confirm for; the mediator applies it to each view
where they confirm. All responses of one request go in one batch to the request's mediator
(or the mediator group if we could not read which), under the deterministic message id
``confirmation-<request ts>`` and with the participant response deadline as max sequencing
time, so a resend is deduplicated and a late one is never sequenced.

Completions (step 7) carry the reason a submitter needs: the first rejection reason's code as
the failed check, every reason in the message (they name the contracts), the rejecting
participants; for a timeout, the participants that did not answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from minicanton.core.hashing import Hash
from minicanton.core.ids import ParticipantId, PartyId, TransactionId
from minicanton.core.lf.transaction import ContractInstance
from minicanton.core.protocol.commit_set import EMPTY_COMMIT_SET, CommitSet, commit_set_for
from minicanton.core.protocol.conflict_detection import ActivenessResult
from minicanton.core.protocol.messages import (
    Approve,
    ConfirmationResponse,
    LocalApprove,
    LocalReject,
    LocalVerdict,
    MediatorResult,
    Reject,
    Timeout,
    encode_protocol_message,
)
from minicanton.core.protocol.participant_effects import (
    LOCAL_TIMEOUT,
    MEDIATOR_TIMEOUT,
    NOT_SEQUENCED,
    Completion,
    Effect,
    Rejection,
    RequestTimeProof,
    SendBatch,
    TrackedSubmission,
)
from minicanton.core.protocol.submission import ParticipantIdentity
from minicanton.core.protocol.validation import HeldView, ValidatedRequest
from minicanton.core.protocol.validation_views import forest_of_views, with_original_ids
from minicanton.core.sequencing.batch import (
    Batch,
    Envelope,
    GroupRecipient,
    MemberRecipient,
    Recipient,
    RecipientGroup,
)
from minicanton.core.sequencing.events import DeliverError

DUPLICATE_REQUEST = "LOCAL_VERDICT_DUPLICATE_REQUEST"
RESPONSE_MESSAGE_ID_PREFIX = "confirmation-"


def response_message_id(request_ts_us: int) -> str:
    return f"{RESPONSE_MESSAGE_ID_PREFIX}{request_ts_us}"


def local_verdict(
    request: ValidatedRequest, view: HeldView, result: ActivenessResult
) -> LocalVerdict:
    if request.rejection is not None:
        return request.rejection
    if view.rejection is not None:
        return view.rejection
    rejections = result.restricted_to(view.core_activeness).rejections()
    if rejections:
        first = rejections[0]
        return LocalReject(first.error_id, "; ".join(r.message for r in rejections))
    return LocalApprove()


def responses_for(
    request: ValidatedRequest, result: ActivenessResult, identity: ParticipantIdentity
) -> SendBatch | None:
    responses = [
        _response(request, view.view_hash, local_verdict(request, view, result),
                  view.confirming_parties, identity)
        for view in request.views
        if view.confirming_parties
    ]
    if not request.views and request.confirming_parties and request.rejection is not None:
        responses.append(_response(request, None, request.rejection, request.confirming_parties,
                                   identity))
    if not responses:
        return None
    recipient: Recipient = (
        MemberRecipient(request.mediator) if request.mediator is not None
        else GroupRecipient(RecipientGroup.MEDIATOR_GROUP)
    )
    envelopes = tuple(Envelope((recipient,), encode_protocol_message(r)) for r in responses)
    return SendBatch(response_message_id(request.request_ts_us), Batch(envelopes),
                     request.response_deadline_us)


def _response(
    request: ValidatedRequest,
    view_hash: Hash | None,
    verdict: LocalVerdict,
    parties: frozenset[PartyId],
    identity: ParticipantIdentity,
) -> ConfirmationResponse:
    return ConfirmationResponse.create(
        request_ts_us=request.request_ts_us, view_hash=view_hash,
        sender=identity.participant_id, local_verdict=verdict,
        confirming_parties=parties, root_hash=request.root_hash,
        signing_key=identity.signing_key,
    )


# --------------------------------------------------------------------------------- completions


def verdict_completion(
    tracked: TrackedSubmission,
    result: MediatorResult,
    ts_us: int,
    transaction_id: TransactionId | None,
) -> Completion:
    verdict = result.verdict
    if isinstance(verdict, Approve):
        return _completion(tracked, ts_us, transaction_id=transaction_id)
    if isinstance(verdict, Timeout):
        missing = tuple(u.participant for u in verdict.unresponsive)
        names = ", ".join(missing) or "(none named)"
        return _completion(tracked, ts_us, rejection=Rejection(
            MEDIATOR_TIMEOUT,
            f"the request timed out: no response in time from {names}",
            missing, (), verdict.unresponsive,
        ))
    return _completion(tracked, ts_us, rejection=_rejection(verdict))


def _rejection(verdict: Reject) -> Rejection:
    first = verdict.reasons[0]
    text = "; ".join(
        f"{r.code}" + (f" from {r.participant}" if r.participant else "") + f": {r.message}"
        for r in verdict.reasons
    )
    participants: tuple[ParticipantId, ...] = tuple(sorted(
        {r.participant for r in verdict.reasons if r.participant is not None}
    ))
    return Rejection(first.code, text, participants, verdict.reasons)


def deliver_error_completion(
    tracked: TrackedSubmission, error: DeliverError, ts_us: int
) -> Completion:
    return _completion(tracked, ts_us, rejection=Rejection(
        error.error_id, f"the sequencer refused the request: {error.reason}"))


def refused_completion(
    tracked: TrackedSubmission, error_id: str, reason: str, ts_us: int
) -> Completion:
    return _completion(tracked, ts_us, rejection=Rejection(
        error_id, f"the sequencer refused the request: {reason}"))


def not_sequenced_completion(tracked: TrackedSubmission, ts_us: int) -> Completion:
    return _completion(tracked, ts_us, rejection=Rejection(
        NOT_SEQUENCED,
        f"the request was not sequenced by its max sequencing time "
        f"{tracked.max_sequencing_time_us} (sequencer time is {ts_us})",
    ))


def local_timeout_completion(tracked: TrackedSubmission, ts_us: int) -> Completion:
    return _completion(tracked, ts_us, rejection=Rejection(
        LOCAL_TIMEOUT, f"no verdict arrived by the decision time (sequencer time is {ts_us})"))


def _completion(
    tracked: TrackedSubmission,
    ts_us: int,
    *,
    transaction_id: TransactionId | None = None,
    rejection: Rejection | None = None,
) -> Completion:
    return Completion(tracked.change_id, tracked.submission_id, ts_us, transaction_id, rejection)


# ------------------------------------------------------------------------------------ commits


def commit_set_of(request: ValidatedRequest) -> CommitSet:
    """What an approval commits here: the views that passed our checks, for our parties."""
    views = request.model_valid_views
    if not views or request.metadata is None:
        return EMPTY_COMMIT_SET
    forest = forest_of_views([v.view for v in views])
    inputs = {cid: c for v in views for cid, c in v.view.input_contracts().items()}
    commit_set = commit_set_for(
        forest.transaction, frozenset(request.hosted_parties), inputs,
        request.metadata.ledger_time_us,
    )
    created = {c.contract.contract_id: c.contract
               for v in views for w in v.view.walk() for c in w.data.created_core}
    return replace(
        commit_set,
        created=tuple(
            replace(c, contract=_salted(c.contract, created)) for c in commit_set.created
        ),
        divulged=tuple(_salted(c, created) for c in commit_set.divulged),
        projection=with_original_ids(commit_set.projection, forest),
    )


def _salted(
    contract: ContractInstance, disclosed: Mapping[str, ContractInstance]
) -> ContractInstance:
    """`contract` as its view disclosed it, salt included (validation checked that the two
    agree in everything else), so that we can later disclose it in turn."""
    return disclosed.get(contract.contract_id, contract)


def sends_last(effects: list[Effect]) -> list[Effect]:
    """Persist before send: sends and time-proof requests after everything else."""
    later = (SendBatch, RequestTimeProof)
    return [e for e in effects if not isinstance(e, later)] + [
        e for e in effects if isinstance(e, later)
    ]
