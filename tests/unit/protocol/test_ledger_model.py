"""Daml's ledger model on the seed's DvP: informees, witnesses, projections, divulgence."""

from __future__ import annotations

from protocol_builders import (
    ALICE,
    BANK,
    BOB,
    IOU,
    SHARE,
    SR,
    accept_transaction,
    exercise,
    share_arg,
    swap_transaction,
)

from minicanton.core.hashing import Hash, HashPurpose, hash_of
from minicanton.core.lf.transaction import (
    CreateNode,
    ExerciseNode,
    FetchNode,
    KeyWithMaintainers,
    LookupByKeyNode,
    NodeId,
)
from minicanton.core.lf.value import TextValue
from minicanton.core.protocol.ledger_model import (
    divulged_contracts,
    informees,
    informees_of_node,
    project,
    projection_roots,
    transaction_id_of,
    witnesses,
)

SHARE_CONTRACTS = {"share1", "share2"}
IOU_CONTRACTS = {"iou1", "iou2"}


def _touches(node: object, contracts: set[str]) -> bool:
    return getattr(node, "contract_id", None) in contracts


def test_informees_of_each_swap_node_follow_damls_rules() -> None:
    assert informees(swap_transaction()) == {
        NodeId(0): frozenset({ALICE, BOB}),  # consuming: stakeholders + actor
        NodeId(1): frozenset({BANK, ALICE}),  # Iou.Transfer: stakeholders + actor Alice
        NodeId(2): frozenset({BANK, BOB}),  # create Iou: signatory + observer
        NodeId(3): frozenset({SR, BOB}),
        NodeId(4): frozenset({SR, ALICE}),
    }


def test_non_consuming_exercise_informs_signatories_actors_and_choice_observers_only() -> None:
    node = exercise("c", IOU, "Look", {"Carol"}, {BANK}, {BANK, "Obs"}, (),
                    consuming=False, choice_observers=frozenset({"Auditor"}))
    assert informees_of_node(node) == {BANK, "Carol", "Auditor"}
    consuming = exercise("c", IOU, "Use", {"Carol"}, {BANK}, {BANK, "Obs"}, (),
                         choice_observers=frozenset({"Auditor"}))
    assert informees_of_node(consuming) == {BANK, "Obs", "Carol", "Auditor"}


def test_fetch_and_lookup_informees() -> None:
    fetch = FetchNode("c", SHARE, frozenset({BOB}), frozenset({SR}), frozenset({SR, "Obs"}))
    assert informees_of_node(fetch) == {SR, BOB}
    key = KeyWithMaintainers(TextValue("k"), frozenset({SR}))
    assert informees_of_node(LookupByKeyNode(SHARE, key, None)) == {SR}
    create = CreateNode("c", SHARE, share_arg(BOB), frozenset({SR}), frozenset({"Obs"}))
    assert informees_of_node(create) == {SR, "Obs"}


def test_bank_sees_nothing_of_the_share_and_sr_nothing_of_the_iou() -> None:
    tx = swap_transaction()
    seen_by = witnesses(tx)
    for node_id, parties in seen_by.items():
        node = tx.node(node_id)
        if _touches(node, SHARE_CONTRACTS):
            assert BANK not in parties and BANK not in informees_of_node(node)
        if _touches(node, IOU_CONTRACTS):
            assert SR not in parties and SR not in informees_of_node(node)
    assert {n for n, p in seen_by.items() if BANK in p} == {NodeId(1), NodeId(2)}
    assert {n for n, p in seen_by.items() if SR in p} == {NodeId(3), NodeId(4)}


def test_witnesses_include_the_informees_of_every_ancestor() -> None:
    seen_by = witnesses(swap_transaction())
    assert seen_by[NodeId(2)] == {ALICE, BOB, BANK}
    assert seen_by[NodeId(4)] == {ALICE, BOB, SR}


def test_projection_for_alice_and_bob_is_the_whole_swap() -> None:
    tx = swap_transaction()
    assert project(tx, [ALICE]) == tx
    assert project(tx, [BOB]) == tx


def test_projection_for_the_bank_is_the_iou_transfer_with_its_consequence() -> None:
    projected = project(swap_transaction(), [BANK])
    assert projected.roots == (NodeId(0),)
    transfer, created = projected.nodes
    assert isinstance(transfer, ExerciseNode) and transfer.contract_id == "iou1"
    assert transfer.children == (NodeId(1),)
    assert isinstance(created, CreateNode) and created.contract_id == "iou2"


def test_projection_for_several_parties_has_one_root_per_topmost_action() -> None:
    tx = swap_transaction()
    assert projection_roots(tx, [BANK, SR]) == (NodeId(1), NodeId(3))
    projected = project(tx, [SR, BANK])
    assert [getattr(n, "contract_id", None) for n in projected.nodes] == [
        "iou1", "iou2", "share1", "share2",
    ]
    assert projected.roots == (NodeId(0), NodeId(2))
    assert project(tx, ["Nobody"]).nodes == ()


def test_projection_keeps_consequences_a_party_is_not_informee_of() -> None:
    # Alice is informee of Accept, not of the fetch of Bob's Share: she still sees it.
    projected = project(accept_transaction(), [ALICE])
    assert any(isinstance(n, FetchNode) and n.contract_id == "share1" for n in projected.nodes)


def test_after_accept_the_buyer_has_the_share_divulged() -> None:
    tx = accept_transaction()
    assert divulged_contracts(tx, ALICE) == {"share1"}
    assert divulged_contracts(tx, BOB) == frozenset()
    assert divulged_contracts(tx, SR) == frozenset()
    assert divulged_contracts(tx, BANK) == frozenset()


def test_swap_divulges_the_other_legs_to_the_traders_only() -> None:
    tx = swap_transaction()
    assert divulged_contracts(tx, ALICE) == {"share1", "iou2"}
    assert divulged_contracts(tx, BOB) == {"iou1", "share2"}
    assert divulged_contracts(tx, BANK) == frozenset()
    assert divulged_contracts(tx, SR) == frozenset()


def test_transaction_id_is_derived_from_the_root_hash() -> None:
    root = hash_of(HashPurpose.MERKLE_NODE, b"a")
    other = hash_of(HashPurpose.MERKLE_NODE, b"b")
    assert transaction_id_of(root) == transaction_id_of(Hash(root.digest))
    assert transaction_id_of(root) != transaction_id_of(other)
    assert len(transaction_id_of(root)) == 64 and transaction_id_of(root) != root.hex
