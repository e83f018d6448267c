"""Two participants on a domain of real processes: parties, packages, an Iou seen by both,
and a restart in the middle of a load that loses and duplicates nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest
import pytest_asyncio
from grpc_health.v1 import health_pb2
from tests.system.participant.harness import (
    Domain,
    LedgerClient,
    create,
    created,
    eventually,
    exercise,
)

from minicanton.codec.gen.com.daml.ledger.api.v1.value_pb2 import Value
from minicanton.runtime.embedded_postgres import EmbeddedPostgres

pytestmark = pytest.mark.system
ERRORS: dict[str, str] = {}
DVP = (Path(__file__).parents[3] / "examples" / "dvp.py").read_bytes()


@dataclass
class Network:
    domain: Domain
    bank: LedgerClient
    alice: LedgerClient
    bank_party: str
    alice_party: str


@pytest_asyncio.fixture(scope="module")
async def network(postgres_cluster: EmbeddedPostgres,
                  tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Network]:
    domain = Domain(postgres_cluster, Path(tmp_path_factory.mktemp("domain")))
    clients: list[LedgerClient] = []
    try:
        await domain.start()
        for name in ("bank", "alice"):
            clients.append(LedgerClient(await domain.add_participant(name)))
        bank, alice = clients
        for client in clients:
            await client.upload(DVP)
        yield Network(domain, bank, alice, await bank.allocate("Bank"),
                      await alice.allocate("Alice"))
    finally:
        for client in clients:
            await client.close()
        await domain.stop()


async def test_parties_are_hosted_where_they_were_allocated(network: Network) -> None:
    assert network.bank_party.startswith("Bank::1220")
    assert network.alice_party.startswith("Alice::1220")
    assert network.bank_party.split("::")[1] != network.alice_party.split("::")[1]


async def test_an_iou_created_on_one_participant_is_seen_on_both(network: Network) -> None:
    bank, alice = network.bank_party, network.alice_party
    transaction_id = await network.bank.create_iou(bank, alice, "100.0", "iou-1")
    assert transaction_id

    async def seen_by_both() -> None:
        for client, party in ((network.bank, bank), (network.alice, alice)):
            contracts = await client.active_contracts(party)
            ious = [c for c in contracts if c.template_id.entity_name == "Iou"]
            assert len(ious) == 1, (party, contracts)
            fields = {f.label: f.value for f in ious[0].create_arguments.fields}
            assert fields["issuer"].party == bank and fields["owner"].party == alice
            transactions = await client.transactions_of(party)
            assert [t.transaction_id for t in transactions] == [transaction_id]

    await eventually(seen_by_both)


async def _load(client: LedgerClient, issuer: str, owner: str, prefix: str, count: int,
                concurrency: int = 4) -> dict[str, str | None]:
    """Create `count` Ious; command id -> transaction id, or None when the call failed."""
    outcomes: dict[str, str | None] = {}
    errors = ERRORS
    queue = [f"{prefix}-{i}" for i in range(count)]

    async def worker() -> None:
        while queue:
            command_id = queue.pop(0)
            try:
                outcomes[command_id] = await client.create_iou(issuer, owner, "1.0", command_id)
            except grpc.aio.AioRpcError as error:
                outcomes[command_id] = None
                errors[command_id] = f"{error.code().name}: {error.details()}"

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return outcomes


async def _ledger(client: LedgerClient, party: str) -> list[str]:
    transactions = await client.transactions_of(party)
    offsets = [t.offset for t in transactions]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
    return [t.transaction_id for t in transactions]


async def _restart_during_load(network: Network, victim: str, prefix: str) -> None:
    node = network.domain.participants[victim]
    bank, alice = network.bank_party, network.alice_party
    before = set(await _ledger(network.bank, bank))
    loading = asyncio.ensure_future(_load(network.bank, bank, alice, prefix, 24))
    await eventually(lambda: _grown(network.bank, bank, len(before) + 4), timeout_s=60)
    node.kill()  # kill -9: no chance to finish anything
    await asyncio.sleep(0.5)
    node.spawn()
    await node.wait_ready()
    outcomes = await loading
    for command_id, transaction_id in list(outcomes.items()):
        if transaction_id is None:  # lost with the killed process: retrying is safe
            try:
                outcomes[command_id] = await network.bank.create_iou(bank, alice, "1.0",
                                                                     command_id)
            except grpc.aio.AioRpcError as error:
                ERRORS[command_id + " retry"] = f"{error.code().name}: {error.details()}"

    async def consistent() -> None:
        on_bank = await _ledger(network.bank, bank)
        on_alice = await _ledger(network.alice, alice)
        assert len(set(on_bank)) == len(on_bank), "a transaction twice on bank's ledger"
        assert len(set(on_alice)) == len(on_alice), "a transaction twice on alice's ledger"
        assert set(on_bank) == set(on_alice)
        new = set(on_bank) - before
        accepted = {t for t in outcomes.values() if t is not None}
        assert accepted <= new, "an accepted command is missing from the ledger"
        assert len(new) == len(outcomes), (len(new), len(outcomes), ERRORS)

    await eventually(consistent, timeout_s=60)


async def _grown(client: LedgerClient, party: str, size: int) -> None:
    assert len(await _ledger(client, party)) >= size


async def test_restarting_the_observing_participant_mid_load_loses_and_duplicates_nothing(
        network: Network) -> None:
    await _restart_during_load(network, "alice", "observer-restart")


async def test_restarting_the_submitting_participant_mid_load_loses_and_duplicates_nothing(
        network: Network) -> None:
    await _restart_during_load(network, "bank", "submitter-restart")


async def test_health_answers_and_sigterm_stops_gracefully(network: Network) -> None:
    node = network.domain.participants["alice"]
    health_port = node.ready["health_port"]
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"http://127.0.0.1:{health_port}/livez")).status_code == 200
        assert (await http.get(f"http://127.0.0.1:{health_port}/readyz")).status_code == 200
    check = network.alice.channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString)
    answer = await check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    assert node.terminate() == 0
    assert "participant stopping" in node.log_path.read_text()
    node.spawn()  # same database and key file: the same participant again
    ready = await node.wait_ready()
    assert ready["participant_id"].startswith("PAR::alice::1220")
    assert network.alice_party in {p.party for p in await network.alice.known_parties()}


async def test_a_request_the_sequencers_never_order_completes_as_not_sequenced(
        network: Network) -> None:
    sequencers = network.domain.sequencers
    assert sequencers is not None
    for process in sequencers.processes:
        process.kill()
    bank, alice = network.bank_party, network.alice_party
    waiting = asyncio.ensure_future(network.bank.create_iou(bank, alice, "5.0", "unordered"))
    await asyncio.sleep(6)  # past the participant's max sequencing time (5 s)
    for index in range(len(sequencers.processes)):
        await sequencers.restart(index)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await waiting
    assert refused.value.code() == grpc.StatusCode.ABORTED
    assert "NOT_SEQUENCED_TIMEOUT" in (refused.value.details() or "")
    # the domain recovers: the same command may now be submitted again and commits
    assert await network.bank.create_iou(bank, alice, "5.0", "unordered")


async def test_a_request_the_sequencers_refuse_completes_at_once_with_their_error(
        network: Network) -> None:
    """Shells review #6: a request within the domain's maximum size (10 MiB) but over the
    sequencers' own (1 MiB) fails at once with SEQUENCER_REQUEST_TOO_LARGE, not as
    NOT_SEQUENCED_TIMEOUT at its max sequencing time (5 s here)."""
    bank, alice = network.bank_party, network.alice_party
    large = create("Iou", issuer=Value(party=bank), owner=Value(party=alice),
                   amount=Value(numeric="1.0"), currency=Value(text="X" * (3 << 19)))
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await network.bank.submit(bank, "too-large", large)
    assert time.monotonic() - started < 4.0
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "SEQUENCER_REQUEST_TOO_LARGE" in (refused.value.details() or "")
    # completed for good: the command id is free again, and the participant goes on
    assert await network.bank.create_iou(bank, alice, "1.0", "too-large")


async def test_dvp_across_two_participants_with_divulgence(network: Network) -> None:
    """Bank and Bob on one participant, Alice and SR on the other: every step crosses."""
    bob = await network.bank.allocate("Bob")
    sr = await network.alice.allocate("SR")
    bank, alice = network.bank_party, network.alice_party
    party, text = (lambda p: Value(party=p)), (lambda t: Value(text=t))
    iou = created(await network.bank.submit(bank, "dvp-iou", create(
        "Iou", issuer=party(bank), owner=party(alice), amount=Value(numeric="10.0"),
        currency=text("USD"))), "Iou")
    share = created(await network.alice.submit(sr, "dvp-share", create(
        "Share", registry=party(sr), owner=party(bob), company=text("ACME"),
        quantity=Value(int64=5))), "Share")
    proposal = created(await network.alice.submit(alice, "dvp-propose", create(
        "DvpProposal", buyer=party(alice), seller=party(bob), iou=Value(contract_id=iou),
        company=text("ACME"), quantity=Value(int64=5))), "DvpProposal")
    await eventually(lambda: _sees(network.bank, bob, proposal))
    dvp = created(await network.bank.submit(bob, "dvp-accept", exercise(
        "DvpProposal", proposal, "Accept", share=Value(contract_id=share))), "DvP")
    await eventually(lambda: _sees(network.alice, alice, dvp))
    swapped = await network.alice.submit(alice, "dvp-swap", exercise("DvP", dvp, "Swap"))
    new_share = created(swapped, "Share")

    async def settled() -> None:
        owners = {}
        for client, who in ((network.bank, bob), (network.alice, alice)):
            for contract in await client.active_contracts(who):
                fields = {f.label: f.value for f in contract.create_arguments.fields}
                owners[contract.contract_id] = (contract.template_id.entity_name,
                                                fields.get("owner", Value()).party)
        assert owners[new_share] == ("Share", alice)
        assert ("Iou", bob) in owners.values()
        assert iou not in owners and share not in owners and dvp not in owners

    await eventually(settled)


async def _sees(client: LedgerClient, party: str, contract_id: str) -> None:
    assert contract_id in {c.contract_id for c in await client.active_contracts(party)}


async def test_bad_uploads_and_taken_parties_are_clear_errors(network: Network) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as bad_package:
        await network.bank.upload(b"import os\n")
    assert bad_package.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as taken:
        await network.bank.allocate("Bank")
    assert taken.value.code() == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.aio.AioRpcError) as invalid:
        await network.bank.allocate("not a hint")
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
