"""Two JSON API instances sharing one query store, in front of the participant's real Ledger
API server, under concurrent queries and writes: results are right, no contract comes back
twice, no archive is lost, and dropping the store's tables mid-run only costs a rebuild."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest
from tests.integration.json_api.harness import config, running
from tests.integration.json_api.on_ledger import auth
from tests.integration.ledger_api.harness import LEDGER_ID, PARTICIPANT_ID, SECRET, ledger_api
from tests.unit.lf.engine_helpers import ALICE, BANK

IOU = {"issuer": BANK, "owner": ALICE, "currency": "USD"}
QUERY = {"templateIds": ["dvp:Iou"]}


@dataclass
class Book:
    """What the writers know to be true, as their HTTP calls returned."""

    active: set[str] = field(default_factory=set)
    archiving: set[str] = field(default_factory=set)  # sent (perhaps not yet answered)
    archived: set[str] = field(default_factory=set)  # answered
    queries: int = 0
    queries_at_drop: int | None = None
    half_written: asyncio.Event = field(default_factory=asyncio.Event)


async def _post(http: httpx.AsyncClient, path: str, body: object, party: str) -> dict:
    response = await http.post(path, json=body, headers=auth(party))
    assert response.status_code == 200, response.text
    return response.json()["result"]


async def _writer(clients: list[httpx.AsyncClient], book: Book, rng: random.Random,
                  writes: int) -> None:
    """Writes through both instances in turn. (One at a time: the test commit path of this
    harness is sequential; the system test drives the real participant concurrently.)"""
    mine: set[str] = set()
    for n in range(writes):
        if n == writes // 3:
            book.half_written.set()
        http = clients[n % len(clients)]
        if mine & book.active and rng.random() < 0.4:
            victim = rng.choice(sorted(mine & book.active))
            book.archiving.add(victim)
            await _post(http, "/v1/exercise", {"templateId": "dvp:Iou", "contractId": victim,
                                               "choice": "Archive", "argument": {}}, BANK)
            book.active.discard(victim)
            book.archived.add(victim)
        else:
            created = await _post(http, "/v1/create", {"templateId": "dvp:Iou", "payload": {
                **IOU, "amount": str(n + 1)}}, BANK)
            book.active.add(created["contractId"])
            mine.add(created["contractId"])


async def _reader(http: httpx.AsyncClient, book: Book, party: str, stop: asyncio.Event) -> None:
    while not stop.is_set():
        archived_before = set(book.archived)
        active_before = set(book.active)
        found = [c["contractId"] for c in await _post(http, "/v1/query", QUERY, party)]
        assert len(found) == len(set(found)), "a contract returned twice"
        assert not set(found) & archived_before, "an archived contract returned (lost archive)"
        assert active_before - book.archiving <= set(found), "a created contract missing"
        book.queries += 1


async def _drop_tables(dsn: str, book: Book) -> None:
    await book.half_written.wait()
    connection = await asyncpg.connect(dsn)
    try:
        for _ in range(20):  # the store's own transactions may deadlock with the drop
            try:
                await connection.execute(
                    "DROP TABLE contract, contract_party, ledger_offset CASCADE")
                book.queries_at_drop = book.queries
                return
            except asyncpg.DeadlockDetectedError:
                await asyncio.sleep(0.05)
        raise AssertionError("could not drop the store's tables")
    finally:
        await connection.close()


@pytest.fixture
async def two_instances(postgres_cluster, fresh_database
                        ) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, str]]:
    store_dsn = postgres_cluster.create_database(f"{fresh_database.rsplit('/', 1)[1]}_shared")
    async with ledger_api(fresh_database, poll_interval_s=0.2) as harness:
        settings = config(f"127.0.0.1:{harness.server.port}", participant_id=PARTICIPANT_ID,
                          store_dsn=store_dsn, auth={"hs256_secret": SECRET},
                          ledger_id=LEDGER_ID)
        async with running(settings) as first, running(settings) as second, \
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{first.port}", timeout=60) as one, \
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{second.port}", timeout=60) as two:
            yield one, two, store_dsn


async def test_two_instances_share_one_store_under_concurrent_writes(two_instances) -> None:
    one, two, store_dsn = two_instances
    book, stop = Book(), asyncio.Event()
    readers = [asyncio.ensure_future(_reader(http, book, party, stop))
               for http, party in ((one, ALICE), (two, ALICE), (one, BANK), (two, BANK))]
    dropping = asyncio.ensure_future(_drop_tables(store_dsn, book))
    try:
        await asyncio.gather(_writer([one, two], book, random.Random(1), 80), dropping)
        assert book.queries_at_drop is not None
        for _ in range(300):  # the readers go on a little if the writes ended first
            if book.queries >= book.queries_at_drop + 8:
                break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.gather(*readers)
    assert book.queries >= book.queries_at_drop + 8
    for http in (one, two):
        for party in (ALICE, BANK):
            found = [c["contractId"] for c in await _post(http, "/v1/query", QUERY, party)]
            assert sorted(found) == sorted(book.active)
