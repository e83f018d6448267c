"""Seed 003's counteroffer as transactions, shared by the conflict-detection and commit-set
tests.

Parties A (Alice), Bank and P (the painter), each on their own participant. c1 is an Iou
between A and the Bank, c2 A's Counteroffer to P. tx1: P accepts the Counteroffer, consuming c2
and (as a consequence) transferring the Iou c1. tx2: A retracts the Counteroffer, consuming c2.
"""

from __future__ import annotations

from minicanton.core.ids import RequestId
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.transaction import (
    ContractInstance,
    CreateNode,
    ExerciseNode,
    FetchNode,
    KeyWithMaintainers,
    Node,
    NodeId,
    Transaction,
)
from minicanton.core.lf.value import PartyValue, RecordValue, TextValue, UnitValue
from minicanton.core.protocol.commit_set import global_key_hash

A, BANK, P = "A", "Bank", "P"
PKG = "c" * 64
IOU = Identifier(PKG, "Paint", "Iou")
COUNTEROFFER = Identifier(PKG, "Paint", "Counteroffer")
AGREEMENT = Identifier(PKG, "Paint", "PaintAgreement")
ACCOUNT = Identifier(PKG, "Bank", "Account")
C1, C2 = "c1-iou", "c2-counteroffer"
TX1, TX2, TX3 = RequestId("tx1"), RequestId("tx2"), RequestId("tx3")
LEDGER_TIME_US = 1_000


def arg(type_id: Identifier) -> RecordValue:
    return RecordValue(type_id, (("note", TextValue("x")),))


def exercise(cid: str, template: Identifier, actors: set[str], stakeholders: set[str],
             children: tuple[int, ...] = (), consuming: bool = True,
             key: KeyWithMaintainers | None = None, by_key: bool = False) -> ExerciseNode:
    return ExerciseNode(
        contract_id=cid, template_id=template, choice="Choice", choice_argument=UnitValue(),
        acting_parties=frozenset(actors), consuming=consuming,
        signatories=frozenset(stakeholders), stakeholders=frozenset(stakeholders),
        choice_observers=frozenset(), children=tuple(NodeId(c) for c in children),
        exercise_result=None, key=key, by_key=by_key,
    )


def create(cid: str, template: Identifier, stakeholders: set[str],
           key: KeyWithMaintainers | None = None) -> CreateNode:
    return CreateNode(cid, template, arg(template), frozenset(stakeholders), frozenset(), key)


def fetch(cid: str, template: Identifier, actors: set[str], stakeholders: set[str]) -> FetchNode:
    return FetchNode(cid, template, frozenset(actors), frozenset(stakeholders),
                     frozenset(stakeholders))


def tx(*nodes: Node, roots: tuple[int, ...] = (0,)) -> Transaction:
    return Transaction(tuple(nodes), tuple(NodeId(r) for r in roots))


INPUTS = {  # the input contracts' instances, as the views carry them
    C1: ContractInstance(C1, IOU, arg(IOU), frozenset({BANK}), frozenset({A})),
    C2: ContractInstance(C2, COUNTEROFFER, arg(COUNTEROFFER), frozenset({A}), frozenset({P})),
}


def accept_counteroffer(suffix: str = "") -> Transaction:
    """tx1: P accepts c2; the Iou c1 goes from A to P; a PaintAgreement is created."""
    return tx(
        exercise(C2, COUNTEROFFER, {P}, {A, P}, children=(1, 3)),
        exercise(C1, IOU, {A}, {A, BANK}, children=(2,)),
        create(f"c3-new-iou{suffix}", IOU, {BANK, P}),
        create(f"c4-agreement{suffix}", AGREEMENT, {A, P}),
    )


def retract_counteroffer() -> Transaction:
    """tx2: A retracts the Counteroffer c2."""
    return tx(exercise(C2, COUNTEROFFER, {A}, {A, P}))


KEY = KeyWithMaintainers(PartyValue(BANK), frozenset({BANK}))
KEY_HASH = global_key_hash(ACCOUNT, KEY.key)
