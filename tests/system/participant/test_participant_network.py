"""Two participants on a domain of real processes: parties, packages, an Iou seen by both,
and a restart in the middle of a load that loses and duplicates nothing."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2
from tests.system.participant.conftest import Network
from tests.system.participant.harness import (
    LedgerClient,
    create,
    created,
    eventually,
    exercise,
)
from tests.system.protocol.ledger import failure_of

from minicanton.codec.gen.com.daml.ledger.api.v1.value_pb2 import Value

pytestmark = pytest.mark.system
# The restart tests kill a participant after KILL_AFTER of LOAD_SIZE calls have completed, so
# LOAD_CONCURRENCY calls are in flight and most of the load is still to come.
LOAD_SIZE, LOAD_CONCURRENCY, KILL_AFTER = 240, 8, 40


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


@dataclass
class Load:
    """A sustained load of Iou creates on bank's participant, call by call: the command ids
    sent, and how each call ended (its transaction id, or None when it failed)."""

    prefix: str
    count: int
    started: set[str] = field(default_factory=set)
    outcomes: dict[str, str | None] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def command_ids(self) -> set[str]:
        return {f"{self.prefix}-{i}" for i in range(self.count)}

    @property
    def in_flight(self) -> set[str]:
        return self.started - self.outcomes.keys()

    async def run(self, network: Network, concurrency: int) -> None:
        queue = sorted(self.command_ids)

        async def worker() -> None:
            while queue:
                command_id = queue.pop()
                self.started.add(command_id)
                try:
                    self.outcomes[command_id] = await network.bank.create_iou(
                        network.bank_party, network.alice_party, "1.0", command_id)
                except grpc.aio.AioRpcError as error:
                    self.outcomes[command_id] = None
                    self.errors[command_id] = f"{error.code().name}: {error.details()}"

        await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _ledger(client: LedgerClient, party: str) -> list[tuple[str, str, str]]:
    """(offset, transaction id, command id) of every transaction `party` sees, in order."""
    ledger = [(t.offset, t.transaction_id, t.command_id)
              for t in await client.transactions_of(party)]
    offsets = [offset for offset, _, _ in ledger]
    assert offsets == sorted(set(offsets)), "offsets out of order or given twice"
    return ledger


async def _retry(network: Network, command_id: str) -> str:
    """Submit a failed command again under its command id until the participant settles it:
    "committed" now, or "duplicate" when the first submission had committed after all."""
    deadline = time.monotonic() + 30
    while True:
        try:
            await network.bank.create_iou(network.bank_party, network.alice_party, "1.0",
                                          command_id)
            return "committed"
        except grpc.aio.AioRpcError as error:
            failure = failure_of(error)
            if failure.error_id == "DUPLICATE_COMMAND":
                return "duplicate"
            # the restarted participant still tracks the first submission until its verdict
            if failure.error_id != "SUBMISSION_ALREADY_IN_FLIGHT" or time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.2)


async def _kill_mid_load(network: Network, victim: str, prefix: str) -> tuple[Load, set[str]]:
    """SIGKILL `victim` once KILL_AFTER calls of a LOAD_SIZE load have completed, with calls
    provably still in flight, and restart it while the load goes on. The load, once both
    ledgers agree, and the ids of its calls that failed (retried by then)."""
    node = network.domain.participants[victim]
    client = network.bank if victim == "bank" else network.alice
    party = network.bank_party if victim == "bank" else network.alice_party
    load = Load(prefix, LOAD_SIZE)
    loading = asyncio.ensure_future(load.run(network, LOAD_CONCURRENCY))
    deadline = time.monotonic() + 60
    while len(load.outcomes) < KILL_AFTER and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    before_kill = await _ledger(client, party)
    in_flight = load.in_flight
    node.kill()  # kill -9: no chance to finish anything
    assert in_flight and not loading.done(), "the kill did not land in the middle of the load"
    completed_at_kill = len(load.outcomes)
    node.spawn()
    await node.wait_ready()
    if victim == "alice":  # bank went on committing while alice was away
        assert len(load.outcomes) > completed_at_kill, "no command completed while alice was down"
    await loading
    return load, await _consistent_after_restart(network, load, before_kill, client, party)


async def _consistent_after_restart(network: Network, load: Load,
                                    before_kill: list[tuple[str, str, str]],
                                    victim: LedgerClient, party: str) -> set[str]:
    """Both ledgers hold each command of the load exactly once, the same transactions, and the
    victim's ledger as it was before the kill, continued at later offsets. The retried ids."""
    failed = {c for c, transaction in load.outcomes.items() if transaction is None}
    retries = {c: await _retry(network, c) for c in sorted(failed)}

    async def consistent() -> None:
        on_bank = await _ledger(network.bank, network.bank_party)
        on_alice = await _ledger(network.alice, network.alice_party)
        ours = Counter(c for _, _, c in on_bank if c.startswith(f"{load.prefix}-"))
        assert set(ours) == load.command_ids, load.command_ids - set(ours)
        assert set(ours.values()) == {1}, [c for c, n in ours.items() if n > 1]
        assert {t for _, t, _ in on_bank} == {t for _, t, _ in on_alice}
        assert len(on_bank) == len({t for _, t, _ in on_bank}), "a transaction twice on bank"
        assert len(on_alice) == len({t for _, t, _ in on_alice}), "a transaction twice on alice"
        accepted = {t for t in load.outcomes.values() if t is not None}
        assert accepted <= {t for _, t, c in on_bank if c in ours}
        after = await _ledger(victim, party)
        assert after[:len(before_kill)] == before_kill, "the restart rewrote the ledger"

    await eventually(consistent, timeout_s=60)
    assert set(retries.values()) <= {"committed", "duplicate"}, (retries, load.errors)
    return failed


async def test_restarting_the_observing_participant_mid_load_loses_and_duplicates_nothing(
        network: Network) -> None:
    """Signatory confirmation: bank's calls go on while alice is down, and none fails; alice
    catches up on what was sequenced in her absence."""
    load, failed = await _kill_mid_load(network, "alice", "observer-restart")
    assert not failed, load.errors


async def test_restarting_the_submitting_participant_mid_load_loses_and_duplicates_nothing(
        network: Network) -> None:
    """The calls in flight die with bank's process; resubmitted under the same command id after
    the restart, each commits once: DUPLICATE_COMMAND when the first one had committed."""
    load, failed = await _kill_mid_load(network, "bank", "submitter-restart")
    assert failed, "no call was in flight when bank died"
    assert all(load.errors[c].startswith("UNAVAILABLE") for c in failed), load.errors


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
