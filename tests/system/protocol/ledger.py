"""Ledger API reading for the protocol scenarios: transaction trees as readable shapes,
completions from the CompletionStream, the error a CommandService call ended with, and the
DvP flow of seed 003 through four participants."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2
from tests.system.participant.harness import (
    APPLICATION_ID,
    LedgerClient,
    create,
    created,
    eventually,
    exercise,
    party_token,
    record,
)
from tests.system.protocol.network import Network

from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    command_completion_service_pb2 as completion_pb,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    command_completion_service_pb2_grpc as completion_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import commands_pb2, transaction_filter_pb2
from minicanton.codec.gen.com.daml.ledger.api.v1 import ledger_offset_pb2 as offset_pb
from minicanton.codec.gen.com.daml.ledger.api.v1 import transaction_service_pb2 as tx_pb
from minicanton.codec.gen.com.daml.ledger.api.v1.value_pb2 import Identifier, Value

Shape = tuple[tuple[int, str], ...]  # (depth, "create Iou" | "exercise Iou.Transfer") preorder


@dataclass(frozen=True)
class RpcFailure:
    """What a Ledger API call ended with: the status code, the Daml error id (ErrorInfo
    reason), its metadata, and the status message."""

    code: grpc.StatusCode
    error_id: str
    metadata: dict[str, str]
    message: str


def failure_of(error: grpc.aio.AioRpcError) -> RpcFailure:
    status = status_pb2.Status()
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status.ParseFromString(value)
    return RpcFailure(error.code(), *_error_info(status), error.details() or "")


def _error_info(status: status_pb2.Status) -> tuple[str, dict[str, str]]:
    info = error_details_pb2.ErrorInfo()
    for detail in status.details:
        if detail.Unpack(info):
            return str(info.reason), dict(info.metadata)
    return "", {}


def completion_failure(completion: Any) -> RpcFailure:
    code = next(c for c in grpc.StatusCode if c.value[0] == completion.status.code)
    return RpcFailure(code, *_error_info(completion.status), completion.status.message)


def create_in(module: str, entity: str, **fields: Value) -> commands_pb2.Command:
    return commands_pb2.Command(create=commands_pb2.CreateCommand(
        template_id=Identifier(module_name=module, entity_name=entity),
        create_arguments=record(**fields)))


def exercise_in(module: str, entity: str, contract_id: str, choice: str,
                **arguments: Value) -> commands_pb2.Command:
    return commands_pb2.Command(exercise=commands_pb2.ExerciseCommand(
        template_id=Identifier(module_name=module, entity_name=entity),
        contract_id=contract_id, choice=choice,
        choice_argument=Value(record=record(**arguments))))


def _filter(party: str) -> transaction_filter_pb2.TransactionFilter:
    return transaction_filter_pb2.TransactionFilter(
        filters_by_party={party: transaction_filter_pb2.Filters()})


async def trees_of(client: LedgerClient, party: str) -> list[Any]:
    """Every transaction tree `party` sees, from the beginning to the ledger end now."""
    end = await client.ledger_end(party)
    if not end:
        return []
    request = tx_pb.GetTransactionsRequest(
        ledger_id="minicanton",
        begin=offset_pb.LedgerOffset(boundary=offset_pb.LedgerOffset.LEDGER_BEGIN),
        end=offset_pb.LedgerOffset(absolute=end), filter=_filter(party), verbose=True)
    trees = []
    async for response in client.transactions.GetTransactionTrees(
            request, metadata=client.auth(party_token(party)), timeout=30, wait_for_ready=True):
        trees += list(response.transactions)
    return trees


def shape(tree: Any) -> Shape:
    """The tree's events in preorder, each as its depth and what it does."""
    out: list[tuple[int, str]] = []

    def visit(event_id: str, depth: int) -> None:
        event = tree.events_by_id[event_id]
        if event.WhichOneof("kind") == "created":
            out.append((depth, f"create {event.created.template_id.entity_name}"))
            return
        exercised = event.exercised
        out.append((depth, f"exercise {exercised.template_id.entity_name}.{exercised.choice}"))
        for child in exercised.child_event_ids:
            visit(child, depth + 1)

    for root in tree.root_event_ids:
        visit(root, 0)
    return tuple(out)


def contract_ids_in(tree: Any) -> set[str]:
    found = set()
    for event in tree.events_by_id.values():
        kind = event.WhichOneof("kind")
        found.add(event.created.contract_id if kind == "created" else event.exercised.contract_id)
    return found


async def completions_of(client: LedgerClient, party: str,
                         settle_s: float = 1.5) -> list[Any]:
    """Every completion of this application's commands acting as `party`, from the start:
    read until the ledger end, then `settle_s` more for any late one."""
    stub = completion_grpc.CommandCompletionServiceStub(client.channel)
    request = completion_pb.CompletionStreamRequest(
        ledger_id="minicanton", application_id=APPLICATION_ID, parties=[party],
        offset=offset_pb.LedgerOffset(boundary=offset_pb.LedgerOffset.LEDGER_BEGIN))
    found: list[Any] = []
    call = stub.CompletionStream(request, metadata=client.auth(party_token(party)),
                                 wait_for_ready=True)

    async def read() -> None:
        async for response in call:
            found.extend((response.checkpoint, c) for c in response.completions)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(read(), settle_s)
    call.cancel()
    return found


# -- seed 003's DvP ----------------------------------------------------------------------


@dataclass
class DvpParties:
    bank: str
    sr: str
    alice: str
    bob: str


@dataclass
class Dvp:
    parties: DvpParties
    iou: str
    share: str
    proposal: str
    dvp: str
    transactions: dict[str, str]  # step -> transaction id


async def allocate_dvp_parties(net: Network, suffix: str = "") -> DvpParties:
    parties = DvpParties(*[await net.allocate(name, f"{hint}{suffix}") for name, hint in
                           (("bank", "Bank"), ("sr", "SR"), ("alice", "Alice"), ("bob", "Bob"))])
    await known_everywhere(net, vars(parties).values())
    return parties


async def known_everywhere(net: Network, parties: Iterable[str]) -> None:
    """Allocation returns once the hosting participant knows the party; a command naming it
    elsewhere must wait until the topology change reached every participant."""
    wanted = set(parties)

    async def known() -> None:
        for name, client in net.clients.items():
            missing = wanted - {p.party for p in await client.known_parties()}
            assert not missing, (name, missing)

    await eventually(known, timeout_s=30)


async def sees(client: LedgerClient, party: str, contract_id: str) -> None:
    assert contract_id in {c.contract_id for c in await client.active_contracts(party)}


async def setup_until_dvp(net: Network, parties: DvpParties, prefix: str) -> Dvp:
    """Iou (Bank to Alice), Share (SR to Bob), Alice's proposal, Bob's acceptance: the DvP
    contract, ready for Alice's Swap. Each step on its party's own participant."""
    c = net.clients
    p = parties
    party, text = (lambda x: Value(party=x)), (lambda t: Value(text=t))
    steps: dict[str, str] = {}
    iou_tx = await c["bank"].submit(p.bank, f"{prefix}-iou", create(
        "Iou", issuer=party(p.bank), owner=party(p.alice), amount=Value(numeric="10.0"),
        currency=text("USD")))
    share_tx = await c["sr"].submit(p.sr, f"{prefix}-share", create(
        "Share", registry=party(p.sr), owner=party(p.bob), company=text("ACME"),
        quantity=Value(int64=5)))
    iou, share = created(iou_tx, "Iou"), created(share_tx, "Share")
    await eventually(lambda: sees(c["alice"], p.alice, iou))
    proposal_tx = await c["alice"].submit(p.alice, f"{prefix}-propose", create(
        "DvpProposal", buyer=party(p.alice), seller=party(p.bob), iou=Value(contract_id=iou),
        company=text("ACME"), quantity=Value(int64=5)))
    proposal = created(proposal_tx, "DvpProposal")
    await eventually(lambda: sees(c["bob"], p.bob, proposal))
    await eventually(lambda: sees(c["bob"], p.bob, share))
    accept_tx = await c["bob"].submit(p.bob, f"{prefix}-accept", exercise(
        "DvpProposal", proposal, "Accept", share=Value(contract_id=share)))
    dvp = created(accept_tx, "DvP")
    await eventually(lambda: sees(c["alice"], p.alice, dvp))
    for step, tx in (("iou", iou_tx), ("share", share_tx), ("propose", proposal_tx),
                     ("accept", accept_tx)):
        steps[step] = str(tx.transaction_id)
    return Dvp(parties, iou, share, proposal, dvp, steps)


async def swap(net: Network, dvp: Dvp, command_id: str) -> Any:
    return await net.clients["alice"].submit(dvp.parties.alice, command_id,
                                             exercise("DvP", dvp.dvp, "Swap"))
