"""Response aggregation: what the mediator knows about one confirmation request.

Theory of operation
-------------------
`ResponseAggregation` is an immutable value, like Canton's: `progress(response, snapshot)`
returns a new aggregation and leaves the old one untouched, so a pending request is just the
latest value and replaying the same responses rebuilds it exactly. `snapshot` is always the
topology at the *request's* timestamp: who hosts which party, with which permission and trust
level, is fixed when the request is sequenced (DESIGN.md §3 step 6).

Per view the aggregation keeps the confirming parties that approved, those not heard from
yet (`pending`), and the rejections. A view is *approved* once the weights of its approving
parties reach the threshold; it is *rejected* as soon as the threshold is out of reach, i.e.
the approving plus the pending weight is below it. Under the signatory and full policies
every confirming party must approve, so the first rejection rejects the view; under VIP, one
VIP approval suffices, so a rejection decides only once no VIP party is left to approve (as
Canton's `distanceToThreshold`). The request is approved when every view is approved and
rejected as soon as one view is rejected; the verdict then lists every rejection so far.

A response counts for a party only if its sender hosts that party with Confirmation (or
Submission) permission at the request's time, and, under the VIP policy, is a VIP participant.
A response claiming a party its sender may not confirm for, a party that is not a confirming
party of the view, an unknown view or another root hash is *ignored* with an alarm
(`InvalidConfirmationResponse`), as in Canton (`MediatorError.MalformedMessage`): the request
is not rejected for it, or any participant could veto any request. A party that already
answered for a view is not counted twice (duplicates and a second hosting participant's
answer are no-ops). A rejection that names no view (a participant that could not make sense
of its views) applies to every view where the claimed parties confirm.

`malformed_request_reasons` checks a request before aggregation starts: the root-hash
messages against the informee tree and its informee participants, the mediator, that every
view's confirmation parameters are what the declared policy gives
(`confirmation_policy.parameters_problem`: a submitter must not lower a threshold so that its
own approval decides others' views), and that every view's threshold is reachable by the
participants that may confirm for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from minicanton.core.errors import MinicantonError
from minicanton.core.hashing import Hash
from minicanton.core.ids import MemberId, ParticipantId, PartyId
from minicanton.core.protocol.confirmation_policy import ConfirmationPolicy, parameters_problem
from minicanton.core.protocol.messages import (
    Approve,
    ConfirmationResponse,
    InformeeMessage,
    InformeeView,
    LocalReject,
    Reject,
    RejectReason,
    Timeout,
    UnresponsiveParticipant,
    Verdict,
)
from minicanton.core.topology.snapshot import TopologySnapshot


class InvalidConfirmationResponse(MinicantonError):
    """A response the mediator ignores (and alarms about); the request goes on."""

    error_id = "MEDIATOR_INVALID_CONFIRMATION_RESPONSE"


class MediatorRejectCode(Enum):
    """Codes of the mediator's own rejections; values are stable (they are on the wire)."""

    ROOT_HASH_MISMATCH = "MEDIATOR_ROOT_HASH_MISMATCH"
    MISSING_ROOT_HASH_MESSAGE = "MEDIATOR_MISSING_ROOT_HASH_MESSAGE"
    SUPERFLUOUS_ROOT_HASH_MESSAGE = "MEDIATOR_SUPERFLUOUS_ROOT_HASH_MESSAGE"
    WRONG_MEDIATOR = "MEDIATOR_WRONG_MEDIATOR"
    INFORMEES_NOT_HOSTED = "MEDIATOR_INFORMEES_NOT_HOSTED"
    QUORUM_UNREACHABLE = "MEDIATOR_QUORUM_UNREACHABLE"
    MALFORMED_REQUEST = "MEDIATOR_MALFORMED_REQUEST"
    DUPLICATE_REQUEST = "MEDIATOR_DUPLICATE_REQUEST"


def mediator_reason(code: MediatorRejectCode, message: str) -> RejectReason:
    return RejectReason(code.value, message)


def may_confirm(
    snapshot: TopologySnapshot,
    policy: ConfirmationPolicy,
    participant: ParticipantId,
    party: PartyId,
) -> bool:
    """Whether `participant`'s response counts for `party` under `policy`."""
    permission = snapshot.hosting_participants(party).get(participant)
    if permission is None or not permission.can_confirm:
        return False
    return policy is not ConfirmationPolicy.VIP or snapshot.is_vip(participant)


def confirmers_of(
    snapshot: TopologySnapshot, policy: ConfirmationPolicy, party: PartyId
) -> list[ParticipantId]:
    """The participants whose response may count for `party`, sorted."""
    return sorted(
        p for p in snapshot.hosting_participants(party) if may_confirm(snapshot, policy, p, party)
    )


def informee_participants(
    snapshot: TopologySnapshot, informees: Iterable[PartyId]
) -> frozenset[ParticipantId]:
    """Every participant hosting an informee, whatever its permission: they all get views
    and so must all get the verdict."""
    return frozenset(p for party in informees for p in snapshot.hosting_participants(party))


@dataclass(frozen=True, slots=True)
class ViewAggregation:
    view: InformeeView
    approved: frozenset[PartyId]
    pending: frozenset[PartyId]
    rejections: tuple[RejectReason, ...] = ()

    def __init__(
        self,
        view: InformeeView,
        approved: frozenset[PartyId],
        pending: frozenset[PartyId],
        rejections: tuple[RejectReason, ...] = (),
    ) -> None:
        object.__setattr__(self, "view", view)
        object.__setattr__(self, "approved", approved)
        object.__setattr__(self, "pending", pending)
        object.__setattr__(self, "rejections", rejections)

    def _weight(self, parties: frozenset[PartyId]) -> int:
        return sum(c.weight for c in self.view.parameters.confirming_parties if c.party in parties)

    @property
    def is_approved(self) -> bool:
        return self._weight(self.approved) >= self.view.parameters.threshold

    @property
    def is_rejected(self) -> bool:
        reachable = self._weight(self.approved) + self._weight(self.pending)
        return reachable < self.view.parameters.threshold

    def respond(
        self, parties: frozenset[PartyId], response: ConfirmationResponse
    ) -> ViewAggregation:
        """This view after `parties` (all still pending here) answered with `response`."""
        if isinstance(response.local_verdict, LocalReject):
            reason = RejectReason(
                response.local_verdict.code, response.local_verdict.message, response.sender,
                self.view.view_hash, parties,
            )
            return ViewAggregation(self.view, self.approved, self.pending - parties,
                                   (*self.rejections, reason))
        return ViewAggregation(self.view, self.approved | parties, self.pending - parties,
                               self.rejections)


@dataclass(frozen=True, slots=True)
class ResponseAggregation:
    """The state of one request at the mediator; `verdict` is set once it is decided."""

    request_ts_us: int
    informee_message: InformeeMessage
    views: tuple[ViewAggregation, ...]
    verdict: Verdict | None = None

    def __init__(
        self,
        request_ts_us: int,
        informee_message: InformeeMessage,
        views: tuple[ViewAggregation, ...],
        verdict: Verdict | None = None,
    ) -> None:
        object.__setattr__(self, "request_ts_us", request_ts_us)
        object.__setattr__(self, "informee_message", informee_message)
        object.__setattr__(self, "views", views)
        object.__setattr__(self, "verdict", verdict)

    @classmethod
    def start(cls, request_ts_us: int, informee_message: InformeeMessage) -> ResponseAggregation:
        views = tuple(
            ViewAggregation(view, frozenset(), frozenset(map(PartyId, view.parameters.confirmers)))
            for view in informee_message.views
        )
        return cls(request_ts_us, informee_message, views)

    @property
    def root_hash(self) -> Hash:
        return self.informee_message.root_hash

    @property
    def is_decided(self) -> bool:
        return self.verdict is not None

    def progress(
        self, response: ConfirmationResponse, snapshot: TopologySnapshot
    ) -> ResponseAggregation:
        """The aggregation after `response`; `snapshot` is the topology at the request's time.

        Raises `InvalidConfirmationResponse` for a response to ignore. A decided aggregation
        and an answer for parties that already answered return `self` itself."""
        if self.verdict is not None:
            return self
        self._check_addressed_here(response)
        targets = self._target_views(response)
        policy = self.informee_message.confirmation_policy
        for index in targets:
            self._check_parties(self.views[index].view, response, snapshot, policy)
        views = list(self.views)
        for index in targets:
            fresh = response.confirming_parties & views[index].pending
            if fresh:
                views[index] = views[index].respond(fresh, response)
        if all(new is old for new, old in zip(views, self.views, strict=True)):
            return self
        return ResponseAggregation(self.request_ts_us, self.informee_message,
                                   tuple(views))._decided()

    def _check_addressed_here(self, response: ConfirmationResponse) -> None:
        if response.request_ts_us != self.request_ts_us:
            raise InvalidConfirmationResponse(
                f"response for request {response.request_ts_us} given to {self.request_ts_us}"
            )
        if response.root_hash != self.root_hash:
            raise InvalidConfirmationResponse(
                f"response from {response.sender} has root hash {response.root_hash}, "
                f"the request's is {self.root_hash}"
            )
        if not response.confirming_parties:
            raise InvalidConfirmationResponse(
                f"response from {response.sender} names no confirming party"
            )

    def _target_views(self, response: ConfirmationResponse) -> list[int]:
        if response.view_hash is None:
            targets = [
                i for i, v in enumerate(self.views)
                if response.confirming_parties & v.view.parameters.confirmers
            ]
            if not targets:
                raise InvalidConfirmationResponse(
                    f"rejection from {response.sender} concerns no view of the request"
                )
            return targets
        for i, v in enumerate(self.views):
            if v.view.view_hash == response.view_hash:
                return [i]
        raise InvalidConfirmationResponse(
            f"response from {response.sender} for unknown view {response.view_hash}"
        )

    @staticmethod
    def _check_parties(
        view: InformeeView,
        response: ConfirmationResponse,
        snapshot: TopologySnapshot,
        policy: ConfirmationPolicy,
    ) -> None:
        claimed = response.confirming_parties
        if response.view_hash is not None:
            unexpected = claimed - view.parameters.confirmers
            if unexpected:
                raise InvalidConfirmationResponse(
                    f"{response.sender} answers for {sorted(unexpected)}, not confirming "
                    f"parties of view {view.view_hash}"
                )
        claimed = claimed & view.parameters.confirmers
        unauthorized = [p for p in claimed if not may_confirm(snapshot, policy, response.sender, p)]
        if unauthorized:
            raise InvalidConfirmationResponse(
                f"{response.sender} may not confirm for {sorted(unauthorized)} under the "
                f"{policy.value} policy at {snapshot.timestamp_us}"
            )

    def _decided(self) -> ResponseAggregation:
        if any(v.is_rejected for v in self.views):
            reasons = tuple(r for v in self.views for r in v.rejections)
            return self._with_verdict(Reject(reasons))
        if all(v.is_approved for v in self.views):
            return self._with_verdict(Approve())
        return self

    def timed_out(self, snapshot: TopologySnapshot) -> ResponseAggregation:
        """Decided as `Timeout`, naming the parties still pending in an undecided view and
        every participant that could have confirmed for one of them (with those parties)."""
        if self.verdict is not None:
            return self
        policy = self.informee_message.confirmation_policy
        pending = frozenset(p for view in self.views if not view.is_approved for p in view.pending)
        missing: dict[ParticipantId, set[PartyId]] = {}
        for party in pending:
            for participant in confirmers_of(snapshot, policy, party):
                missing.setdefault(participant, set()).add(party)
        unresponsive = tuple(
            UnresponsiveParticipant(p, frozenset(parties)) for p, parties in sorted(missing.items())
        )
        return self._with_verdict(Timeout(unresponsive, pending))

    def _with_verdict(self, verdict: Verdict) -> ResponseAggregation:
        return ResponseAggregation(self.request_ts_us, self.informee_message, self.views,
                                   verdict)


def malformed_request_reasons(
    informee_message: InformeeMessage,
    root_hash_messages: Mapping[ParticipantId, frozenset[Hash]],
    snapshot: TopologySnapshot,
    mediator: MemberId,
) -> tuple[RejectReason, ...]:
    """Why the request must be rejected before any response, or () if it is well formed.

    `root_hash_messages` maps each participant that was sent a root-hash message (together
    with this mediator) to the root hashes it was sent."""
    reasons: list[RejectReason] = []
    if informee_message.mediator != mediator:
        reasons.append(mediator_reason(
            MediatorRejectCode.WRONG_MEDIATOR,
            f"the request names mediator {informee_message.mediator}, not {mediator}",
        ))
    reasons += _root_hash_reasons(informee_message, root_hash_messages, snapshot)
    reasons += _parameter_reasons(informee_message, snapshot)
    reasons += _hosting_reasons(informee_message, snapshot)
    return tuple(reasons)


def _parameter_reasons(
    informee_message: InformeeMessage, snapshot: TopologySnapshot
) -> list[RejectReason]:
    policy = informee_message.confirmation_policy

    def is_vip(party: str) -> bool:  # as the submitter decides it (hosted on a VIP participant)
        return any(snapshot.is_vip(p) for p in snapshot.hosting_participants(PartyId(party)))

    reasons = []
    for view in informee_message.views:
        problem = parameters_problem(view.parameters, policy, is_vip)
        if problem:
            reasons.append(mediator_reason(
                MediatorRejectCode.MALFORMED_REQUEST,
                f"view {view.view_hash} has confirmation parameters the {policy.value} policy "
                f"never gives: {problem}",
            ))
    return reasons


def _root_hash_reasons(
    informee_message: InformeeMessage,
    root_hash_messages: Mapping[ParticipantId, frozenset[Hash]],
    snapshot: TopologySnapshot,
) -> list[RejectReason]:
    expected = informee_participants(snapshot, informee_message.informees)
    wrong = sorted(
        p for p, hashes in root_hash_messages.items() if hashes != {informee_message.root_hash}
    )
    missing = sorted(expected.difference(root_hash_messages))
    extra = sorted(root_hash_messages.keys() - expected)
    reasons = []
    if wrong:
        reasons.append(mediator_reason(
            MediatorRejectCode.ROOT_HASH_MISMATCH,
            f"participants {wrong} were sent a root hash other than the informee tree's "
            f"{informee_message.root_hash}",
        ))
    if missing:
        reasons.append(mediator_reason(
            MediatorRejectCode.MISSING_ROOT_HASH_MESSAGE,
            f"informee participants {missing} were sent no root-hash message",
        ))
    if extra:
        reasons.append(mediator_reason(
            MediatorRejectCode.SUPERFLUOUS_ROOT_HASH_MESSAGE,
            f"participants {extra} host no informee but were sent a root-hash message",
        ))
    return reasons


def _hosting_reasons(
    informee_message: InformeeMessage, snapshot: TopologySnapshot
) -> list[RejectReason]:
    unhosted = sorted(p for p in informee_message.informees if not snapshot.hosting_participants(p))
    reasons = []
    if unhosted:
        reasons.append(mediator_reason(
            MediatorRejectCode.INFORMEES_NOT_HOSTED,
            f"informees {unhosted} are hosted by no participant at {snapshot.timestamp_us}",
        ))
    policy = informee_message.confirmation_policy
    for view in informee_message.views:
        parameters = view.parameters
        reachable = sum(
            c.weight for c in parameters.confirming_parties
            if confirmers_of(snapshot, policy, PartyId(c.party))
        )
        if reachable < parameters.threshold:
            reasons.append(mediator_reason(
                MediatorRejectCode.QUORUM_UNREACHABLE,
                f"view {view.view_hash} needs weight {parameters.threshold} but the "
                f"participants that may confirm under {policy.value} reach only {reachable}",
            ))
    return reasons
