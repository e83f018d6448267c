"""What a verdict commits at one participant: archived, created, divulged, the projection."""

from __future__ import annotations

import pytest
from counteroffer import (
    ACCOUNT,
    BANK,
    C1,
    C2,
    INPUTS,
    IOU,
    KEY,
    LEDGER_TIME_US,
    A,
    P,
    accept_counteroffer,
    create,
    exercise,
    tx,
)

from minicanton.core.errors import InvalidArgument
from minicanton.core.lf.transaction import NodeId
from minicanton.core.protocol.commit_set import commit_set_for, global_key_hash


def test_each_participant_commits_its_stakeholders_part() -> None:
    transaction = accept_counteroffer()
    at_bank = commit_set_for(transaction, frozenset({BANK}), INPUTS, LEDGER_TIME_US)
    at_p = commit_set_for(transaction, frozenset({P}), INPUTS, LEDGER_TIME_US)
    assert at_bank.archived == {C1} and at_bank.created_ids == {"c3-new-iou"}
    assert at_p.archived == {C2} and at_p.created_ids == {"c3-new-iou", "c4-agreement"}
    assert all(c.contract.created_at_us == LEDGER_TIME_US for c in at_p.created)


def test_a_party_sees_all_consequences_so_the_painter_gets_the_iou_divulged() -> None:
    at_p = commit_set_for(accept_counteroffer(), frozenset({P}), INPUTS, LEDGER_TIME_US)
    assert [c.contract_id for c in at_p.divulged] == [C1]
    assert C1 not in at_p.archived  # P is no stakeholder: its ACS never held c1
    with pytest.raises(InvalidArgument):
        commit_set_for(accept_counteroffer(), frozenset({P}), {}, LEDGER_TIME_US)


def test_projection_keeps_node_ids_and_witnesses() -> None:
    at_bank = commit_set_for(accept_counteroffer(), frozenset({BANK}), INPUTS, LEDGER_TIME_US)
    projection = at_bank.projection
    assert projection.roots == (NodeId(1),)  # the Bank is informee of the Iou transfer only
    assert [n.node_id for n in projection.nodes] == [1, 2]
    assert projection.node(NodeId(1)).flat_witnesses == {BANK}


def test_projection_for_one_party_out_of_several_hosted() -> None:
    both = commit_set_for(accept_counteroffer(), frozenset({A, BANK}), INPUTS, LEDGER_TIME_US)
    assert both.projection.roots == (NodeId(0),)
    bank_only = both.projection.projection_for(BANK)
    assert bank_only.roots == (NodeId(1),)
    assert [n.node_id for n in bank_only.nodes] == [1, 2]
    assert both.projection.witnesses == {A, BANK}


def test_transient_contracts_are_left_out_of_flat_witnesses() -> None:
    transaction = tx(create("t", IOU, {A}), exercise("t", IOU, {A}, {A}), roots=(0, 1))
    commit = commit_set_for(transaction, frozenset({A}), {}, LEDGER_TIME_US)
    assert all(n.flat_witnesses == frozenset() for n in commit.projection.nodes)
    assert all(n.tree_witnesses == {A} for n in commit.projection.nodes)


def test_created_keys_are_hashed_per_template_and_value() -> None:
    commit = commit_set_for(tx(create("acc", ACCOUNT, {BANK}, KEY)), frozenset({BANK}), {},
                            LEDGER_TIME_US)
    assert commit.created[0].key_hash == global_key_hash(ACCOUNT, KEY.key)
    assert global_key_hash(ACCOUNT, KEY.key) != global_key_hash(IOU, KEY.key)
