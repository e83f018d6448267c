"""View decomposition of the seed's DvP and confirming parties under the three policies."""

from __future__ import annotations

import pytest
from protocol_builders import (
    ALICE,
    BANK,
    BOB,
    INPUTS,
    IOU,
    LEDGER_TIME_US,
    SR,
    accept_transaction,
    create,
    exercise,
    iou_arg,
    seeds_for,
    swap_transaction,
)

from minicanton.core.errors import InvalidArgument
from minicanton.core.lf.transaction import NodeId, Transaction
from minicanton.core.protocol.confirmation_policy import (
    ConfirmationPolicy,
    ConfirmationPolicyNotApplicable,
    ConfirmingParty,
    applicable_policies,
)
from minicanton.core.protocol.ledger_model import forest_of
from minicanton.core.protocol.views import (
    NewView,
    ViewDecompositionError,
    decompose,
    view_witnesses,
)

SIGNATORY, VIP, FULL = ConfirmationPolicy.SIGNATORY, ConfirmationPolicy.VIP, ConfirmationPolicy.FULL


def _decompose(tx: Transaction, policy: ConfirmationPolicy = SIGNATORY,
               vips: frozenset[str] | None = None) -> tuple[NewView, ...]:
    is_vip = None if vips is None else vips.__contains__
    return decompose(tx, seeds_for(tx), INPUTS, policy, LEDGER_TIME_US, is_vip)


def _shape(view: NewView) -> tuple[int, tuple[object, ...]]:
    return view.participant_data.root_node_id, tuple(_shape(s) for s in view.subviews)


def _confirmers(view: NewView) -> dict[str, int]:
    return {c.party: c.weight for c in view.common_data.confirming_parties}


def _by_root(views: tuple[NewView, ...]) -> dict[int, NewView]:
    return {v.participant_data.root_node_id: v for root in views for _, v in root.walk()}


def test_swap_splits_into_one_view_per_change_of_informees() -> None:
    (root,) = _decompose(swap_transaction())
    # Swap{A,B} -> [Iou.Transfer{Bank,A} -> [create Iou{Bank,B}],
    #               Share.Transfer{SR,B} -> [create Share{SR,A}]]
    assert _shape(root) == (0, ((1, ((2, ()),)), (3, ((4, ()),))))
    informees = {n: v.common_data.informees for n, v in _by_root((root,)).items()}
    assert informees == {0: {ALICE, BOB}, 1: {BANK, ALICE}, 2: {BANK, BOB},
                         3: {SR, BOB}, 4: {SR, ALICE}}


def test_signatory_policy_needs_signatories_and_actors_all_to_confirm() -> None:
    views = _by_root(_decompose(swap_transaction(), SIGNATORY))
    expected = {0: {ALICE: 1, BOB: 1}, 1: {BANK: 1, ALICE: 1}, 2: {BANK: 1},
                3: {SR: 1, BOB: 1}, 4: {SR: 1}}
    assert {n: _confirmers(v) for n, v in views.items()} == expected
    assert {n: v.common_data.threshold for n, v in views.items()} == {
        n: len(c) for n, c in expected.items()
    }
    iou_create = views[2].common_data.parameters
    assert iou_create.is_satisfied_by(frozenset({BANK}))
    assert not views[1].common_data.parameters.is_satisfied_by(frozenset({BANK}))


def test_full_policy_needs_every_informee() -> None:
    views = _by_root(_decompose(swap_transaction(), FULL))
    for view in views.values():
        assert set(_confirmers(view)) == view.common_data.informees
        assert view.common_data.threshold == len(view.common_data.informees)


def test_vip_policy_needs_one_vip_that_knows_the_state() -> None:
    views = _by_root(_decompose(swap_transaction(), VIP, frozenset({ALICE, BOB})))
    assert {n: set(_confirmers(v)) for n, v in views.items()} == {
        0: {ALICE, BOB}, 1: {ALICE}, 2: {BOB}, 3: {BOB}, 4: {ALICE},
    }
    assert all(v.common_data.threshold == 1 for v in views.values())
    assert views[0].common_data.parameters.is_satisfied_by(frozenset({BOB}))
    with pytest.raises(ConfirmationPolicyNotApplicable):
        _decompose(swap_transaction(), VIP, frozenset({BANK}))
    with pytest.raises(ConfirmationPolicyNotApplicable):
        _decompose(swap_transaction(), VIP, None)


def test_applicable_policies_follow_the_vips() -> None:
    tx = swap_transaction()
    assert applicable_policies(tx, {ALICE, BOB}.__contains__) == (VIP, SIGNATORY, FULL)
    assert applicable_policies(tx, {BANK, SR}.__contains__) == (SIGNATORY, FULL)


def test_view_participant_data_holds_inputs_creations_and_the_root_seed() -> None:
    views = _by_root(_decompose(swap_transaction()))
    root = views[0].participant_data
    assert [(i.contract.contract_id, i.consumed) for i in root.core_inputs] == [("dvp", True)]
    assert root.core_nodes == ((NodeId(0), swap_transaction().node(NodeId(0))),)
    assert root.root_seed == seeds_for(swap_transaction())[NodeId(0)]
    iou_transfer = views[1].participant_data
    assert [i.contract for i in iou_transfer.core_inputs] == [INPUTS["iou1"]]
    created = views[2].participant_data.created_core
    assert [(c.contract.contract_id, c.contract.created_at_us) for c in created] == [
        ("iou2", LEDGER_TIME_US)
    ]
    assert views[2].participant_data.core_inputs == ()


def test_accept_fetch_is_its_own_view_and_the_share_an_input_there() -> None:
    (root,) = _decompose(accept_transaction())
    # Accept{A,B} keeps the DvP create{A,B} in its core; the fetch{SR,B} is a subview.
    assert [n for n, _ in root.participant_data.core_nodes] == [0, 2]
    (fetch_view,) = root.subviews
    assert fetch_view.common_data.informees == {SR, BOB}
    assert fetch_view.participant_data.root_seed is None
    assert [(i.contract.contract_id, i.consumed) for i in fetch_view.participant_data.core_inputs
            ] == [("share1", False)]
    assert [c.contract.contract_id for c in root.participant_data.created_core] == ["dvp"]


def test_actions_with_equal_parameters_share_a_view() -> None:
    # Alice archives her own Iou-like contract and creates a new one: same informees {A},
    # same confirmer, so one view whose core is both nodes, the new contract consumed later.
    nodes = (
        exercise("mine", IOU, "Split", {ALICE}, {ALICE}, {ALICE}, (1, 2)),
        create("half", IOU, iou_arg(ALICE), {ALICE}, set()),
        exercise("half", IOU, "Archive", {ALICE}, {ALICE}, {ALICE}, ()),
    )
    tx = Transaction(nodes, (NodeId(0),))
    inputs = {"mine": INPUTS["iou1"]}
    (view,) = decompose(tx, seeds_for(tx), inputs, SIGNATORY, LEDGER_TIME_US)
    assert view.subviews == ()
    assert [n for n, _ in view.participant_data.core_nodes] == [0, 1, 2]
    assert [i.contract.contract_id for i in view.participant_data.core_inputs] == ["iou1"]
    (created,) = view.participant_data.created_core
    assert created.contract.contract_id == "half" and created.consumed_in_core


def test_same_informees_but_different_confirmers_start_a_new_view() -> None:
    # Exercise by Alice on a contract signed by Alice and observed by Bob: informees {A,B},
    # confirmer {A}. Its child creates a contract signed by both: informees {A,B}, confirmers
    # {A,B}. One view has one set of confirmers, so the child is a subview.
    nodes = (
        exercise("c", IOU, "Promote", {ALICE}, {ALICE}, {ALICE, BOB}, (1,)),
        create("d", IOU, iou_arg(BOB), {ALICE, BOB}, set()),
    )
    tx = Transaction(nodes, (NodeId(0),))
    (view,) = decompose(tx, seeds_for(tx), {"c": INPUTS["iou1"]}, SIGNATORY, LEDGER_TIME_US)
    assert view.common_data.informees == view.subviews[0].common_data.informees
    assert view.common_data.confirming_parties == (ConfirmingParty(ALICE, 1),)
    assert len(view.subviews) == 1


def test_subviews_are_seen_by_the_informees_of_their_ancestors() -> None:
    entitled = view_witnesses(_decompose(swap_transaction()))
    assert entitled[NodeId(2)] == {ALICE, BOB, BANK}
    assert entitled[NodeId(4)] == {ALICE, BOB, SR}
    assert entitled[NodeId(1)] == {ALICE, BOB, BANK}


def test_the_root_view_holds_the_whole_subtree() -> None:
    tx = swap_transaction()
    (root,) = _decompose(tx)
    assert root.subtree_nodes() == {NodeId(i): node for i, node in enumerate(tx.nodes)}


def test_a_missing_input_contract_is_a_typed_error() -> None:
    tx = swap_transaction()
    with pytest.raises(ViewDecompositionError, match="iou1"):
        decompose(tx, seeds_for(tx), {"dvp": INPUTS["dvp"], "share1": INPUTS["share1"]},
                  SIGNATORY, LEDGER_TIME_US)


def test_a_views_action_is_a_transaction_of_its_own() -> None:
    tx = swap_transaction()
    views = _by_root(_decompose(tx))
    assert views[0].action_transaction() == tx
    iou_leg = views[1].action_transaction()
    assert iou_leg.roots == (NodeId(0),) and len(iou_leg.nodes) == 2
    assert iou_leg.nodes[0].children == (NodeId(1),)  # type: ignore[union-attr]
    with pytest.raises(InvalidArgument, match="missing"):
        forest_of({NodeId(0): tx.node(NodeId(0))}, [NodeId(0)])
