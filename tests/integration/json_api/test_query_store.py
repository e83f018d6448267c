"""The query store on a real PostgreSQL: catch-up, compare-and-set, tombstones, two instances
sharing one store under concurrent ledger writes, rebuild after a drop."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.integration.json_api.packages import item_template, items_package
from tests.integration.json_api.query_strategies import NUL_TEXTS, payloads, queries
from tests.integration.json_api.sim_ledger import NOTE, OTHER, SimLedger

from minicanton.core.protocol.offsets import offset_of
from minicanton.json_api.contracts import NO_KEY, ActiveContract, ArchivedContract
from minicanton.json_api.query_language import Query, compile_query, matches
from minicanton.json_api.query_store.catch_up import QueryStoreBusy, catch_up
from minicanton.json_api.query_store.store import (
    OffsetStep,
    PostgresQueryStore,
    StoreUpdate,
    WrongParticipant,
)
from minicanton.runtime.retry import Backoff

FAST = Backoff(initial_ms=1, max_ms=20)
EVERYTHING = Query(NOTE, ())


async def open_store(dsn: str, participant: str = "p1::1220") -> PostgresQueryStore:
    return await PostgresQueryStore.open(dsn, participant, pool_size=4)


async def visible(store: PostgresQueryStore, ledger: SimLedger, parties: set[str]) -> set[str]:
    await catch_up(store, ledger.reader(), parties, [NOTE], backoff=FAST)
    return {c.contract_id for c in await store.query(parties, [EVERYTHING])}


async def test_catch_up_fills_the_store_and_follows_creates_and_archives(fresh_database) -> None:
    store = await open_store(fresh_database)
    ledger = SimLedger()
    first = ledger.create("alice", "bob")
    ledger.create("bob")
    try:
        assert await visible(store, ledger, {"alice"}) == {first}
        second = ledger.create("carol", "alice")
        ledger.archive(first)
        assert await visible(store, ledger, {"alice"}) == {second}
        assert await visible(store, ledger, {"bob"}) == ledger.visible(
            frozenset({"bob"}), frozenset({NOTE}))
        offsets = await store.offsets({"alice", "bob"}, [NOTE])
        assert set(offsets.values()) == {ledger.end}
    finally:
        await store.close()


async def test_an_up_to_date_store_reads_nothing_from_the_ledger(fresh_database) -> None:
    store = await open_store(fresh_database)
    ledger = SimLedger()
    ledger.create("alice")
    try:
        await visible(store, ledger, {"alice"})
        reads = ledger.reads
        await visible(store, ledger, {"alice"})
        assert ledger.reads == reads + 1  # only the ledger end
    finally:
        await store.close()


async def test_a_stale_step_is_refused_and_writes_nothing(fresh_database) -> None:
    store = await open_store(fresh_database)
    contract = ActiveContract("c1", NOTE, {"owner": "alice", "n": "1"}, NO_KEY, ("alice",), ())
    try:
        assert await store.apply(StoreUpdate((OffsetStep("alice", NOTE, None, offset_of(1)),)))
        stale = StoreUpdate((OffsetStep("alice", NOTE, None, offset_of(2)),), (contract,))
        assert not await store.apply(stale)
        wrong = StoreUpdate((OffsetStep("alice", NOTE, offset_of(5), offset_of(6)),), (contract,))
        assert not await store.apply(wrong)
        assert await store.query({"alice"}, [EVERYTHING]) == []
        good = StoreUpdate((OffsetStep("alice", NOTE, offset_of(1), offset_of(2)),), (contract,))
        assert await store.apply(good)
        assert await store.query({"alice"}, [EVERYTHING]) == [contract]
    finally:
        await store.close()


async def test_a_slow_replay_of_a_create_never_resurrects_an_archived_contract(
        fresh_database) -> None:
    # Q's instance read the ledger up to the create (offset 1) and is slow to write; P's
    # instance meanwhile caught up past the archive (offset 2).
    store = await open_store(fresh_database)
    contract = ActiveContract("c1", NOTE, {"owner": "p", "n": "1"}, NO_KEY, ("p",), ("q",))
    try:
        assert await store.apply(StoreUpdate(
            (OffsetStep("p", NOTE, None, offset_of(2)),), (contract,),
            (ArchivedContract("c1", NOTE),)))
        assert await store.apply(StoreUpdate((OffsetStep("q", NOTE, None, offset_of(1)),),
                                             (contract,)))
        assert await store.query({"q"}, [EVERYTHING]) == []
        assert await store.query({"p", "q"}, [EVERYTHING]) == []
    finally:
        await store.close()


async def test_an_archive_seen_before_its_create_leaves_a_tombstone(fresh_database) -> None:
    store = await open_store(fresh_database)
    contract = ActiveContract("c9", NOTE, {"owner": "p", "n": "1"}, NO_KEY, ("p",), ())
    try:
        assert await store.apply(StoreUpdate((OffsetStep("p", NOTE, None, offset_of(3)),),
                                             archives=(ArchivedContract("c9", NOTE),)))
        assert await store.apply(StoreUpdate((OffsetStep("p", OTHER, None, offset_of(1)),),
                                             (contract,)))
        assert await store.query({"p"}, [EVERYTHING]) == []
    finally:
        await store.close()


async def _reader_loop(store: PostgresQueryStore, ledger: SimLedger, rng: random.Random,
                       stop: asyncio.Event, checks: list[int]) -> None:
    parties = ["alice", "bob", "carol", "dave"]
    while not stop.is_set():
        readers = set(rng.sample(parties, rng.randint(1, 2)))
        end_before = ledger.end
        await catch_up(store, ledger.reader(delay_s=rng.choice([0, 0, 0.001])), readers,
                       [NOTE], backoff=FAST, attempts=200)
        found = await store.query(readers, [EVERYTHING])
        ids = [c.contract_id for c in found]
        assert len(ids) == len(set(ids)), "a contract returned twice"
        for contract in found:
            assert contract.stakeholders & readers, "a contract of another party"
            archived = ledger.archived_at.get(contract.contract_id)
            assert archived is None or archived > end_before, (
                "a lost archive", contract, readers, await store.offsets(readers, [NOTE]),
                [u for u in ledger.log if any(e.contract_id == contract.contract_id
                                              for e in u.events)])
        # created by the end read before, still active now: active throughout, so present
        created_before = {c.contract_id for u in ledger.log if u.offset <= end_before
                          for c in u.events if isinstance(c, ActiveContract)}
        must_see = {cid for cid, c in ledger.active.items()
                    if c.stakeholders & readers and cid in created_before}
        assert must_see - set(ids) == set(), "a missing contract"
        checks.append(1)


READ_EVERY_WRITES = 25


async def _writer_loop(ledger: SimLedger, rng: random.Random, writes: int,
                       checks: list[int], readers: Sequence[asyncio.Future[Any]]) -> None:
    """Every `READ_EVERY_WRITES` writes, wait (bounded) for a reader to finish a check, so
    reads overlap writes throughout however fast or slow the machine is (a reader that
    failed ends the wait: its error is raised where the readers are gathered)."""
    parties = ["alice", "bob", "carol", "dave"]
    for n in range(writes):
        if ledger.active and rng.random() < 0.4:
            ledger.archive(rng.choice(sorted(ledger.active)))
        else:
            ledger.create(*rng.sample(parties, rng.randint(1, 3)), n=n)
        await asyncio.sleep(rng.choice([0, 0.001, 0.002]))
        if n % READ_EVERY_WRITES == READ_EVERY_WRITES - 1:
            done = len(checks)
            for _ in range(2000):  # at most ~20 s
                if len(checks) > done or any(r.done() for r in readers):
                    break
                await asyncio.sleep(0.01)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_two_instances_share_one_store_under_concurrent_writes(fresh_database,
                                                                     seed: int) -> None:
    rng = random.Random(seed)
    first, second = await open_store(fresh_database), await open_store(fresh_database)
    ledger, stop, checks = SimLedger(), asyncio.Event(), []
    try:
        readers = [asyncio.ensure_future(_reader_loop(store, ledger, random.Random(seed * 10 + i),
                                                      stop, checks))
                   for i, store in enumerate([first, second, first, second])]
        await _writer_loop(ledger, rng, writes=300, checks=checks, readers=readers)
        stop.set()
        await asyncio.gather(*readers)
        assert len(checks) >= 300 // READ_EVERY_WRITES
        for readers_set in ({"alice"}, {"bob"}, {"carol", "dave"}, {"alice", "dave"}):
            truth = ledger.visible(frozenset(readers_set), frozenset({NOTE}))
            assert await visible(first, ledger, readers_set) == truth
            assert await visible(second, ledger, readers_set) == truth
    finally:
        stop.set()
        await first.close()
        await second.close()
    connection = await asyncpg.connect(fresh_database)
    try:
        leaked = await connection.fetchval(
            "SELECT count(*) FROM contract_party p JOIN contract c USING (contract_id) "
            "WHERE c.archived")
        assert leaked == 0
        rows = await connection.fetch("SELECT contract_id FROM contract WHERE NOT archived")
        assert not {r["contract_id"] for r in rows} & set(ledger.archived_at)
        duplicates = await connection.fetchval(
            "SELECT count(*) FROM (SELECT contract_id FROM contract_party "
            "GROUP BY template_id, party, contract_id HAVING count(*) > 1) d")
        assert duplicates == 0
    finally:
        await connection.close()


async def test_contention_that_never_ends_is_reported(fresh_database) -> None:
    store = await open_store(fresh_database)
    ledger = SimLedger()
    ledger.create("alice")

    class Racing:
        """A reader that lets another writer move the offset before every apply."""

        def __init__(self) -> None:
            self.inner = ledger.reader()

        async def ledger_end(self):
            ledger.create("alice")
            return await self.inner.ledger_end()

        def active_contracts(self, parties, templates):
            return self.inner.active_contracts(parties, templates)

        async def updates(self, parties, templates, begin, end):
            # between our reading the stored offsets and writing, another instance moves them
            ledger.create("alice")
            await catch_up(store, ledger.reader(), {"alice"}, [NOTE], backoff=FAST)
            async for update in self.inner.updates(parties, templates, begin, end):
                yield update

    try:
        await catch_up(store, ledger.reader(), {"alice"}, [NOTE], backoff=FAST)
        with pytest.raises(QueryStoreBusy):
            await catch_up(store, Racing(), {"alice"}, [NOTE], backoff=FAST, attempts=3)
    finally:
        await store.close()


async def test_dropping_the_tables_rebuilds_the_store(fresh_database) -> None:
    store = await open_store(fresh_database)
    ledger = SimLedger()
    kept = ledger.create("alice")
    gone = ledger.create("alice")
    ledger.archive(gone)
    try:
        assert await visible(store, ledger, {"alice"}) == {kept}
        connection = await asyncpg.connect(fresh_database)
        await connection.execute("DROP TABLE contract, contract_party, ledger_offset CASCADE")
        await connection.close()
        assert await visible(store, ledger, {"alice"}) == {kept}
    finally:
        await store.close()


async def test_a_store_belongs_to_one_participant(fresh_database) -> None:
    store = await open_store(fresh_database, "p1::1220")
    await store.close()
    with pytest.raises(WrongParticipant):
        await open_store(fresh_database, "p2::1220")


async def test_queries_filter_in_sql_with_the_query_language(fresh_database) -> None:
    package = items_package()
    template = item_template(package)
    store = await open_store(fresh_database)

    def item(cid: str, count: str, name: str, owner: str = "alice") -> ActiveContract:
        payload = {"owner": owner, "watcher": "bob", "count": count, "price": "1.5",
                   "name": name, "day": "2024-01-01", "at": "2024-01-01T00:00:00Z",
                   "flag": True, "inner": {"label": name, "level": count}, "maybe": None,
                   "maybe_inner": None, "tags": [], "color": "Red",
                   "shape": {"tag": "Square", "value": "1"}}
        return ActiveContract(cid, template, payload, {"owner": owner, "name": name},
                              (owner,), ("bob",))

    contracts = (item("a", "1", "apple"), item("b", "5", "banana"), item("c", "9", "cherry"),
                 item("d", "5", "banana", owner="erin"))
    steps = tuple(OffsetStep(p, template, None, offset_of(1)) for p in ("alice", "bob", "erin"))
    try:
        assert await store.apply(StoreUpdate(steps, contracts))

        async def ids(parties: set[str], query: object) -> set[str]:
            compiled = compile_query(query, template, package.data_types)
            return {c.contract_id for c in await store.query(parties, [compiled])}

        assert await ids({"alice"}, {}) == {"a", "b", "c"}
        assert await ids({"alice"}, {"name": "banana"}) == {"b"}
        assert await ids({"bob"}, {"name": "banana"}) == {"b", "d"}
        assert await ids({"alice"}, {"count": {"%gt": 1, "%lte": 9}}) == {"b", "c"}
        assert await ids({"alice"}, {"inner": {"label": {"%lt": "b"}}}) == {"a"}
        assert await ids({"carol"}, {}) == set()
        found = await store.fetch_by_key({"bob"}, template, {"owner": "erin", "name": "banana"})
        assert found is not None and found.contract_id == "d"
        assert await store.fetch_by_key({"alice"}, template,
                                        {"owner": "erin", "name": "banana"}) is None
        assert (await store.fetch_by_id({"alice"}, [template], "c")).contract_id == "c"
        assert await store.fetch_by_id({"carol"}, [template], "c") is None
    finally:
        await store.close()


# ------------------------------------------------- U+0000, which jsonb cannot hold


def _nul_item(template, cid: str, name: str, owner: str = "alice") -> ActiveContract:
    payload = {"owner": owner, "watcher": "bob", "count": "1", "price": "1.5", "name": name,
               "day": "2024-01-01", "at": "2024-01-01T00:00:00Z", "flag": True,
               "inner": {"label": name, "level": "1"}, "maybe": None, "maybe_inner": None,
               "tags": [name], "color": "Red", "shape": {"tag": "Square", "value": "1"}}
    return ActiveContract(cid, template, payload, {"owner": owner, "name": name},
                          (owner,), ("bob",))


async def test_text_with_nul_is_kept_and_matched(fresh_database) -> None:
    package = items_package()
    template = item_template(package)
    store = await open_store(fresh_database)
    contracts = (_nul_item(template, "a", "x\x00y"), _nul_item(template, "b", "x"),
                 _nul_item(template, "c", "\x00"))
    steps = (OffsetStep("alice", template, None, offset_of(1)),)
    try:
        assert await store.apply(StoreUpdate(steps, contracts))

        async def ids(query: object) -> set[str]:
            compiled = compile_query(query, template, package.data_types)
            return {c.contract_id for c in await store.query({"alice"}, [compiled])}

        assert await ids({}) == {"a", "b", "c"}
        assert await ids({"name": "x\x00y"}) == {"a"}
        assert await ids({"name": "x"}) == {"b"}
        assert await ids({"name": {"%lt": "x\x00z"}}) == {"a", "b", "c"}
        assert await ids({"name": {"%gt": "x"}}) == {"a"}
        assert await ids({"inner": {"level": 1}, "name": {"%lte": "\x00"}}) == {"c"}
        assert await ids({"tags": ["\x00"]}) == {"c"}
        found = await store.fetch_by_key({"alice"}, template, {"owner": "alice", "name": "x\x00y"})
        assert found is not None and found.payload["name"] == "x\x00y"
        assert await store.apply(StoreUpdate(
            (OffsetStep("alice", template, offset_of(1), offset_of(2)),),
            archives=(ArchivedContract("a", template),)))
        assert await ids({"name": "x\x00y"}) == set()
    finally:
        await store.close()


@pytest.fixture(scope="module")
def loop_and_store(postgres_cluster):
    loop = asyncio.new_event_loop()
    dsn = postgres_cluster.create_database("query_store_property")
    store = loop.run_until_complete(open_store(dsn))
    yield loop, store
    loop.run_until_complete(store.close())
    loop.close()


_examples = iter(range(1, 1_000_000))


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(payloads(NUL_TEXTS), min_size=1, max_size=8), query=queries(NUL_TEXTS))
def test_the_store_answers_as_the_python_reading_even_with_nul(loop_and_store, rows,
                                                               query) -> None:
    loop, store = loop_and_store
    package = items_package()
    template = item_template(package)
    party = f"p{next(_examples)}"  # a fresh pair per example: nothing else is in its way
    contracts = tuple(
        ActiveContract(f"{party}-{i}", template, {**row, "owner": party}, NO_KEY, (party,), ())
        for i, row in enumerate(rows))
    compiled = compile_query(query, template, package.data_types)
    expected = {c.contract_id for c in contracts if matches(compiled, c.payload)}

    async def run() -> set[str]:
        assert await store.apply(StoreUpdate((OffsetStep(party, template, None, offset_of(1)),),
                                             contracts))
        return {c.contract_id for c in await store.query({party}, [compiled])}

    assert loop.run_until_complete(run()) == expected, (query, compiled)
