"""What each recipient of a verdict may learn from it (DESIGN.md §3 step 6, seed 003).

Theory of operation
-------------------
Seed 003: "the mediator serves to hide the participants' identities from each other". The
mediator decides one verdict per request. Its *full* form names every rejecting participant
with its free-text reason (which may name contracts), the view and the parties concerned,
and, for a timeout, every participant that did not answer. Only two parties see it:

* the mediator's audit log (the auditor's API), and
* the submitting participant, the one the sequencer authenticated as the request's sender
  (`Mediator` checks that against the informee message). It built the whole transaction, so
  it already knows every view and every informee, and DESIGN.md §3 step 6 and the Timeout
  acceptance scenario require that it learns *which participants* did not answer.

Every other recipient (an informee participant, or one that was sent a root-hash message)
gets `informee_verdict(...)`: the same kind of verdict — all of them must commit or roll back
alike — reduced to what its own views already showed it, as Canton's informee-facing
`ParticipantReject` carries only (parties, reject code) pairs:

* no participant id but its own;
* each reject reason keeps its stable code; the free text becomes a fixed description of the
  code, except for the recipient's own rejection, which it wrote itself;
* a view hash only for views the recipient was entitled to (it hosts one of the parties
  entitled to the view: the view's informees or those of an ancestor view, as the submitter
  addresses views, `merkle.entitled_parties`);
* only parties that are informees of such views;
* a timeout names no participant, only the still-pending parties it could see.

Identical reasons left after this reduction are merged, so the count of reasons does not tell
how many other participants rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

from minicanton.core.hashing import Hash
from minicanton.core.ids import ParticipantId, PartyId
from minicanton.core.protocol.merkle import entitled_parties
from minicanton.core.protocol.messages import (
    Approve,
    InformeeMessage,
    Reject,
    RejectReason,
    Timeout,
    Verdict,
)
from minicanton.core.topology.snapshot import TopologySnapshot

# Fixed texts for the mediator's own codes (response_aggregation.MediatorRejectCode); their
# full messages name participants, parties and views.
_MEDIATOR_TEXTS = {
    "MEDIATOR_ROOT_HASH_MISMATCH": "an informee participant was sent another root hash",
    "MEDIATOR_MISSING_ROOT_HASH_MESSAGE": "an informee participant was sent no root-hash message",
    "MEDIATOR_SUPERFLUOUS_ROOT_HASH_MESSAGE":
        "a participant hosting no informee was sent a root-hash message",
    "MEDIATOR_WRONG_MEDIATOR": "the request names another mediator",
    "MEDIATOR_INFORMEES_NOT_HOSTED": "an informee is hosted by no participant",
    "MEDIATOR_QUORUM_UNREACHABLE":
        "a view's threshold cannot be reached by the participants that may confirm it",
    "MEDIATOR_MALFORMED_REQUEST": "the request is malformed",
    "MEDIATOR_DUPLICATE_REQUEST": "the request repeats a recent request",
}
PARTICIPANT_REJECT_TEXT = "rejected by a confirming participant"


@dataclass(frozen=True, slots=True)
class Sight:
    """What a participant saw of a request: the views it was entitled to, their informees."""

    views: frozenset[Hash]
    parties: frozenset[PartyId]


def sight_of(
    participant: ParticipantId, informee_message: InformeeMessage, snapshot: TopologySnapshot
) -> Sight:
    """`participant`'s sight of the request, from the topology at the request's time."""
    entitled = entitled_parties(informee_message.tree)
    hosted = {
        party for party in informee_message.informees
        if participant in snapshot.hosting_participants(party)
    }
    views = [
        view for view in informee_message.views
        if any(PartyId(p) in hosted for p in entitled[view.view_position])
    ]
    return Sight(
        frozenset(v.view_hash for v in views),
        frozenset(PartyId(p) for v in views for p in v.parameters.informees),
    )


def hides_nothing(verdict: Verdict) -> bool:
    """`informee_verdict` gives every recipient `verdict` as it is (an approval), so no
    recipient's sight need be worked out (the two are kept side by side and tested to agree)."""
    return isinstance(verdict, Approve)


def informee_verdict(verdict: Verdict, recipient: ParticipantId, sight: Sight) -> Verdict:
    """`verdict` as a recipient other than the submitter may receive it; `verdict` itself
    when there is nothing to hide (`hides_nothing`)."""
    if isinstance(verdict, Approve):
        return verdict
    if isinstance(verdict, Timeout):
        return Timeout((), verdict.parties & sight.parties)
    reasons: list[RejectReason] = []
    for reason in verdict.reasons:
        reduced = _reduced(reason, recipient, sight)
        if reduced not in reasons:
            reasons.append(reduced)
    return Reject(tuple(reasons))


def _reduced(reason: RejectReason, recipient: ParticipantId, sight: Sight) -> RejectReason:
    own = reason.participant == recipient
    if own:
        message = reason.message
    elif reason.participant is None:
        message = _MEDIATOR_TEXTS.get(reason.code, "rejected by the mediator")
    else:
        message = PARTICIPANT_REJECT_TEXT
    view_hash = reason.view_hash if reason.view_hash in sight.views else None
    return RejectReason(reason.code, message, recipient if own else None, view_hash,
                        reason.parties & sight.parties)
