"""The DvP (seed 003) entirely over HTTP: four participants on a domain of real processes,
each with its own JSON API process (`python -m minicanton.json_api`, with a query store),
and the privacy check over HTTP and WebSocket: Bank's JSON API never returns a Share, SR's
never an Iou."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import websockets
from tests.system.participant.harness import SECRET, Domain, NodeProcess, eventually

from minicanton.runtime.auth import mint_dev_token
from minicanton.runtime.embedded_postgres import EmbeddedPostgres

pytestmark = pytest.mark.system
DVP = (Path(__file__).parents[3] / "examples" / "dvp.py").read_bytes()
ORGANISATIONS = ("bank", "sr", "alice", "bob")


def token(*act_as: str, admin: bool = False) -> str:
    return mint_dev_token(SECRET, act_as, admin=admin, application_id="dvp-over-http")


@dataclass
class JsonApi:
    node: NodeProcess
    http: httpx.AsyncClient
    store_dsn: str
    party: str = ""

    @property
    def port(self) -> int:
        return int(self.node.ready["port"])

    async def call(self, path: str, body: object, act_as: str | None = None,
                   admin: bool = False) -> Any:
        headers = {"Authorization": "Bearer " + token(*([act_as] if act_as else []),
                                                      admin=admin)}
        response = await self.http.post(path, json=body, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()["result"]

    async def query(self, template: str, query: object | None = None) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"templateIds": [template]}
        if query is not None:
            body["query"] = query
        result = await self.call("/v1/query", body, self.party)
        assert isinstance(result, list)
        return result


@dataclass
class Network:
    domain: Domain
    postgres: EmbeddedPostgres
    apis: dict[str, JsonApi] = field(default_factory=dict)


async def _start_json_api(domain: Domain, postgres: EmbeddedPostgres, name: str,
                          store_dsn: str | None = None, instance: str = "") -> JsonApi:
    participant = domain.participants[name]
    store_dsn = store_dsn or postgres.create_database(f"{name}_qs_{uuid.uuid4().hex[:8]}")
    node = NodeProcess(f"{name}-json-api{instance}", "minicanton.json_api", domain.workdir, {
        "ledger_api": f"127.0.0.1:{participant.ready['ledger_api_port']}",
        "participant_id": participant.ready["participant_id"],
        "http": {"port": 0}, "auth": {"hs256_secret": SECRET},
        "query_store": {"dsn": store_dsn}, "log_json": False, "websocket_heartbeat_s": 1.0,
    })
    domain.nodes.append(node)  # stopped with the domain
    node.spawn()
    await node.wait_ready()
    http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{node.ready['port']}", timeout=60)
    return JsonApi(node, http, store_dsn)


@pytest_asyncio.fixture(scope="module")
async def network(postgres_cluster: EmbeddedPostgres,
                  tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Network]:
    domain = Domain(postgres_cluster, Path(tmp_path_factory.mktemp("dvp-http")))
    net = Network(domain, postgres=postgres_cluster)
    try:
        await domain.start()
        for name in ORGANISATIONS:
            await domain.add_participant(name)
            net.apis[name] = await _start_json_api(domain, postgres_cluster, name)
        for name, api in net.apis.items():
            upload = await api.http.post("/v1/packages", content=DVP, headers={
                "Authorization": "Bearer " + token(admin=True),
                "Content-Type": "application/octet-stream"})
            assert upload.status_code == 200, upload.text
            allocated = await api.call("/v1/parties/allocate",
                                       {"identifierHint": name.title()}, admin=True)
            api.party = allocated["identifier"]
        yield net
    finally:
        for api in net.apis.values():
            await api.http.aclose()
        await domain.stop()


async def _retrying(call: Any, timeout_s: float = 60.0) -> Any:
    """A first command may race the topology that makes a new party or package usable."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            return await call()
        except AssertionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def test_dvp_entirely_over_http(network: Network) -> None:
    bank, sr, alice, bob = (network.apis[n] for n in ORGANISATIONS)
    iou = await _retrying(lambda: bank.call("/v1/create", {"templateId": "dvp:Iou", "payload": {
        "issuer": bank.party, "owner": alice.party, "amount": "100.0", "currency": "USD"}},
        bank.party))
    share = await _retrying(lambda: sr.call("/v1/create", {"templateId": "dvp:Share",
                                                           "payload": {
        "registry": sr.party, "owner": bob.party, "company": "ACME", "quantity": 10}},
        sr.party))

    async def alice_sees_her_iou() -> None:
        assert [c["contractId"] for c in await alice.query("dvp:Iou")] == [iou["contractId"]]

    await eventually(alice_sees_her_iou, timeout_s=30)
    proposal = await alice.call("/v1/create", {"templateId": "dvp:DvpProposal", "payload": {
        "buyer": alice.party, "seller": bob.party, "iou": iou["contractId"],
        "company": "ACME", "quantity": "10"}}, alice.party)

    async def bob_sees_the_proposal() -> None:
        found = await bob.query("dvp:DvpProposal", {"company": "ACME"})
        assert [c["contractId"] for c in found] == [proposal["contractId"]]

    await eventually(bob_sees_the_proposal, timeout_s=30)
    accepted = await bob.call("/v1/exercise", {
        "templateId": "dvp:DvpProposal", "contractId": proposal["contractId"],
        "choice": "Accept", "argument": {"share": share["contractId"]}}, bob.party)
    dvp = accepted["exerciseResult"]

    async def alice_sees_the_dvp() -> None:
        assert [c["contractId"] for c in await alice.query("dvp:DvP")] == [dvp]

    await eventually(alice_sees_the_dvp, timeout_s=30)
    swapped = await alice.call("/v1/exercise", {"templateId": "dvp:DvP", "contractId": dvp,
                                                "choice": "Swap", "argument": {}}, alice.party)
    new_iou, new_share = swapped["exerciseResult"]["iou"], swapped["exerciseResult"]["share"]

    async def swapped_everywhere() -> None:
        assert [c["contractId"] for c in await bob.query("dvp:Iou",
                                                         {"owner": bob.party})] == [new_iou]
        shares = await alice.query("dvp:Share", {"quantity": {"%gte": 10}})
        assert [(c["contractId"], c["payload"]["owner"]) for c in shares] == [
            (new_share, alice.party)]
        assert await alice.query("dvp:Iou") == []
        assert await bob.query("dvp:Share") == []

    await eventually(swapped_everywhere, timeout_s=30)
    network.apis["bank"].node.ready["dvp"] = {"shares": [share["contractId"], new_share],
                                              "ious": [iou["contractId"], new_iou]}


async def test_bank_never_sees_a_share_and_sr_never_an_iou(network: Network) -> None:
    bank, sr = network.apis["bank"], network.apis["sr"]
    contracts = network.apis["bank"].node.ready.get("dvp")
    assert contracts is not None, "runs after the DvP test"
    assert await bank.query("dvp:Share") == []
    assert await sr.query("dvp:Iou") == []
    everything = await bank.http.get("/v1/query",
                                     headers={"Authorization": "Bearer " + token(bank.party)})
    assert all(not c["templateId"].endswith(":dvp:Share")
               for c in everything.json()["result"])
    for contract_id in contracts["shares"]:
        assert await bank.call("/v1/fetch", {"contractId": contract_id}, bank.party) is None
        assert await bank.call("/v1/fetch", {"contractId": contract_id,
                                             "templateId": "dvp:Share"}, bank.party) is None
    for contract_id in contracts["ious"]:
        assert await sr.call("/v1/fetch", {"contractId": contract_id}, sr.party) is None
    url = f"ws://127.0.0.1:{bank.port}/v1/stream/query"
    async with websockets.connect(url, subprotocols=[f"jwt.token.{token(bank.party)}",
                                                     "daml.ws.auth"]) as socket:
        await socket.send(json.dumps({"templateIds": ["dvp:Share"]}))
        first = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert first["events"] == [] and "offset" in first  # straight to the live marker


async def test_two_json_apis_of_one_participant_share_a_store_under_concurrent_writes(
        network: Network) -> None:
    bank, alice = network.apis["bank"], network.apis["alice"]
    twin = await _start_json_api(network.domain, network.postgres, "bank", bank.store_dsn,
                                 instance="-2")
    twin.party = bank.party
    network.apis["bank-2"] = twin
    active: set[str] = set()
    archiving: set[str] = set()  # sent, perhaps not answered yet
    archived: set[str] = set()  # answered
    stop = asyncio.Event()
    checks = 0

    async def write(api: JsonApi, count: int) -> None:
        mine: list[str] = []
        for n in range(count):
            if mine and n % 3 == 2:
                victim = mine.pop(0)
                archiving.add(victim)
                await api.call("/v1/exercise", {"templateId": "dvp:Iou", "contractId": victim,
                                                "choice": "Archive", "argument": {}}, bank.party)
                active.discard(victim)
                archived.add(victim)
            else:
                created = await api.call("/v1/create", {"templateId": "dvp:Iou", "payload": {
                    "issuer": bank.party, "owner": alice.party, "amount": str(n + 1),
                    "currency": "GBP"}}, bank.party)
                mine.append(created["contractId"])
                active.add(created["contractId"])

    async def read(api: JsonApi) -> None:
        nonlocal checks
        while not stop.is_set():
            gone, present = set(archived), set(active)
            found = [c["contractId"] for c in await api.query("dvp:Iou", {"currency": "GBP"})]
            assert len(found) == len(set(found)), "a contract returned twice"
            assert not set(found) & gone, "an archived contract returned (lost archive)"
            assert present - archiving <= set(found), "a created contract missing"
            checks += 1

    readers = [asyncio.ensure_future(read(api)) for api in (bank, twin, bank, twin)]
    try:
        await asyncio.gather(write(bank, 24), write(twin, 24), write(bank, 24))
    finally:
        stop.set()
        await asyncio.gather(*readers)
    assert checks > 10
    for api in (bank, twin):
        found = [c["contractId"] for c in await api.query("dvp:Iou", {"currency": "GBP"})]
        assert sorted(found) == sorted(active)


async def test_command_deduplication_through_meta(network: Network) -> None:
    bank, alice = network.apis["bank"], network.apis["alice"]
    body = {"templateId": "dvp:Iou", "payload": {
        "issuer": bank.party, "owner": alice.party, "amount": "1", "currency": "EUR"},
        "meta": {"commandId": f"dedup-{uuid.uuid4().hex}", "actAs": [bank.party],
                 "deduplicationPeriod": {"type": "Duration", "durationInMillis": 60_000}}}
    headers = {"Authorization": "Bearer " + token(bank.party)}
    first = await bank.http.post("/v1/create", json=body, headers=headers)
    assert first.status_code == 200, first.text
    again = await bank.http.post("/v1/create", json=body, headers=headers)
    envelope = again.json()
    assert again.status_code == 409 and envelope["status"] == 409, envelope
    assert envelope["ledgerApiError"]["details"][0]["errorCodeId"] == "DUPLICATE_COMMAND"
