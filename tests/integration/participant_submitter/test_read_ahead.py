"""The submitter reads ahead what interpretation will ask for (shells review #15): the DvP
swap, which exercises the DvP and with it the Iou and the Share it names, is interpreted
once against a real store instead of once per contract; a contract the submitters may not
see is still absent, as when read on demand."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from tests.sim.dvp_flow import DvpContracts, exercise, setup_until_dvp
from tests.sim.harness import SimNetwork

from minicanton.core.lf.transaction import ContractInstance
from minicanton.core.lf.value import ContractIdValue, ListValue, RecordValue, referenced_contracts
from minicanton.core.protocol.commit_set import global_key_hash
from minicanton.core.protocol.participant_effects import SendBatch
from minicanton.participant.ledger_api.backend import SubmissionRequest
from minicanton.participant.submitter import Submitter
from minicanton.store.participant_store import (
    CleanPosition,
    DivulgedContract,
    EventEffects,
    StoredContract,
    TransactionEntry,
    stored_contract,
)
from minicanton.store.postgres.participant_store import PostgresParticipantStore


def _stored(instance: ContractInstance) -> StoredContract:
    key = None if instance.key is None else global_key_hash(instance.template_id,
                                                           instance.key.key)
    return stored_contract(instance, key)


@pytest.fixture
async def alice_store(fresh_database: str
                      ) -> AsyncIterator[tuple[SimNetwork, DvpContracts, PostgresParticipantStore]]:
    """A simulated domain up to the DvP, and Alice's participant's contracts in PostgreSQL."""
    net = SimNetwork()
    contracts = setup_until_dvp(net)
    sim = net.participants["alice"].store
    store = await PostgresParticipantStore.open(fresh_database)
    entry = TransactionEntry(
        "setup", 0, 0, (), created=tuple(_stored(i) for i in sim.active.values()),
        divulged=tuple(DivulgedContract(_stored(i), parties)
                       for i, parties in sim.divulged.values()))
    await store.apply_event(EventEffects(CleanPosition(1, 1), (entry,)))
    try:
        yield net, contracts, store
    finally:
        await store.close()


async def test_the_dvp_swap_is_interpreted_once(
    alice_store: tuple[SimNetwork, DvpContracts, PostgresParticipantStore],
) -> None:
    net, contracts, store = alice_store
    node = net.participants["alice"]
    sent: list[SendBatch] = []
    submitter = Submitter(node.machine, store, lambda: net.domain.snapshot(net.clock_us),
                          sent.append, node.entropy, lambda: net.clock_us, 60_000_000)
    alice = net.domain.party("Alice")
    accepted = await submitter.submit(SubmissionRequest(
        "app", "swap", "s1", "", frozenset({alice}), frozenset(),
        (exercise("dvp:DvP", contracts.dvp, "Swap"),)))
    assert submitter.interpretations == 1  # was 4: once more per contract read on demand
    assert len(sent) == 1 and isinstance(accepted.completion, asyncio.Future)
    assert not accepted.completion.done()
    (row,) = await store.in_flight_submissions()
    assert row.entry.change_id.command_id == "swap"


async def test_a_contract_read_ahead_that_the_submitters_may_not_see_is_absent(
    alice_store: tuple[SimNetwork, DvpContracts, PostgresParticipantStore],
) -> None:
    net, contracts, store = alice_store
    alice, bank = net.domain.party("Alice"), net.domain.party("Bank")
    found = await store.lookup_contracts([contracts.dvp, contracts.iou, "00" + "ab" * 32],
                                         [alice])
    assert set(found) == {contracts.dvp, contracts.iou}
    assert await store.lookup_contracts([contracts.dvp], ["nobody"]) == {}
    for contract_id, row in found.items():
        assert row == await store.lookup_contract(contract_id, [alice])
    assert set(await store.lookup_contracts([contracts.iou], [bank])) == {contracts.iou}


def test_referenced_contracts_are_found_anywhere_in_a_value() -> None:
    nested = RecordValue(None, (("a", ContractIdValue("c1")), ("b", ListValue((
        RecordValue(None, (("c", ContractIdValue("c2")),)),)))))
    assert referenced_contracts(nested) == {"c1", "c2"}
