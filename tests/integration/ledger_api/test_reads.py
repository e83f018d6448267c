"""The read side over gRPC: ACS and transaction streams filtered by party and template, flat
vs tree, verbose labels, ledger end, lookups by id, offsets, live streams."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from tests.integration.ledger_api.harness import (
    HOSTED,
    LEDGER_TIME_US,
    RECORD_TIME_US,
    Harness,
    auth,
    rich_status,
    run_dvp,
)
from tests.unit.lf.engine_helpers import (
    ALICE,
    BANK,
    BOB,
    DVP_SOURCE,
    SR,
    numeric,
    party,
    record,
    ref,
    text,
)

from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    active_contracts_service_pb2 as acs_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    active_contracts_service_pb2_grpc as acs_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    ledger_offset_pb2,
    transaction_filter_pb2,
    value_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    transaction_service_pb2 as tx_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    transaction_service_pb2_grpc as tx_grpc,
)
from minicanton.core.lf.commands import CreateCommand
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.package import package_id_of
from minicanton.core.lf.transaction import CreateNode, NodeId, Transaction
from minicanton.core.lf.value import PartyValue, RecordValue, TextValue
from minicanton.core.protocol.commit_set import commit_set_for
from minicanton.store.participant_store import EventEffects, transaction_entry

DVP = package_id_of(DVP_SOURCE)
BEGIN = ledger_offset_pb2.LedgerOffset(boundary=ledger_offset_pb2.LedgerOffset.LEDGER_BEGIN)
END = ledger_offset_pb2.LedgerOffset(boundary=ledger_offset_pb2.LedgerOffset.LEDGER_END)


def template(entity: str, package_id: str = DVP) -> value_pb2.Identifier:
    return value_pb2.Identifier(package_id=package_id, module_name="dvp", entity_name=entity)


def tx_filter(**by_party: list[str] | None) -> transaction_filter_pb2.TransactionFilter:
    names = {"alice": ALICE, "bob": BOB, "bank": BANK, "sr": SR}
    out = transaction_filter_pb2.TransactionFilter()
    for name, entities in by_party.items():
        filters = out.filters_by_party[names[name]]
        for entity in entities or ():
            filters.inclusive.template_filters.add(template_id=template(entity))
    return out


async def acs(h: Harness, token: str, flt: transaction_filter_pb2.TransactionFilter,
              verbose: bool = True) -> list[acs_pb2.GetActiveContractsResponse]:
    stub = acs_grpc.ActiveContractsServiceStub(h.channel)
    request = acs_pb2.GetActiveContractsRequest(filter=flt, verbose=verbose)
    return [r async for r in stub.GetActiveContracts(request, metadata=auth(token))]


async def stream(h: Harness, token: str, flt: transaction_filter_pb2.TransactionFilter, *,
                 trees: bool = False, begin: ledger_offset_pb2.LedgerOffset = BEGIN,
                 end: ledger_offset_pb2.LedgerOffset | None = END, verbose: bool = True
                 ) -> list:  # type: ignore[type-arg]
    stub = tx_grpc.TransactionServiceStub(h.channel)
    request = tx_pb2.GetTransactionsRequest(begin=begin, filter=flt, verbose=verbose)
    if end is not None:
        request.end.CopyFrom(end)
    call = (stub.GetTransactionTrees if trees else stub.GetTransactions)(
        request, metadata=auth(token))
    return [t async for response in call for t in response.transactions]


def entities(events: list) -> list[str]:  # type: ignore[type-arg]
    return [e.template_id.entity_name for e in events]


async def test_acs_by_party_and_template_with_one_snapshot_offset(api: Harness) -> None:
    ledger = await run_dvp(api, through_swap=False)
    token = api.token(read_as=[ALICE, BOB, BANK])
    alice = await acs(api, token, tx_filter(alice=None))
    contracts = [c for r in alice for c in r.active_contracts]
    assert entities(contracts) == ["Iou", "DvpProposal"]
    assert [r.offset for r in alice][-1] == ledger.offsets[-1]
    assert all(not r.offset for r in alice[:-1])
    iou = contracts[0]
    assert iou.event_id == "#tx-1:0" and iou.contract_id == ledger.iou
    assert iou.witness_parties == [ALICE] and iou.signatories == [BANK]
    assert iou.observers == [ALICE]
    assert iou.created_at.seconds == LEDGER_TIME_US // 1_000_000

    only_ious = await acs(api, token, tx_filter(alice=["Iou"]))
    assert entities([c for r in only_ious for c in r.active_contracts]) == ["Iou"]
    mixed = [c for r in await acs(api, token, tx_filter(alice=["Iou"], bob=None))
             for c in r.active_contracts]
    assert [(c.template_id.entity_name, list(c.witness_parties)) for c in mixed] == [
        ("Iou", [ALICE]), ("Share", [BOB]), ("DvpProposal", [BOB])]
    nothing = await acs(api, token, tx_filter(bank=["Share"]))
    assert [len(r.active_contracts) for r in nothing] == [0]


async def test_verbose_labels_and_non_verbose_omits_them(api: Harness) -> None:
    await run_dvp(api, through_swap=False)
    token = api.token(read_as=[ALICE])
    (verbose,) = [c for r in await acs(api, token, tx_filter(alice=["Iou"]))
                  for c in r.active_contracts]
    arguments = verbose.create_arguments
    assert arguments.record_id.entity_name == "Iou"
    assert [f.label for f in arguments.fields] == ["issuer", "owner", "amount", "currency"]
    assert arguments.fields[2].value.numeric == "100.0000000000"
    (terse,) = [c for r in await acs(api, token, tx_filter(alice=["Iou"]), verbose=False)
                for c in r.active_contracts]
    assert not terse.create_arguments.HasField("record_id")
    assert [f.label for f in terse.create_arguments.fields] == ["", "", "", ""]
    assert [f.value for f in terse.create_arguments.fields] == [
        f.value for f in arguments.fields]


async def test_unlabelled_stored_values_are_labelled_from_the_package_types(
    api: Harness,
) -> None:
    """A value stored without labels (e.g. from a positional client record) is labelled from
    the registry's type info when verbose, and left as it is when the type is unknown."""
    iou = Identifier(DVP, "dvp", "Iou")
    argument = RecordValue(None, (("", PartyValue(BANK)), ("", PartyValue(ALICE)),
                                  ("", numeric("5")), ("", TextValue("EUR"))))
    node = CreateNode("c-positional", iou, argument, frozenset({BANK}), frozenset({ALICE}))
    commit = commit_set_for(Transaction((node,), (NodeId(0),)), HOSTED, {}, LEDGER_TIME_US)
    entry = transaction_entry(commit, transaction_id="tx-manual", ledger_time_us=LEDGER_TIME_US,
                              record_time_us=RECORD_TIME_US)
    await api.writer._apply(EventEffects(api.writer._position(), transactions=(entry,)))
    token = api.token(read_as=[ALICE])
    (labelled,) = [c for r in await acs(api, token, tx_filter(alice=None))
                   for c in r.active_contracts]
    assert [f.label for f in labelled.create_arguments.fields] == [
        "issuer", "owner", "amount", "currency"]
    api.registry.registry = None
    (unknown,) = [c for r in await acs(api, token, tx_filter(alice=None))
                  for c in r.active_contracts]
    assert [f.label for f in unknown.create_arguments.fields] == ["", "", "", ""]


async def test_flat_stream_is_the_stakeholder_view(api: Harness) -> None:
    ledger = await run_dvp(api)
    token = api.token(read_as=[ALICE, BANK])
    alice = await stream(api, token, tx_filter(alice=None))
    assert [t.transaction_id for t in alice] == ["tx-1", "tx-3", "tx-4", "tx-5"]
    assert [t.offset for t in alice] == [ledger.offsets[i] for i in (0, 2, 3, 4)]
    accept, swap = alice[2], alice[3]
    assert [e.WhichOneof("event") for e in accept.events] == ["archived", "created"]
    assert accept.events[0].archived.contract_id == ledger.proposal
    assert accept.command_id == ""  # Bob submitted it: the command id is his
    kinds = [(e.WhichOneof("event"), e.archived.contract_id or e.created.contract_id)
             for e in swap.events]
    assert kinds == [("archived", ledger.dvp), ("archived", ledger.iou),
                     ("created", ledger.new_share)]  # the new Iou is Bob's and the Bank's
    assert swap.command_id == "swap" and swap.workflow_id == "dvp-1"
    ious = await stream(api, token, tx_filter(alice=["Iou"], bank=["Iou"]))
    assert [t.transaction_id for t in ious] == ["tx-1", "tx-5"]
    assert [(e.WhichOneof("event"), list(e.created.witness_parties or e.archived.witness_parties))
            for e in ious[1].events] == [("archived", [ALICE, BANK]), ("created", [BANK])]


async def test_tree_stream_shows_exercises_and_their_consequences(api: Harness) -> None:
    ledger = await run_dvp(api)
    token = api.token(read_as=[ALICE, BANK])
    (swap,) = await stream(api, token, tx_filter(alice=None),
                           trees=True, begin=ledger_offset_pb2.LedgerOffset(
                               absolute=ledger.offsets[3]))
    (root_id,) = swap.root_event_ids
    root = swap.events_by_id[root_id].exercised
    assert root.choice == "Swap" and root.consuming and root.acting_parties == [ALICE]
    transfers = [swap.events_by_id[c].exercised for c in root.child_event_ids]
    assert [(t.template_id.entity_name, t.choice) for t in transfers] == [
        ("Iou", "Transfer"), ("Share", "Transfer")]
    assert root.exercise_result.record.record_id.entity_name == "SwapResult"
    created = [swap.events_by_id[c].created for t in transfers for c in t.child_event_ids]
    assert [c.contract_id for c in created] == [ledger.new_iou, ledger.new_share]
    assert [f.label for f in transfers[0].choice_argument.record.fields] == ["recipient"]

    (bank_view,) = await stream(api, api.token(read_as=[BANK]), tx_filter(bank=None),
                                trees=True, begin=ledger_offset_pb2.LedgerOffset(
                                    absolute=ledger.offsets[3]))
    (bank_root,) = bank_view.root_event_ids  # the Iou transfer, not the Swap
    assert bank_view.events_by_id[bank_root].exercised.template_id.entity_name == "Iou"
    assert len(bank_view.events_by_id) == 2


async def test_trees_refuse_template_filters_and_bad_offsets_are_refused(api: Harness) -> None:
    ledger = await run_dvp(api, through_swap=False)
    token = api.token(read_as=[ALICE])
    with pytest.raises(grpc.aio.AioRpcError) as trees:
        await stream(api, token, tx_filter(alice=["Iou"]), trees=True)
    assert trees.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    beyond = ledger_offset_pb2.LedgerOffset(absolute=f"{int(ledger.offsets[-1], 16) + 1:016x}")
    with pytest.raises(grpc.aio.AioRpcError) as after_end:
        await stream(api, token, tx_filter(alice=None), begin=beyond)
    assert after_end.value.code() == grpc.StatusCode.OUT_OF_RANGE
    assert rich_status(after_end.value)[1].reason == "OFFSET_AFTER_LEDGER_END"
    with pytest.raises(grpc.aio.AioRpcError) as malformed:
        await stream(api, token, tx_filter(alice=None),
                     begin=ledger_offset_pb2.LedgerOffset(absolute="not-an-offset"))
    assert malformed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_status(malformed.value)[1].metadata["field_name"] == "begin"
    window = await stream(api, token, tx_filter(alice=None),
                          begin=ledger_offset_pb2.LedgerOffset(absolute=ledger.offsets[0]),
                          end=ledger_offset_pb2.LedgerOffset(absolute=ledger.offsets[2]))
    assert [t.transaction_id for t in window] == ["tx-3"]


async def test_ledger_end_and_lookups_by_id(api: Harness) -> None:
    ledger = await run_dvp(api)
    stub = tx_grpc.TransactionServiceStub(api.channel)
    token = api.token(read_as=[ALICE, SR])
    end = await stub.GetLedgerEnd(tx_pb2.GetLedgerEndRequest(), metadata=auth(token))
    assert end.offset.absolute == ledger.offsets[-1]
    tree = await stub.GetTransactionById(tx_pb2.GetTransactionByIdRequest(
        transaction_id="tx-5", requesting_parties=[ALICE]), metadata=auth(token))
    assert tree.transaction.offset == ledger.offsets[-1] and len(tree.transaction.events_by_id) == 5
    flat = await stub.GetFlatTransactionById(tx_pb2.GetTransactionByIdRequest(
        transaction_id="tx-5", requesting_parties=[ALICE]), metadata=auth(token))
    assert len(flat.transaction.events) == 3
    for method in (stub.GetTransactionById, stub.GetFlatTransactionById):
        with pytest.raises(grpc.aio.AioRpcError) as hidden:  # SR never saw the Iou's issue
            await method(tx_pb2.GetTransactionByIdRequest(
                transaction_id="tx-1", requesting_parties=[SR]), metadata=auth(token))
        assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
        assert rich_status(hidden.value)[1].reason == "TRANSACTION_NOT_FOUND"


async def test_open_stream_follows_new_transactions_live(api: Harness) -> None:
    await run_dvp(api, through_swap=False)
    stub = tx_grpc.TransactionServiceStub(api.channel)
    request = tx_pb2.GetTransactionsRequest(begin=END, filter=tx_filter(alice=None))
    call = stub.GetTransactions(request, metadata=auth(api.token(read_as=[ALICE])))
    received = asyncio.ensure_future(call.read())
    await asyncio.sleep(0.2)
    assert not received.done()
    api.backend.poll_interval_s = 30.0  # only the commit path's signal can wake the stream
    await api.writer.commit([CreateCommand(ref("dvp:Iou"), record(
        issuer=party(BANK), owner=party(ALICE), amount=numeric("7"), currency=text("CHF")))],
        [BANK])
    response = await asyncio.wait_for(received, 5)
    assert [t.transaction_id for t in response.transactions] == ["tx-4"]
    call.cancel()
