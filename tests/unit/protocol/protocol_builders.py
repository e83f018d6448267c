"""Hand-built transactions shaped like seed 003's DvP, for the ledger-model and view tests.

Parties are plain hints here: the ledger model only compares them. The Swap tree is the
seed's picture: Alice exercises Swap on DvP{Alice, Bob}; it transfers Bank's Iou from Alice
to Bob and SR's Share from Bob to Alice.
"""

from __future__ import annotations

from decimal import Decimal

from minicanton.core.ids import MemberId, ParticipantId
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.transaction import (
    ContractInstance,
    CreateNode,
    ExerciseNode,
    FetchNode,
    Node,
    NodeId,
    Transaction,
)
from minicanton.core.lf.value import (
    ContractIdValue,
    Int64Value,
    NumericValue,
    PartyValue,
    RecordValue,
    TextValue,
    UnitValue,
    Value,
)
from minicanton.core.protocol.confirmation_policy import ConfirmationPolicy
from minicanton.core.protocol.views import (
    CommonMetadata,
    ParticipantMetadata,
    SubmitterMetadata,
)

ALICE, BOB, BANK, SR = "Alice", "Bob", "Bank", "SR"
PKG = "a" * 64
IOU = Identifier(PKG, "dvp", "Iou")
SHARE = Identifier(PKG, "dvp", "Share")
PROPOSAL = Identifier(PKG, "dvp", "DvpProposal")
DVP = Identifier(PKG, "dvp", "DvP")
LEDGER_TIME_US = 1_700_000_000_000_000


def record(type_id: Identifier, **fields: Value) -> RecordValue:
    return RecordValue(type_id, tuple(fields.items()))


def iou_arg(owner: str) -> RecordValue:
    return record(IOU, issuer=PartyValue(BANK), owner=PartyValue(owner),
                  amount=NumericValue(Decimal("100.0000000000")), currency=TextValue("USD"))


def share_arg(owner: str) -> RecordValue:
    return record(SHARE, registry=PartyValue(SR), owner=PartyValue(owner),
                  company=TextValue("ACME"), quantity=Int64Value(10))


def dvp_arg() -> RecordValue:
    return record(DVP, buyer=PartyValue(ALICE), seller=PartyValue(BOB),
                  iou=ContractIdValue("iou1"), share=ContractIdValue("share1"))


def proposal_arg() -> RecordValue:
    return record(PROPOSAL, buyer=PartyValue(ALICE), seller=PartyValue(BOB),
                  iou=ContractIdValue("iou1"), company=TextValue("ACME"),
                  quantity=Int64Value(10))


def contract(cid: str, template: Identifier, arg: RecordValue, sigs: set[str],
             obs: set[str]) -> ContractInstance:
    return ContractInstance(cid, template, arg, frozenset(sigs), frozenset(obs),
                            created_at_us=LEDGER_TIME_US - 1000)


INPUTS = {
    "iou1": contract("iou1", IOU, iou_arg(ALICE), {BANK}, {ALICE}),
    "share1": contract("share1", SHARE, share_arg(BOB), {SR}, {BOB}),
    "dvp": contract("dvp", DVP, dvp_arg(), {ALICE, BOB}, set()),
    "prop": contract("prop", PROPOSAL, proposal_arg(), {ALICE}, {BOB}),
}


def exercise(cid: str, template: Identifier, choice: str, actors: set[str],
             sigs: set[str], stakeholders: set[str], children: tuple[int, ...],
             consuming: bool = True, choice_observers: frozenset[str] = frozenset(),
             arg: Value | None = None) -> ExerciseNode:
    return ExerciseNode(
        contract_id=cid, template_id=template, choice=choice,
        choice_argument=arg if arg is not None else UnitValue(),
        acting_parties=frozenset(actors), consuming=consuming,
        signatories=frozenset(sigs), stakeholders=frozenset(stakeholders),
        choice_observers=choice_observers, children=tuple(NodeId(c) for c in children),
        exercise_result=None,
    )


def create(cid: str, template: Identifier, arg: RecordValue, sigs: set[str],
           obs: set[str]) -> CreateNode:
    return CreateNode(cid, template, arg, frozenset(sigs), frozenset(obs))


def swap_transaction() -> Transaction:
    nodes: tuple[Node, ...] = (
        exercise("dvp", DVP, "Swap", {ALICE}, {ALICE, BOB}, {ALICE, BOB}, (1, 3)),
        exercise("iou1", IOU, "Transfer", {ALICE}, {BANK}, {BANK, ALICE}, (2,),
                 arg=record(IOU, recipient=PartyValue(BOB))),
        create("iou2", IOU, iou_arg(BOB), {BANK}, {BOB}),
        exercise("share1", SHARE, "Transfer", {BOB}, {SR}, {SR, BOB}, (4,),
                 arg=record(SHARE, recipient=PartyValue(ALICE))),
        create("share2", SHARE, share_arg(ALICE), {SR}, {ALICE}),
    )
    return Transaction(nodes=nodes, roots=(NodeId(0),))


def accept_transaction() -> Transaction:
    nodes: tuple[Node, ...] = (
        exercise("prop", PROPOSAL, "Accept", {BOB}, {ALICE}, {ALICE, BOB}, (1, 2),
                 arg=record(PROPOSAL, share=ContractIdValue("share1"))),
        FetchNode("share1", SHARE, frozenset({BOB}), frozenset({SR}), frozenset({SR, BOB})),
        create("dvp", DVP, dvp_arg(), {ALICE, BOB}, set()),
    )
    return Transaction(nodes=nodes, roots=(NodeId(0),))


def seeds_for(transaction: Transaction) -> dict[NodeId, bytes]:
    return {
        NodeId(i): bytes([i]) * 32
        for i, node in enumerate(transaction.nodes)
        if isinstance(node, (CreateNode, ExerciseNode))
    }


def metadata(
    policy: ConfirmationPolicy = ConfirmationPolicy.SIGNATORY,
) -> tuple[SubmitterMetadata, CommonMetadata, ParticipantMetadata]:
    submitter = SubmitterMetadata(
        act_as=frozenset({ALICE}), application_id="dvp-app",
        command_id="cmd-1", submitting_participant=ParticipantId("PAR::alice::1220ab"),
        submission_id="sub-1", max_sequencing_time_us=LEDGER_TIME_US + 60_000_000,
    )
    common = CommonMetadata(policy, "domain::1220cd", MemberId("MED::mediator::1220ef"))
    participant = ParticipantMetadata(LEDGER_TIME_US, LEDGER_TIME_US, "workflow-1")
    return submitter, common, participant
