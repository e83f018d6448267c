"""Response aggregation under the signatory, VIP and full policies, against a real topology."""

from __future__ import annotations

import pytest
from mediator_fixtures import REQUEST_TS_US, DvpDomain, Rig, rigged, with_confirmer

from minicanton.core.hashing import HashPurpose, hash_of
from minicanton.core.ids import MemberKind
from minicanton.core.protocol.confirmation_policy import (
    ConfirmationPolicy,
    ConfirmingParty,
    ViewConfirmationParameters,
)
from minicanton.core.protocol.messages import (
    Approve,
    InformeeMessage,
    LocalReject,
    Reject,
    Timeout,
    UnresponsiveParticipant,
)
from minicanton.core.protocol.response_aggregation import (
    InvalidConfirmationResponse,
    MediatorRejectCode,
    ResponseAggregation,
    malformed_request_reasons,
)
from minicanton.core.topology.mappings import ParticipantPermission, TrustLevel

LOCKED = LocalReject("LOCKED_CONTRACTS", "iou1 is locked by an earlier request")


def _start(domain: DvpDomain, informee: InformeeMessage) -> ResponseAggregation:
    return ResponseAggregation.start(REQUEST_TS_US, informee)


def _swap(domain: DvpDomain, policy: ConfirmationPolicy = ConfirmationPolicy.SIGNATORY
          ) -> InformeeMessage:
    return InformeeMessage.create(domain.swap_tree(policy), domain.p("alice"))


def _approve_all(domain: DvpDomain, informee: InformeeMessage,
                 skip: frozenset[str] = frozenset()) -> ResponseAggregation:
    """Every confirming party of every view approves through its own participant."""
    aggregation = _start(domain, informee)
    snapshot = domain.snapshot(REQUEST_TS_US)
    hints = {party: hint for hint, party in domain.parties.items()}
    for view in informee.views:
        for confirming in view.parameters.confirming_parties:
            hint = hints[confirming.party]
            if hint in skip:
                continue
            response = domain.response(hint, REQUEST_TS_US, informee, view.view_hash, [hint])
            aggregation = aggregation.progress(response, snapshot)
    return aggregation


# --- signatory policy ---------------------------------------------------------------------


def test_signatory_policy_approves_once_every_view_has_all_its_confirmations() -> None:
    domain = DvpDomain()
    informee = _swap(domain)
    assert _approve_all(domain, informee).verdict == Approve()
    undecided = _approve_all(domain, informee, skip=frozenset({"sr"}))
    assert undecided.verdict is None
    sr_views = [v for v in undecided.views if not v.is_approved]
    assert [v.view.view_position for v in sr_views] == [(3, 3), (3, 3, 2)]


def test_signatory_policy_rejects_on_the_first_rejection() -> None:
    domain = DvpDomain()
    informee = _swap(domain)
    snapshot = domain.snapshot(REQUEST_TS_US)
    iou_view = informee.views[1]  # Alice and Bank confirm the Iou transfer
    response = domain.response("bank", REQUEST_TS_US, informee, iou_view.view_hash, ["bank"],
                               LOCKED)
    aggregation = _start(domain, informee).progress(response, snapshot)
    assert isinstance(aggregation.verdict, Reject)
    (reason,) = aggregation.verdict.reasons
    assert reason.code == "LOCKED_CONTRACTS"
    assert reason.participant == domain.p("bank")
    assert reason.view_hash == iou_view.view_hash
    assert reason.parties == {domain.parties["bank"]}
    later = domain.response("alice", REQUEST_TS_US, informee, iou_view.view_hash, ["alice"])
    assert aggregation.progress(later, snapshot) is aggregation  # decided: nothing changes


def test_a_rejection_naming_no_view_rejects_every_view_its_parties_confirm() -> None:
    domain = DvpDomain()
    informee = _swap(domain)
    snapshot = domain.snapshot(REQUEST_TS_US)
    response = domain.response("bob", REQUEST_TS_US, informee, None, ["bob"],
                               LocalReject("MALFORMED_VIEW", "view does not decrypt"))
    aggregation = _start(domain, informee).progress(response, snapshot)
    assert isinstance(aggregation.verdict, Reject)
    positions = sorted(v.view.view_position for v in aggregation.views if v.rejections)
    assert positions == [(3,), (3, 3)]  # the views where Bob confirms


# --- who may confirm ----------------------------------------------------------------------


def test_a_response_from_a_participant_not_hosting_the_claimed_party_is_ignored() -> None:
    # As Canton: ignored with an alarm, never a rejection, or anyone could veto any request.
    domain = DvpDomain()
    informee = _swap(domain)
    snapshot = domain.snapshot(REQUEST_TS_US)
    iou_view = informee.views[1]
    forged = domain.response("sr", REQUEST_TS_US, informee, iou_view.view_hash, ["bank"], LOCKED)
    aggregation = _start(domain, informee)
    with pytest.raises(InvalidConfirmationResponse, match="may not confirm"):
        aggregation.progress(forged, snapshot)
    assert aggregation.verdict is None


def test_observation_permission_cannot_confirm() -> None:
    domain = DvpDomain()
    domain.host("bank", {"bank": ParticipantPermission.SUBMISSION,
                         "sr": ParticipantPermission.OBSERVATION})
    informee = _swap(domain)
    snapshot = domain.snapshot(REQUEST_TS_US)
    response = domain.response("sr", REQUEST_TS_US, informee, informee.views[1].view_hash,
                               ["bank"])
    with pytest.raises(InvalidConfirmationResponse, match="may not confirm"):
        _start(domain, informee).progress(response, snapshot)


def test_a_party_on_two_participants_is_counted_once() -> None:
    domain = DvpDomain()
    domain.participants["bank2"] = domain.onboard("bank2")
    domain.host("bank", {"bank": ParticipantPermission.SUBMISSION,
                         "bank2": ParticipantPermission.CONFIRMATION})
    informee = _swap(domain)
    snapshot = domain.snapshot(REQUEST_TS_US)
    iou = informee.views[1].view_hash
    first = domain.response("bank2", REQUEST_TS_US, informee, iou, ["bank"])
    aggregation = _start(domain, informee).progress(first, snapshot)
    assert domain.parties["bank"] in aggregation.views[1].approved
    second = domain.response("bank", REQUEST_TS_US, informee, iou, ["bank"], LOCKED)
    assert aggregation.progress(second, snapshot) is aggregation


@pytest.mark.parametrize("problem", ["root hash", "unknown view", "not a confirmer", "no party"])
def test_responses_that_do_not_fit_the_request_are_ignored(problem: str) -> None:
    domain = DvpDomain()
    informee = _swap(domain)
    snapshot = domain.snapshot(REQUEST_TS_US)
    view = informee.views[0].view_hash
    other = InformeeMessage.create(domain.swap_tree(salt=2), domain.p("alice"))
    response = {
        "root hash": domain.response("alice", REQUEST_TS_US, other, other.views[0].view_hash,
                                     ["alice"]),
        "unknown view": domain.response("alice", REQUEST_TS_US, informee,
                                        hash_of(HashPurpose.MERKLE_NODE, b"x"), ["alice"]),
        "not a confirmer": domain.response("sr", REQUEST_TS_US, informee, view, ["sr"]),
        "no party": domain.response("alice", REQUEST_TS_US, informee, view, []),
    }[problem]
    with pytest.raises(InvalidConfirmationResponse):
        _start(domain, informee).progress(response, snapshot)


def test_duplicates_change_nothing() -> None:
    domain = DvpDomain()
    informee = _swap(domain)
    snapshot = domain.snapshot(REQUEST_TS_US)
    response = domain.response("alice", REQUEST_TS_US, informee, informee.views[0].view_hash,
                               ["alice"])
    once = _start(domain, informee).progress(response, snapshot)
    assert once.progress(response, snapshot) is once


# --- VIP and full policies ----------------------------------------------------------------


def test_vip_policy_needs_one_confirmation_from_a_vip_participant() -> None:
    domain = DvpDomain(vip_bank=True)
    domain.participants["bank2"] = domain.onboard("bank2")  # ordinary
    domain.host("bank", {"bank": ParticipantPermission.SUBMISSION,
                         "bank2": ParticipantPermission.CONFIRMATION})
    informee = InformeeMessage.create(domain.iou_create_tree(ConfirmationPolicy.VIP),
                                      domain.p("alice"))
    snapshot = domain.snapshot(REQUEST_TS_US)
    (view,) = informee.views
    assert view.parameters.confirmers == {domain.parties["bank"]}
    assert view.parameters.threshold == 1
    ordinary = domain.response("bank2", REQUEST_TS_US, informee, view.view_hash, ["bank"])
    with pytest.raises(InvalidConfirmationResponse, match="Vip policy"):
        _start(domain, informee).progress(ordinary, snapshot)
    vip = domain.response("bank", REQUEST_TS_US, informee, view.view_hash, ["bank"])
    assert _start(domain, informee).progress(vip, snapshot).verdict == Approve()


def test_vip_policy_rejects_only_when_no_vip_party_can_still_approve() -> None:
    domain = DvpDomain(vip_bank=True)
    domain.participants["auditor"] = domain.onboard("auditor", TrustLevel.VIP)
    domain.host("bank2", {"auditor": ParticipantPermission.SUBMISSION})
    informee = InformeeMessage.create(
        domain.iou_create_tree(ConfirmationPolicy.VIP, issuer="bank", owner="bank2"),
        domain.p("alice"),
    )
    snapshot = domain.snapshot(REQUEST_TS_US)
    (view,) = informee.views
    assert len(view.parameters.confirmers) == 2
    reject = domain.response("bank", REQUEST_TS_US, informee, view.view_hash, ["bank"], LOCKED)
    aggregation = _start(domain, informee).progress(reject, snapshot)
    assert aggregation.verdict is None  # the other VIP party may still approve
    approve = domain.response("auditor", REQUEST_TS_US, informee, view.view_hash, ["bank2"])
    assert aggregation.progress(approve, snapshot).verdict == Approve()


def test_full_policy_needs_every_informee_including_observers() -> None:
    domain = DvpDomain()
    informee = InformeeMessage.create(domain.iou_create_tree(ConfirmationPolicy.FULL),
                                      domain.p("alice"))
    snapshot = domain.snapshot(REQUEST_TS_US)
    (view,) = informee.views
    bank = domain.response("bank", REQUEST_TS_US, informee, view.view_hash, ["bank"])
    aggregation = _start(domain, informee).progress(bank, snapshot)
    assert aggregation.verdict is None
    alice = domain.response("alice", REQUEST_TS_US, informee, view.view_hash, ["alice"])
    assert aggregation.progress(alice, snapshot).verdict == Approve()
    signatory = InformeeMessage.create(domain.iou_create_tree(ConfirmationPolicy.SIGNATORY),
                                       domain.p("alice"))
    bank_only = domain.response("bank", REQUEST_TS_US, signatory, signatory.views[0].view_hash,
                                ["bank"])
    assert _start(domain, signatory).progress(bank_only, snapshot).verdict == Approve()


# --- timeouts -----------------------------------------------------------------------------


def test_timeout_names_the_participants_that_did_not_answer_and_for_whom() -> None:
    domain = DvpDomain()
    informee = _swap(domain)
    snapshot = domain.snapshot(REQUEST_TS_US)
    aggregation = _approve_all(domain, informee, skip=frozenset({"sr", "bank"}))
    verdict = aggregation.timed_out(snapshot).verdict
    assert verdict == Timeout(tuple(sorted(
        (UnresponsiveParticipant(domain.p(h), frozenset({domain.parties[h]}))
         for h in ("bank", "sr")),
        key=lambda u: u.participant,
    )), frozenset({domain.parties["bank"], domain.parties["sr"]}))


# --- malformed requests -------------------------------------------------------------------


def test_a_well_formed_request_has_no_reasons() -> None:
    domain = DvpDomain()
    informee = _swap(domain)
    sent = {p: frozenset({informee.root_hash}) for p in domain.informee_participants(informee.tree)}
    snapshot = domain.snapshot(REQUEST_TS_US)
    assert malformed_request_reasons(informee, sent, snapshot, domain.mediator.id) == ()


def test_root_hash_and_recipient_problems_are_each_named() -> None:
    domain = DvpDomain()
    domain.participants["eve"] = domain.onboard("eve")
    informee = _swap(domain)
    other = hash_of(HashPurpose.MERKLE_NODE, b"another transaction")
    sent = {
        domain.p("alice"): frozenset({informee.root_hash}),
        domain.p("bob"): frozenset({other}),
        domain.p("bank"): frozenset({informee.root_hash}),
        domain.p("eve"): frozenset({informee.root_hash}),
    }
    reasons = malformed_request_reasons(informee, sent, domain.snapshot(REQUEST_TS_US),
                                        domain.mediator.id)
    codes = {r.code: r.message for r in reasons}
    assert set(codes) == {
        MediatorRejectCode.ROOT_HASH_MISMATCH.value,
        MediatorRejectCode.MISSING_ROOT_HASH_MESSAGE.value,
        MediatorRejectCode.SUPERFLUOUS_ROOT_HASH_MESSAGE.value,
    }
    assert domain.p("bob") in codes[MediatorRejectCode.ROOT_HASH_MISMATCH.value]
    assert domain.p("sr") in codes[MediatorRejectCode.MISSING_ROOT_HASH_MESSAGE.value]
    assert domain.p("eve") in codes[MediatorRejectCode.SUPERFLUOUS_ROOT_HASH_MESSAGE.value]
    assert all(r.participant is None for r in reasons)  # the mediator's own reasons


def test_wrong_mediator_unhosted_informees_and_unreachable_quorums() -> None:
    domain = DvpDomain()
    informee = _swap(domain)
    sent = {p: frozenset({informee.root_hash}) for p in domain.informee_participants(informee.tree)}
    other_mediator = domain.member(MemberKind.MEDIATOR, "other").id
    reasons = malformed_request_reasons(informee, sent, domain.snapshot(REQUEST_TS_US),
                                        other_mediator)
    assert [r.code for r in reasons] == [MediatorRejectCode.WRONG_MEDIATOR.value]
    domain.host("sr", {"sr": ParticipantPermission.OBSERVATION})
    reasons = malformed_request_reasons(informee, sent, domain.snapshot(REQUEST_TS_US),
                                        domain.mediator.id)
    assert {r.code for r in reasons} == {MediatorRejectCode.QUORUM_UNREACHABLE.value}


def _malformed(domain: DvpDomain, informee: InformeeMessage) -> list[str]:
    sent = {p: frozenset({informee.root_hash}) for p in domain.informee_participants(informee.tree)}
    reasons = malformed_request_reasons(informee, sent, domain.snapshot(REQUEST_TS_US),
                                        domain.mediator.id)
    return [f"{r.code}: {r.message}" for r in reasons]


def _only_bank_confirms(parameters: ViewConfirmationParameters) -> ViewConfirmationParameters:
    bank = next(c.party for c in parameters.confirming_parties if c.party.startswith("bank"))
    return ViewConfirmationParameters(parameters.informees, (ConfirmingParty(bank),), 1)


@pytest.mark.parametrize("policy", list(ConfirmationPolicy))
def test_honest_parameters_under_every_policy_are_well_formed(policy: ConfirmationPolicy) -> None:
    domain = DvpDomain(vip_bank=True)
    informee = InformeeMessage.create(domain.iou_create_tree(policy), domain.p("alice"))
    assert _malformed(domain, informee) == []


@pytest.mark.parametrize(("policy", "name", "problem"), [
    # review finding 5: the submitter adds itself and lowers the threshold to 1
    (ConfirmationPolicy.SIGNATORY, "self-approval", "every confirming party must confirm"),
    (ConfirmationPolicy.SIGNATORY, "heavy submitter", "confirming weights [1, 5]"),
    (ConfirmationPolicy.FULL, "self-approval", "every confirming party must confirm"),
    (ConfirmationPolicy.FULL, "silent informee", "do not confirm"),
    (ConfirmationPolicy.VIP, "threshold 2", "the Vip policy has threshold 1"),
    (ConfirmationPolicy.VIP, "ordinary confirmer", "hosted on no VIP participant"),
])
def test_parameters_the_declared_policy_never_gives_are_malformed(
    policy: ConfirmationPolicy, name: str, problem: str,
) -> None:
    domain = DvpDomain(vip_bank=True)
    alice = domain.parties["alice"]
    rig: Rig = {
        "self-approval": with_confirmer(alice, threshold=1),
        "heavy submitter": with_confirmer(alice, weight=5),
        "silent informee": _only_bank_confirms,
        "threshold 2": with_confirmer(alice, threshold=2),
        "ordinary confirmer": with_confirmer(alice),
    }[name]
    tree = rigged(domain.iou_create_tree(policy), rig)
    reasons = _malformed(domain, InformeeMessage.create(tree, domain.p("alice")))
    (reason,) = [r for r in reasons if r.startswith(MediatorRejectCode.MALFORMED_REQUEST.value)]
    assert problem in reason
