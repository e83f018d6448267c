"""A created contract's payload is taken from its create node's encoding (`contract_payload`),
and the store's contents stay byte for byte what the previous release wrote.

The effects of every event the participants of a seeded network handled (Iou creates, then a
whole DvP: proposals, an accept, the swap with its archives and divulgence) are written twice:
into one database with the entries `transaction_entry` builds now, into another with the
entries built as the previous release built them (every contract encoded on its own,
`previous_transaction_entry` below); every table of the two must be equal. Besides: each
payload equals `encode_contract` of its contract, and a create node that differs from the
contract in anything the contract encodes is not used.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

import pytest
from tests.integration.participant_store.write_paths import (
    differences,
    table_contents,
    tables_of,
)
from tests.sim import harness
from tests.sim.dvp_flow import iou, setup_until_dvp, swap

from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.transaction import ContractInstance, CreateNode, KeyWithMaintainers
from minicanton.core.lf.value import NumericValue, PartyValue, RecordValue, TextValue
from minicanton.core.protocol.commit_set import (
    CommitSet,
    CreatedContract,
    ProjectedTransaction,
    WitnessedNode,
)
from minicanton.core.protocol.participant_effects import Effect, PersistCommit
from minicanton.participant import effects as participant_effects
from minicanton.runtime.embedded_postgres import EmbeddedPostgres
from minicanton.store.participant_store import (
    CleanPosition,
    CompletionEntry,
    DivulgedContract,
    TransactionEntry,
    _divulged_witnesses,
    contract_payload,
    encode_contract,
    encode_node,
    stored_contract,
    stored_events,
    transaction_entry,
)
from minicanton.store.postgres.participant_store import PostgresParticipantStore

Captured = dict[str, list[tuple[CleanPosition, list[Effect]]]]


def previous_transaction_entry(
    commit_set: CommitSet, *, transaction_id: str, ledger_time_us: int, record_time_us: int,
    command_id: str = "", workflow_id: str = "", application_id: str = "",
    submitters: frozenset[str] = frozenset(), completion: CompletionEntry | None = None,
) -> TransactionEntry:
    """`transaction_entry` as the previous release had it: each contract encoded itself."""
    divulged = tuple(
        DivulgedContract(stored_contract(c, None),
                         _divulged_witnesses(commit_set.projection, c.contract_id))
        for c in commit_set.divulged
    )
    return TransactionEntry(
        transaction_id=transaction_id, ledger_time_us=ledger_time_us,
        record_time_us=record_time_us, events=stored_events(commit_set.projection),
        archived=commit_set.archived,
        created=tuple(stored_contract(c.contract, c.key_hash) for c in commit_set.created),
        divulged=divulged, command_id=command_id, workflow_id=workflow_id,
        application_id=application_id, submitters=submitters, completion=completion,
    )


@pytest.fixture(scope="module")
def captured() -> Captured:
    """Each participant's events of a seeded network: clean position and effects."""
    found: Captured = {}
    step = harness.participant_step
    net = harness.SimNetwork()

    def capturing(machine, store, event, snapshot):  # type: ignore[no-untyped-def]
        effects = step(machine, store, event, snapshot)
        name = next(n for n, node in net.participants.items() if node.store is store)
        found.setdefault(name, []).append(
            (CleanPosition(event.counter, event.timestamp_us), list(effects)))
        return effects

    harness.participant_step = capturing
    try:
        for n in range(6):
            net.submit("bank", iou(net), act_as=["Bank"], command_id=f"iou-{n}")
        net.run()
        contracts = setup_until_dvp(net)
        swap(net, contracts)
        net.run()
    finally:
        harness.participant_step = step
    return found


def commits(captured: Captured) -> Iterator[PersistCommit]:
    for events in captured.values():
        for _, effects in events:
            yield from (e for e in effects if isinstance(e, PersistCommit))


def test_the_flow_creates_archives_and_divulges(captured: Captured) -> None:
    sets = [c.commit_set for c in commits(captured)]
    assert sum(len(s.created) for s in sets) >= 12
    assert any(s.archived for s in sets) and any(s.divulged for s in sets)
    assert {"bank", "alice", "bob", "sr"} <= set(captured)


def test_every_payload_is_the_contract_encoded_on_its_own(captured: Captured) -> None:
    reused = 0
    for commit in commits(captured):
        creates: dict[str, tuple[CreateNode, bytes]] = {}
        events = stored_events(commit.commit_set.projection, creates)
        nodes = [w.node for w in commit.commit_set.projection.nodes]
        assert [e.payload for e in events] == [encode_node(n) for n in nodes]
        contracts = [c.contract for c in commit.commit_set.created]
        for contract in [*contracts, *commit.commit_set.divulged]:
            assert contract_payload(contract, creates) == encode_contract(contract)
            reused += contract.contract_id in creates
    assert reused >= 12  # the node's bytes were used, not only the fallback


IOU = Identifier("pkg", "dvp", "Iou")
KEYED = CreateNode(
    "01" + "ab" * 33, IOU,
    RecordValue(IOU, (("issuer", PartyValue("Bank::1220")), ("amount",
                      NumericValue(Decimal("1.5"))), ("currency", TextValue("USD")))),
    frozenset({"Bank::1220"}), frozenset({"Alice::1220", "Bob::1220"}),
    KeyWithMaintainers(TextValue("k"), frozenset({"Bank::1220"})),
)


def _contract(node: CreateNode, salt: bytes | None = b"s" * 32) -> ContractInstance:
    return ContractInstance(node.contract_id, node.template_id, node.argument,
                            node.signatories, node.observers, node.key, 1_234_567, salt)


@pytest.mark.parametrize("differs", [
    {}, {"argument": RecordValue(IOU, (("issuer", PartyValue("Bank::1220")),))},
    {"template_id": Identifier("pkg", "dvp", "Other")},
    {"signatories": frozenset({"Alice::1220"})}, {"observers": frozenset()},
    {"key": None}, {"key": KeyWithMaintainers(TextValue("other"), frozenset({"Bank::1220"}))},
])
@pytest.mark.parametrize("salt", [b"s" * 32, None])
def test_a_create_node_is_used_only_with_the_same_contents(differs: dict[str, object],
                                                          salt: bytes | None) -> None:
    contract = _contract(KEYED, salt)
    node = replace(KEYED, **differs)  # type: ignore[arg-type]
    creates = {node.contract_id: (node, encode_node(node))}
    assert contract_payload(contract, creates) == encode_contract(contract)
    assert contract_payload(contract, {}) == encode_contract(contract)


def test_an_entry_built_now_equals_the_previous_releases() -> None:
    witnessed = WitnessedNode(0, KEYED, frozenset({"Bank::1220"}), frozenset({"Bank::1220"}))
    commit_set = CommitSet(frozenset({"00old"}), (CreatedContract(_contract(KEYED), None),),
                           (), ProjectedTransaction((0,), (witnessed,)))
    now = transaction_entry(commit_set, transaction_id="t", ledger_time_us=1, record_time_us=2)
    before = previous_transaction_entry(commit_set, transaction_id="t", ledger_time_us=1,
                                        record_time_us=2)
    assert now == before


async def _write_all(dsns: dict[str, str], captured: Captured) -> None:
    for name, dsn in dsns.items():
        store = await PostgresParticipantStore.open(dsn, min_size=1, max_size=1)
        writer = store.event_writer()
        try:
            for position, effects in captured[name]:
                applied, exact = await writer.apply_event(
                    participant_effects.event_effects(position, effects))
                assert exact and not applied.already_applied
        finally:
            await store.close()


async def _contents(dsn: str) -> dict[str, list[tuple[object, ...]]]:
    store = await PostgresParticipantStore.open(dsn, min_size=1, max_size=1)
    try:
        async with store.pool.acquire() as conn:
            return await table_contents(conn, await tables_of(conn))
    finally:
        await store.close()


async def test_both_builds_leave_the_same_rows_in_every_table(
    captured: Captured, postgres_cluster: EmbeddedPostgres, fresh_database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = fresh_database.rsplit("/", 1)[1]
    dsns = {which: {name: postgres_cluster.create_database(f"{base}_{name}_{which}")
                    for name in captured} for which in ("now", "before")}
    await _write_all(dsns["now"], captured)
    monkeypatch.setattr(participant_effects, "transaction_entry", previous_transaction_entry)
    await _write_all(dsns["before"], captured)
    for name in sorted(captured):
        now, before = await _contents(dsns["now"][name]), await _contents(dsns["before"][name])
        assert not differences(now, before), (name, differences(now, before))
        assert len(now["contracts"]) > 1 and len(now["events"]) > 1, name  # rows compared
