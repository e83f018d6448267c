"""What a verdict commits at one participant: archived, created, divulged, the projection."""

from __future__ import annotations

import pytest
from counteroffer import (
    ACCOUNT,
    AGREEMENT,
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
    fetch,
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


def test_divulgence_is_per_party_even_when_a_co_hosted_party_is_a_stakeholder() -> None:
    # Bob exercises X (signed by A and Bob); its body fetches c1, whose stakeholders are A and
    # the Bank. Bob witnesses the fetch without being a stakeholder: c1 is divulged to him,
    # whether or not A (a stakeholder) shares his participant.
    bob = "Bob"
    transaction = tx(
        exercise("x", AGREEMENT, {bob}, {A, bob}, children=(1,), consuming=False),
        fetch(C1, IOU, {A}, {A, BANK}),
    )
    alone = commit_set_for(transaction, frozenset({bob}), INPUTS, LEDGER_TIME_US)
    co_hosted = commit_set_for(transaction, frozenset({A, bob}), INPUTS, LEDGER_TIME_US)
    assert [c.contract_id for c in alone.divulged] == [C1]
    assert [c.contract_id for c in co_hosted.divulged] == [C1]
    assert co_hosted.divulged[0] == INPUTS[C1]
    # Only A and Bob are hosted: no hosted witness of x is a non-stakeholder, nothing else.
    assert co_hosted.archived == frozenset() and co_hosted.created == ()


def test_a_co_hosted_witness_gets_a_created_contract_divulged() -> None:
    # At a participant hosting A and the Bank: A transfers the Iou c1 and so witnesses the
    # new Iou created for P (a consequence) without being its stakeholder. The Bank is one,
    # which used to hide A's divulgence; c1 itself has both as stakeholders: not divulged.
    at_a_and_bank = commit_set_for(accept_counteroffer(), frozenset({A, BANK}), INPUTS,
                                   LEDGER_TIME_US)
    assert [c.contract_id for c in at_a_and_bank.divulged] == ["c3-new-iou"]
    assert at_a_and_bank.created_ids == {"c3-new-iou", "c4-agreement"}
