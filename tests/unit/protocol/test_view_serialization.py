"""Canonical bytes of view contents: every node kind round-trips, non-canonical bytes fail."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from protocol_builders import (
    ALICE,
    BOB,
    INPUTS,
    LEDGER_TIME_US,
    SHARE,
    SR,
    accept_transaction,
    metadata,
    seeds_for,
    swap_transaction,
)

from minicanton.core.lf.transaction import (
    ExerciseNode,
    FetchNode,
    KeyWithMaintainers,
    LookupByKeyNode,
    NodeId,
    Transaction,
)
from minicanton.core.lf.value import ContractIdValue, TextValue
from minicanton.core.protocol.confirmation_policy import (
    ConfirmationPolicy,
    ConfirmingParty,
    ViewConfirmationParameters,
)
from minicanton.core.protocol.view_serialization import (
    FORMAT_VERSION,
    LeafContent,
    ViewDecodeError,
    decode_leaf_content,
    encode_leaf_content,
)
from minicanton.core.protocol.views import ViewCommonData, decompose

KEY = KeyWithMaintainers(TextValue("ACME/Bob"), frozenset({SR}))


def keyed_transaction() -> Transaction:
    """Exercise-by-key with a result, fetch-by-key, and a failed lookup, all in one view."""
    nodes = (
        ExerciseNode("share1", SHARE, "Inspect", TextValue("why"), frozenset({SR}), False,
                     frozenset({SR}), frozenset({SR, BOB}), frozenset({"Auditor"}),
                     (NodeId(1), NodeId(2)), ContractIdValue("share1"), KEY, True),
        FetchNode("share1", SHARE, frozenset({SR}), frozenset({SR}), frozenset({SR, BOB}),
                  KEY, True),
        LookupByKeyNode(SHARE, KeyWithMaintainers(TextValue("none"), frozenset({SR})), None),
    )
    return Transaction(nodes, (NodeId(0),))


def all_leaves() -> list[LeafContent]:
    leaves: list[LeafContent] = list(metadata())
    for tx in (swap_transaction(), accept_transaction(), keyed_transaction()):
        for root in decompose(tx, seeds_for(tx), INPUTS, ConfirmationPolicy.FULL, LEDGER_TIME_US):
            for _, view in root.walk():
                leaves += [view.common_data, view.participant_data]
    return leaves


LEAVES = all_leaves()


def test_every_leaf_round_trips_and_re_encodes_identically() -> None:
    for leaf in LEAVES:
        wire = encode_leaf_content(leaf)
        assert decode_leaf_content(wire) == leaf
        assert encode_leaf_content(decode_leaf_content(wire)) == wire


def test_keys_and_lookups_are_carried_as_resolved_keys() -> None:
    tx = keyed_transaction()
    (view,) = decompose(tx, seeds_for(tx), INPUTS, ConfirmationPolicy.FULL, LEDGER_TIME_US)
    resolved = {(k.key, k.contract_id) for _, v in view.walk()
                for k in v.participant_data.resolved_keys}
    assert resolved == {(TextValue("ACME/Bob"), "share1"), (TextValue("none"), None)}


def test_equal_contents_give_equal_bytes_whatever_the_set_order() -> None:
    a = ViewCommonData(ViewConfirmationParameters(
        frozenset([ALICE, BOB, SR]), (ConfirmingParty(ALICE),), 1))
    b = ViewCommonData(ViewConfirmationParameters(
        frozenset([SR, BOB, ALICE]), (ConfirmingParty(ALICE),), 1))
    assert encode_leaf_content(a) == encode_leaf_content(b)


def test_unsorted_party_sets_are_not_canonical() -> None:
    leaf = ViewCommonData(ViewConfirmationParameters(frozenset([ALICE, BOB]),
                                                     (ConfirmingParty(ALICE),), 1))
    wire = encode_leaf_content(leaf)
    swapped = wire.replace(b"\x00\x00\x00\x05Alice\x00\x00\x00\x03Bob",
                           b"\x00\x00\x00\x03Bob\x00\x00\x00\x05Alice", 1)
    assert swapped != wire
    with pytest.raises(ViewDecodeError, match="sorted"):
        decode_leaf_content(swapped)


def test_semantically_invalid_contents_are_decode_errors() -> None:
    leaf = ViewCommonData(ViewConfirmationParameters(frozenset([ALICE]),
                                                     (ConfirmingParty(ALICE),), 1))
    wire = bytearray(encode_leaf_content(leaf))
    wire[-1] = 2  # threshold above the total confirming weight
    with pytest.raises(ViewDecodeError, match="threshold"):
        decode_leaf_content(bytes(wire))
    with pytest.raises(ViewDecodeError, match="leaf kind"):
        decode_leaf_content(bytes([FORMAT_VERSION, 0x63]))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(range(len(LEAVES))), st.data())
def test_a_one_byte_change_never_decodes_to_the_same_leaf(index: int, data: st.DataObject) -> None:
    wire = bytearray(encode_leaf_content(LEAVES[index]))
    position = data.draw(st.integers(0, len(wire) - 1))
    wire[position] ^= data.draw(st.integers(1, 255))
    try:
        decoded = decode_leaf_content(bytes(wire))
    except ViewDecodeError:
        return
    assert decoded != LEAVES[index]
