"""The Merkle tree of views: salted hashes, blinding, membership, transport bytes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from protocol_builders import (
    ALICE,
    BANK,
    BOB,
    INPUTS,
    LEDGER_TIME_US,
    SR,
    metadata,
    seeds_for,
    swap_transaction,
)

from minicanton.core.errors import CryptoError, InvalidArgument
from minicanton.core.protocol.confirmation_policy import ConfirmationPolicy
from minicanton.core.protocol.merkle import (
    BlindedNode,
    GenTransactionTree,
    Leaf,
    MerklePath,
    TransactionView,
    blind,
    build_tree,
    decode_tree,
    encode_tree,
    entitled_parties,
    full_informee_tree,
    root_hash,
    verify_membership,
    view_at,
    view_hash,
    view_tree,
    views_with_paths,
)
from minicanton.core.protocol.view_serialization import ViewDecodeError
from minicanton.core.protocol.views import ViewCommonData, decompose

SEED = b"transaction-seed-0001"


def swap_tree(seed: bytes = SEED) -> GenTransactionTree:
    tx = swap_transaction()
    views = decompose(tx, seeds_for(tx), INPUTS, ConfirmationPolicy.SIGNATORY, LEDGER_TIME_US)
    return build_tree(*metadata(), views, seed)


TREE = swap_tree()
ROOT = root_hash(TREE)


def all_paths(tree: GenTransactionTree) -> list[MerklePath]:
    paths: list[MerklePath] = [(0,), (1,), (2,)]
    for path, _view in views_with_paths(tree):
        paths += [path, (*path, 0), (*path, 1)]
    return paths


def view_path_of(tree: GenTransactionTree, root_node: int) -> MerklePath:
    for path, view in views_with_paths(tree):
        data = view.view_participant_data
        if isinstance(data, Leaf) and data.content.root_node_id == root_node:
            return path
    raise AssertionError(f"no view rooted at node {root_node}")


def test_root_hash_is_deterministic_and_depends_on_the_seed() -> None:
    assert root_hash(swap_tree()) == ROOT
    assert root_hash(swap_tree(b"another-seed-of-16b")) != ROOT


def test_equal_contents_in_two_places_hash_differently() -> None:
    tx = swap_transaction()
    (view,) = decompose(tx, seeds_for(tx), INPUTS, ConfirmationPolicy.SIGNATORY, LEDGER_TIME_US)
    tree = build_tree(*metadata(), [view, view], SEED)
    first, second = tree.root_views
    assert view_hash(first) != view_hash(second)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_blinding_any_set_of_subtrees_keeps_the_root_hash(data: st.DataObject) -> None:
    paths = all_paths(TREE)
    hidden = data.draw(st.sets(st.sampled_from(paths)))
    blinded = blind(TREE, lambda path, _node: path not in hidden)
    assert root_hash(blinded) == ROOT
    verify_membership(ROOT, blinded)
    again = data.draw(st.sets(st.sampled_from(paths)))
    assert root_hash(blind(blinded, lambda path, _node: path not in again)) == ROOT
    assert root_hash(decode_tree(encode_tree(blinded))) == ROOT


def test_blinding_everything_leaves_only_hashes() -> None:
    bare = blind(TREE, lambda _path, _node: False)
    assert all(isinstance(v, BlindedNode) for v in bare.root_views)
    assert isinstance(bare.submitter_metadata, BlindedNode)
    assert root_hash(bare) == ROOT


def test_the_mediator_gets_informees_and_thresholds_only() -> None:
    informee_tree = full_informee_tree(TREE)
    assert root_hash(informee_tree) == ROOT
    assert isinstance(informee_tree.submitter_metadata, BlindedNode)
    assert isinstance(informee_tree.participant_metadata, BlindedNode)
    assert isinstance(informee_tree.common_metadata, Leaf)
    views = list(views_with_paths(informee_tree))
    assert len(views) == 5
    for _, view in views:
        assert isinstance(view.view_common_data, Leaf)
        assert isinstance(view.view_common_data.content, ViewCommonData)
        assert isinstance(view.view_participant_data, BlindedNode)
    wire = encode_tree(informee_tree)
    for secret in (b"iou1", b"share1", b"ACME", b"USD", b"Transfer"):
        assert secret not in wire


def test_the_banks_view_tree_says_nothing_about_the_share() -> None:
    path = view_path_of(TREE, 1)  # Iou.Transfer, with the Iou create as its subview
    bank_tree = view_tree(TREE, path)
    verify_membership(ROOT, bank_tree)
    held = [view.view_participant_data.content.root_node_id
            for _, view in views_with_paths(bank_tree)
            if isinstance(view.view_participant_data, Leaf)]
    assert held == [1, 2]
    assert isinstance(bank_tree.submitter_metadata, BlindedNode)  # not a root view
    assert isinstance(bank_tree.participant_metadata, Leaf)
    wire = encode_tree(bank_tree)
    for secret in (b"share1", b"share2", b"ACME", b"Swap", SR.encode()):
        assert secret not in wire
    assert b"iou1" in wire and BANK.encode() in wire


def test_a_root_view_tree_carries_the_submitter_metadata() -> None:
    root_view_tree = view_tree(TREE, view_path_of(TREE, 0))
    assert isinstance(root_view_tree.submitter_metadata, Leaf)
    assert root_view_tree.submitter_metadata.content.act_as == {ALICE}
    assert root_hash(root_view_tree) == ROOT


def test_membership_rejects_a_view_from_another_tree() -> None:
    other = swap_tree(b"some-other-seed-xyz")
    path = view_path_of(TREE, 3)
    assert view_at(other, path).view_common_data != view_at(TREE, path).view_common_data
    with pytest.raises(CryptoError, match="do not belong"):
        verify_membership(ROOT, view_tree(other, path))
    # Graft the other tree's Share view into ours: same contents, other salts.
    (root_view,) = TREE.root_views
    assert isinstance(root_view, TransactionView)
    grafted_root = TransactionView(
        root_view.view_common_data, root_view.view_participant_data,
        (root_view.subviews[0], view_at(other, path)),
    )
    grafted = GenTransactionTree(TREE.submitter_metadata, TREE.common_metadata,
                                 TREE.participant_metadata, (grafted_root,))
    with pytest.raises(CryptoError):
        verify_membership(ROOT, grafted)


def test_trees_round_trip_through_their_bytes() -> None:
    wire = encode_tree(TREE)
    assert decode_tree(wire) == TREE
    assert encode_tree(decode_tree(wire)) == wire


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_one_byte_change_to_a_view_is_detected(data: st.DataObject) -> None:
    wire = bytearray(encode_tree(view_tree(TREE, view_path_of(TREE, 1))))
    index = data.draw(st.integers(0, len(wire) - 1))
    wire[index] ^= data.draw(st.integers(1, 255))
    try:
        tampered = decode_tree(bytes(wire))
    except ViewDecodeError:
        return
    with pytest.raises(CryptoError):
        verify_membership(ROOT, tampered)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_bytes_give_a_typed_error(garbage: bytes) -> None:
    with pytest.raises(ViewDecodeError):
        decode_tree(garbage)


def test_decode_errors_name_the_problem() -> None:
    wire = encode_tree(TREE)
    with pytest.raises(ViewDecodeError, match="trailing"):
        decode_tree(wire + b"\x00")
    with pytest.raises(ViewDecodeError, match="truncated"):
        decode_tree(wire[:-1])
    with pytest.raises(ViewDecodeError, match="version"):
        decode_tree(b"\x09" + wire[1:])


def test_a_leaf_of_the_wrong_kind_in_a_slot_is_rejected() -> None:
    swapped = GenTransactionTree(TREE.common_metadata, TREE.common_metadata,  # type: ignore[arg-type]
                                 TREE.participant_metadata, TREE.root_views)
    with pytest.raises(ViewDecodeError, match="submitter"):
        decode_tree(encode_tree(swapped))


def test_view_at_rejects_positions_that_are_not_views() -> None:
    for bad in [(), (1,), (9,), (3, 7)]:
        with pytest.raises(InvalidArgument):
            view_at(TREE, bad)
    common = view_at(full_informee_tree(TREE), (3,)).view_common_data
    assert isinstance(common, Leaf) and common.content.informees == {ALICE, BOB}


def test_each_view_is_for_its_informees_and_its_ancestors_informees() -> None:
    entitled = entitled_parties(TREE)
    assert entitled[view_path_of(TREE, 0)] == {ALICE, BOB}
    assert entitled[view_path_of(TREE, 2)] == {ALICE, BOB, BANK}
    assert entitled[view_path_of(TREE, 4)] == {ALICE, BOB, SR}
    assert all(BANK not in parties for path, parties in entitled.items()
               if path in (view_path_of(TREE, 3), view_path_of(TREE, 4)))
    assert entitled_parties(full_informee_tree(TREE)) == entitled
