"""Seed 003's DvP across four participants of real processes (Bank, SR, Alice and Bob each on
their own): the ledgers hold what the ledger model says, and the bytes the sequencer
delivered to Bank's participant say nothing of the Share, those delivered to SR's nothing
of the Iou — checked by reading every envelope as that participant and opening it with its
own keys."""

from __future__ import annotations

from typing import Any

import pytest
from tests.system.participant.harness import created, eventually
from tests.system.protocol.delivered import assert_learns_nothing_of, delivered_to
from tests.system.protocol.ledger import (
    Dvp,
    Shape,
    allocate_dvp_parties,
    contract_ids_in,
    setup_until_dvp,
    shape,
    swap,
    trees_of,
)
from tests.system.protocol.network import Network

pytestmark = pytest.mark.system

SWAP: Shape = ((0, "exercise DvP.Swap"), (1, "exercise Iou.Transfer"), (2, "create Iou"),
               (1, "exercise Share.Transfer"), (2, "create Share"))
ACCEPT: Shape = ((0, "exercise DvpProposal.Accept"), (1, "create DvP"))
# Each party's projection of each step, as the transaction tree service shows it. Fetches are
# not shown, as in Daml: SR witnesses the Accept's fetch of its Share and nothing else, so
# its tree of the Accept has no event (an empty tree, or none at all, both fit).
PROJECTIONS: dict[str, dict[str, Shape]] = {
    "bank": {"iou": ((0, "create Iou"),),
             "swap": ((0, "exercise Iou.Transfer"), (1, "create Iou"))},
    "sr": {"share": ((0, "create Share"),), "accept": (),
           "swap": ((0, "exercise Share.Transfer"), (1, "create Share"))},
    "alice": {"iou": ((0, "create Iou"),), "propose": ((0, "create DvpProposal"),),
              "accept": ACCEPT, "swap": SWAP},
    "bob": {"share": ((0, "create Share"),), "propose": ((0, "create DvpProposal"),),
            "accept": ACCEPT, "swap": SWAP},
}

# The flat streams: each party's stakeholder events (created, archived), in node order.
FLAT: dict[str, dict[str, tuple[str, ...]]] = {
    "bank": {"iou": ("created Iou",), "swap": ("archived Iou", "created Iou")},
    "sr": {"share": ("created Share",), "swap": ("archived Share", "created Share")},
    "alice": {"iou": ("created Iou",), "propose": ("created DvpProposal",),
              "accept": ("archived DvpProposal", "created DvP"),
              "swap": ("archived DvP", "archived Iou", "created Share")},
    "bob": {"share": ("created Share",), "propose": ("created DvpProposal",),
            "accept": ("archived DvpProposal", "created DvP"),
            "swap": ("archived DvP", "created Iou", "archived Share")},
}


async def _run_dvp(network: Network) -> tuple[Dvp, dict[str, str]]:
    parties = await allocate_dvp_parties(network)
    dvp = await setup_until_dvp(network, parties, "dvp")
    swapped = await swap(network, dvp, "dvp-swap")
    dvp.transactions["swap"] = str(swapped.transaction_id)
    new = {"share": created(swapped, "Share")}
    bob_view = await eventually(lambda: _transaction_of(network, "bob", parties.bob,
                                                        swapped.transaction_id))
    new["iou"] = created(bob_view, "Iou")
    return dvp, new


async def _transaction_of(network: Network, name: str, party: str, transaction_id: str) -> Any:
    for transaction in await network.clients[name].transactions_of(party):
        if transaction.transaction_id == transaction_id:
            return transaction
    raise AssertionError(f"{transaction_id} not yet at {name}")


@pytest.fixture(scope="module")
async def dvp_run(network: Network) -> tuple[Dvp, dict[str, str]]:
    run = await _run_dvp(network)
    dvp = run[0]

    async def everyone_has_the_swap() -> None:
        for name in ("bank", "sr", "alice", "bob"):
            party = getattr(dvp.parties, name)
            trees = await trees_of(network.clients[name], party)
            assert dvp.transactions["swap"] in {t.transaction_id for t in trees}, name

    await eventually(everyone_has_the_swap, timeout_s=30)
    return run


async def test_each_ledger_holds_exactly_its_partys_projection(
        network: Network, dvp_run: tuple[Dvp, dict[str, str]]) -> None:
    dvp, _ = dvp_run
    steps = {tx: step for step, tx in dvp.transactions.items()}
    nodes_seen: dict[str, str] = {}  # event id -> what it does, across every participant
    for name, expected in PROJECTIONS.items():
        party = getattr(dvp.parties, name)
        trees = await trees_of(network.clients[name], party)
        actual = {steps.get(t.transaction_id, t.transaction_id): shape(t) for t in trees}
        assert actual == {step: s for step, s in expected.items() if s or step in actual}, name
        for tree in trees:
            for event_id, event in tree.events_by_id.items():
                kind = event.WhichOneof("kind")
                what = (event.created.contract_id if kind == "created"
                        else event.exercised.contract_id + event.exercised.choice)
                assert nodes_seen.setdefault(event_id, what) == what, (
                    "one node, two meanings at two participants", event_id)


async def test_each_flat_stream_holds_exactly_its_partys_stakeholder_events(
        network: Network, dvp_run: tuple[Dvp, dict[str, str]]) -> None:
    dvp, _ = dvp_run
    steps = {tx: step for step, tx in dvp.transactions.items()}
    for name, expected in FLAT.items():
        transactions = await network.clients[name].transactions_of(getattr(dvp.parties, name))
        actual = {steps.get(t.transaction_id, t.transaction_id): tuple(
            f"{e.WhichOneof('event')} {getattr(e, e.WhichOneof('event')).template_id.entity_name}"
            for e in t.events) for t in transactions}
        assert actual == expected, name


async def test_the_swap_moves_the_iou_to_bob_and_the_share_to_alice(
        network: Network, dvp_run: tuple[Dvp, dict[str, str]]) -> None:
    dvp, new = dvp_run
    p = dvp.parties
    expected = {"bank": (p.bank, {new["iou"]: ("Iou", p.bob)}),
                "sr": (p.sr, {new["share"]: ("Share", p.alice)}),
                "alice": (p.alice, {new["share"]: ("Share", p.alice)}),
                "bob": (p.bob, {new["iou"]: ("Iou", p.bob)})}
    for name, (party, contracts) in expected.items():
        found = {}
        for contract in await network.clients[name].active_contracts(party):
            fields = {f.label: f.value for f in contract.create_arguments.fields}
            found[contract.contract_id] = (contract.template_id.entity_name,
                                           fields["owner"].party)
        assert found == contracts, name


async def test_bank_is_delivered_nothing_of_the_share_and_sr_nothing_of_the_iou(
        network: Network, dvp_run: tuple[Dvp, dict[str, str]]) -> None:
    dvp, new = dvp_run
    p = dvp.parties
    sr_trees = await trees_of(network.clients["sr"], p.sr)
    bank_trees = await trees_of(network.clients["bank"], p.bank)
    shares = {dvp.share, new["share"]} | set().union(*map(contract_ids_in, sr_trees))
    ious = {dvp.iou, new["iou"]} | set().union(*map(contract_ids_in, bank_trees))
    neither = {dvp.proposal, dvp.dvp}  # Bank and SR are informees of neither

    to_bank = await delivered_to(network, "bank")
    assert {"view", "protocol", "topology"} <= {o.kind for o in to_bank}
    bank_views = {o.entities for o in to_bank if o.kind == "view"}
    assert frozenset({"Iou"}) in bank_views  # it did get its Iou views, and opened them
    assert_learns_nothing_of(to_bank, contract_ids=shares | neither,
                             parties=network.hosted["sr"],
                             participants=[network.participant_id("sr")], entity="Share")

    to_sr = await delivered_to(network, "sr")
    assert frozenset({"Share"}) in {o.entities for o in to_sr if o.kind == "view"}
    assert_learns_nothing_of(to_sr, contract_ids=ious | neither,
                             parties=network.hosted["bank"],
                             participants=[network.participant_id("bank")], entity="Iou")
