"""The seed's DvP through the engine: Bank's Iou to Alice, SR's Share to Bob, Alice proposes,
Bob accepts, Alice swaps. Each step's tree is checked node by node; Swap is authorized only
as the package is written. (Informees and views of these trees are tested with the ledger
model, in tests/unit/protocol.)"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from engine_helpers import (
    ALICE,
    BANK,
    BOB,
    DVP_SOURCE,
    LEDGER_TIME_US,
    SR,
    InMemoryLedger,
    cid,
    dvp_registry,
    int64,
    numeric,
    party,
    record,
    ref,
    text,
)

from minicanton.core.lf.commands import CreateCommand, ExerciseCommand
from minicanton.core.lf.engine import SubmissionResult, reinterpret
from minicanton.core.lf.engine_errors import AssertionFailed, ContractNotFound, FailedAuthorization
from minicanton.core.lf.package import PackageRegistry
from minicanton.core.lf.transaction import CreateNode, ExerciseNode, FetchNode, NodeId
from minicanton.core.lf.value import ContractIdValue, RecordValue


@dataclass
class Dvp:
    registry: PackageRegistry
    ledger: InMemoryLedger
    iou: str
    share: str
    proposal: str


def _created(result: SubmissionResult) -> str:
    node = result.transaction.nodes[0]
    assert isinstance(node, CreateNode)
    return node.contract_id


def _setup(source: str = DVP_SOURCE, quantity: int = 10) -> Dvp:
    registry = dvp_registry(source)
    ledger = InMemoryLedger()
    iou = _created(
        ledger.submit(
            registry,
            [
                CreateCommand(
                    ref("dvp:Iou"),
                    record(
                        issuer=party(BANK),
                        owner=party(ALICE),
                        amount=numeric("100"),
                        currency=text("USD"),
                    ),
                )
            ],
            [BANK],
        )
    )
    share = _created(
        ledger.submit(
            registry,
            [
                CreateCommand(
                    ref("dvp:Share"),
                    record(
                        registry=party(SR),
                        owner=party(BOB),
                        company=text("ACME"),
                        quantity=int64(quantity),
                    ),
                )
            ],
            [SR],
        )
    )
    proposal = _created(
        ledger.submit(
            registry,
            [
                CreateCommand(
                    ref("dvp:DvpProposal"),
                    record(
                        buyer=party(ALICE),
                        seller=party(BOB),
                        iou=cid(iou),
                        company=text("ACME"),
                        quantity=int64(10),
                    ),
                )
            ],
            [ALICE],
        )
    )
    return Dvp(registry, ledger, iou, share, proposal)


def _accept(dvp: Dvp, act_as: str = BOB) -> SubmissionResult:
    command = ExerciseCommand(
        ref("dvp:DvpProposal"), dvp.proposal, "Accept", record(share=cid(dvp.share))
    )
    return dvp.ledger.submit(dvp.registry, [command], [act_as])


def _swap(dvp: Dvp, dvp_id: str, act_as: str = ALICE) -> SubmissionResult:
    command = ExerciseCommand(ref("dvp:DvP"), dvp_id, "Swap", record())
    return dvp.ledger.submit(dvp.registry, [command], [act_as])


def _dvp_id(accept: SubmissionResult) -> str:
    root = accept.transaction.nodes[0]
    assert isinstance(root, ExerciseNode) and isinstance(root.exercise_result, ContractIdValue)
    return root.exercise_result.value


def test_setup_creates_three_contracts_with_their_stakeholders() -> None:
    dvp = _setup()
    iou, share, proposal = (dvp.ledger.active[c] for c in (dvp.iou, dvp.share, dvp.proposal))
    assert (iou.signatories, iou.observers) == ({BANK}, {ALICE})
    assert (share.signatories, share.observers) == ({SR}, {BOB})
    assert (proposal.signatories, proposal.observers) == ({ALICE}, {BOB})


def test_accept_fetches_the_share_and_creates_the_dvp() -> None:
    dvp = _setup()
    accept = _accept(dvp)
    tx = accept.transaction
    exercise, fetch, create = tx.nodes
    assert tx.roots == (0,)
    assert isinstance(exercise, ExerciseNode)
    assert (exercise.choice, exercise.consuming, exercise.children) == ("Accept", True, (1, 2))
    assert exercise.acting_parties == {BOB} and exercise.signatories == {ALICE}
    assert exercise.stakeholders == {ALICE, BOB}
    assert isinstance(fetch, FetchNode)
    assert fetch.contract_id == dvp.share and fetch.template_id.entity_name == "Share"
    assert fetch.acting_parties == {BOB} and fetch.signatories == {SR}
    assert isinstance(create, CreateNode) and create.template_id.entity_name == "DvP"
    assert create.signatories == {ALICE, BOB} and create.observers == frozenset()
    assert create.argument.field("share") == cid(dvp.share)
    assert create.argument.field("iou") == cid(dvp.iou)
    assert exercise.exercise_result == cid(create.contract_id)
    assert accept.consumed_contracts == (dvp.proposal,)
    assert set(accept.input_contracts) == {dvp.proposal, dvp.share}
    # Alice witnessed the fetch, so the Share is divulged to her: her view now resolves it.
    assert dvp.ledger.view([ALICE]).lookup_contract(dvp.share) is not None
    assert dvp.ledger.view([BANK]).lookup_contract(dvp.share) is None


def test_swap_transfers_both_assets_atomically() -> None:
    dvp = _setup()
    dvp_id = _dvp_id(_accept(dvp))
    swap = _swap(dvp, dvp_id)
    tx = swap.transaction
    kinds = [(type(n).__name__, getattr(n, "choice", None)) for n in tx.nodes]
    assert kinds == [
        ("ExerciseNode", "Swap"),
        ("ExerciseNode", "Transfer"),
        ("CreateNode", None),
        ("ExerciseNode", "Transfer"),
        ("CreateNode", None),
    ]
    root, iou_transfer, new_iou, share_transfer, new_share = tx.nodes
    assert isinstance(root, ExerciseNode) and root.children == (1, 3)
    assert root.acting_parties == {ALICE} and root.signatories == {ALICE, BOB}
    assert isinstance(iou_transfer, ExerciseNode) and iou_transfer.contract_id == dvp.iou
    assert iou_transfer.acting_parties == {ALICE} and iou_transfer.signatories == {BANK}
    assert iou_transfer.stakeholders == {BANK, ALICE} and iou_transfer.children == (2,)
    assert isinstance(new_iou, CreateNode)
    assert new_iou.signatories == {BANK} and new_iou.observers == {BOB}
    assert new_iou.argument.field("owner") == party(BOB)
    assert new_iou.argument.field("amount") == numeric("100")
    assert isinstance(share_transfer, ExerciseNode) and share_transfer.contract_id == dvp.share
    assert share_transfer.acting_parties == {BOB} and share_transfer.signatories == {SR}
    assert isinstance(new_share, CreateNode)
    assert new_share.signatories == {SR} and new_share.observers == {ALICE}
    assert root.exercise_result == RecordValue(
        root.exercise_result.type_id,  # type: ignore[union-attr]
        (("iou", cid(new_iou.contract_id)), ("share", cid(new_share.contract_id))),
    )
    assert root.exercise_result.type_id.entity_name == "SwapResult"  # type: ignore[union-attr]
    assert swap.consumed_contracts == (dvp_id, dvp.iou, dvp.share)
    owners = {c.template_id.entity_name: c.argument.field("owner") for c in swap.active_created}
    assert owners == {"Iou": party(BOB), "Share": party(ALICE)}
    assert {dvp.iou, dvp.share, dvp_id}.isdisjoint(dvp.ledger.active)


def test_bank_and_sr_each_touch_only_their_own_asset() -> None:
    dvp = _setup()
    dvp_id = _dvp_id(_accept(dvp))
    tx = _swap(dvp, dvp_id).transaction
    for node in tx.nodes:
        parties = node.stakeholders | getattr(node, "acting_parties", frozenset())
        if node.template_id.entity_name == "Share":
            assert BANK not in parties
        if node.template_id.entity_name == "Iou":
            assert SR not in parties


def test_each_part_of_the_swap_reinterprets_to_the_same_nodes() -> None:
    dvp = _setup()
    dvp_id = _dvp_id(_accept(dvp))
    before = dvp.ledger.view([ALICE, BOB])
    command = ExerciseCommand(ref("dvp:DvP"), dvp_id, "Swap", record())
    swap = dvp.ledger.submit(dvp.registry, [command], [ALICE], commit=False)
    tx = swap.transaction
    for node_id, length in ((NodeId(0), 5), (NodeId(1), 2), (NodeId(3), 2)):
        again = reinterpret(
            tx.node(node_id), swap.node_seeds[node_id], LEDGER_TIME_US, before, dvp.registry
        )
        expected = tx.nodes[node_id : node_id + length]
        assert [type(n) for n in again.transaction.nodes] == [type(n) for n in expected]
        assert again.transaction.nodes[0] == _shifted(expected[0], node_id)
        assert list(again.created_contracts) == [
            n.contract_id for n in expected if isinstance(n, CreateNode)
        ]


def _shifted(node, offset: int):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    if isinstance(node, ExerciseNode):
        return replace(node, children=tuple(NodeId(c - offset) for c in node.children))
    return node


def test_swap_acting_as_the_seller_fails_naming_the_buyer() -> None:
    dvp = _setup()
    dvp_id = _dvp_id(_accept(dvp))
    with pytest.raises(FailedAuthorization) as caught:
        _swap(dvp, dvp_id, act_as=BOB)
    assert caught.value.missing == {ALICE}
    assert "exercise of dvp:DvP.Swap requires authorization of" in caught.value.message


def test_swap_without_the_seller_as_signatory_fails_naming_the_seller() -> None:
    source = DVP_SOURCE.replace('signatories = ("buyer", "seller")', 'signatories = ("buyer",)')
    assert source != DVP_SOURCE
    dvp = _setup(source)
    dvp_id = _dvp_id(_accept(dvp))  # creating the DvP now needs only the buyer
    with pytest.raises(FailedAuthorization) as caught:
        _swap(dvp, dvp_id)
    assert caught.value.missing == {BOB}
    assert "exercise of dvp:Share.Transfer requires authorization of" in caught.value.message
    assert f"(authorizers: {{{ALICE}}})" in caught.value.message


def test_swap_cannot_stand_in_for_the_issuer() -> None:
    # If moving an Iou needed its issuer, the buyer's and seller's authority would not do.
    iou_transfer = "\n    def Transfer(self, ctx, recipient: Party) -> ContractId[Iou]"
    source = DVP_SOURCE.replace(
        '@choice(controller="owner")' + iou_transfer, '@choice(controller="issuer")' + iou_transfer
    )
    assert source != DVP_SOURCE
    dvp = _setup(source)
    dvp_id = _dvp_id(_accept(dvp))
    with pytest.raises(FailedAuthorization) as caught:
        _swap(dvp, dvp_id)
    assert caught.value.missing == {BANK}
    assert "exercise of dvp:Iou.Transfer" in caught.value.message


def test_a_proposal_signed_by_the_seller_cannot_be_created_by_the_buyer() -> None:
    source = DVP_SOURCE.replace(
        'signatories = ("buyer",)\n    observers = ("seller",)',
        'signatories = ("seller",)\n    observers = ("buyer",)',
    )
    assert source != DVP_SOURCE
    with pytest.raises(FailedAuthorization) as caught:
        _setup(source)
    assert caught.value.missing == {BOB}


def test_accept_checks_the_quantity() -> None:
    dvp = _setup(quantity=9)
    with pytest.raises(AssertionFailed) as caught:
        _accept(dvp)
    assert caught.value.assertion_message == "the share quantity does not match"


def test_a_second_swap_finds_the_dvp_archived() -> None:
    dvp = _setup()
    dvp_id = _dvp_id(_accept(dvp))
    _swap(dvp, dvp_id)
    with pytest.raises(ContractNotFound):
        _swap(dvp, dvp_id)
