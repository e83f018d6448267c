"""Every HTTP endpoint against the participant's real Ledger API server: the success shapes
of Daml's JSON API v1, each error path with its envelope, nothing submitted on a bad
request, and no endpoint returning another party's contracts. Read endpoints run with and
without a query store."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator

import pytest
from tests.integration.json_api.on_ledger import Stack, auth, json_api_stack
from tests.integration.json_api.packages import ITEMS_SOURCE
from tests.unit.lf.engine_helpers import ALICE, BANK, BOB, DVP_SOURCE, SR

from minicanton.codec.package_archive import PackageArchive, PackageSource

IOU = {"issuer": BANK, "owner": ALICE, "amount": "100.5", "currency": "USD"}


@pytest.fixture(params=["without store", "with store"])
async def stack(request, postgres_cluster, fresh_database) -> AsyncIterator[Stack]:
    async with json_api_stack(postgres_cluster, fresh_database,
                              with_store=request.param == "with store") as started:
        yield started


@pytest.fixture
async def plain(postgres_cluster, fresh_database) -> AsyncIterator[Stack]:
    async with json_api_stack(postgres_cluster, fresh_database, with_store=False) as started:
        yield started


async def create_iou(stack: Stack, **changes: object) -> dict:
    result = await stack.ok("/v1/create", {"templateId": "dvp:Iou", "payload": {**IOU,
                                                                                  **changes}},
                            auth(BANK))
    assert isinstance(result, dict)
    return result


def assert_failure(response, status: int, *fragments: str) -> dict:
    body = response.json()
    assert response.status_code == status and body["status"] == status, body
    for fragment in fragments:
        assert fragment in " ".join(body["errors"]), body
    return body


# ---------------------------------------------------------------------------- commands


async def test_create_answers_the_contract_fully_qualified(plain: Stack) -> None:
    # 100.50 as a JSON number: it must reach the ledger exactly, never through a float
    raw = json.dumps({"templateId": "dvp:Iou", "payload": {**IOU, "amount": "@"}})
    raw = raw.replace('"@"', "100.50")
    response = await plain.http.post("/v1/create", content=raw,
                                     headers={**auth(BANK), "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    created = response.json()["result"]
    package_id = plain.ledger.registry.registry.resolve("dvp:Iou").package_id
    assert created["templateId"] == f"{package_id}:dvp:Iou"
    assert created["payload"] == {**IOU, "amount": "100.5"}
    assert created["signatories"] == [BANK] and created["observers"] == [ALICE]
    assert created["contractId"] and created["completionOffset"]
    assert "key" not in created and created["agreementText"] == ""


async def test_exercise_by_id_answers_result_events_and_offset(plain: Stack) -> None:
    iou = await create_iou(plain)
    result = await plain.ok("/v1/exercise", {
        "templateId": "dvp:Iou", "contractId": iou["contractId"], "choice": "Transfer",
        "argument": {"recipient": BOB}, "meta": {"commandId": "transfer-1"}}, auth(ALICE))
    archived, created = result["events"]
    assert archived == {"archived": {"contractId": iou["contractId"],
                                     "templateId": iou["templateId"]}}
    assert created["created"]["payload"]["owner"] == BOB
    assert result["exerciseResult"] == created["created"]["contractId"]
    assert result["completionOffset"] > iou["completionOffset"]
    assert plain.ledger.submitter.requests[-1].command_id == "transfer-1"


async def test_create_and_exercise_shows_the_transient_contract(plain: Stack) -> None:
    result = await plain.ok("/v1/create-and-exercise", {
        "templateId": "dvp:Iou", "payload": IOU, "choice": "Transfer",
        "argument": {"recipient": BOB}}, auth(BANK, ALICE))
    kinds = [next(iter(event)) for event in result["events"]]
    assert kinds == ["created", "archived", "created"]
    assert result["events"][0]["created"]["contractId"] == \
        result["events"][1]["archived"]["contractId"]


async def test_keys_exercise_and_fetch_with_an_uploaded_package(stack: Stack) -> None:
    upload = await stack.http.post("/v1/packages", content=ITEMS_SOURCE.encode(),
                                   headers={**auth(admin=True),
                                            "Content-Type": "application/octet-stream"})
    assert upload.json() == {"status": 200, "result": 1}
    payload = {"owner": ALICE, "watcher": BOB, "count": 3, "price": "2.5", "name": "lamp",
               "day": "2024-01-31", "at": "2024-01-31T10:00:00Z", "flag": True,
               "inner": {"label": "x", "level": 1}, "tags": ["a"], "color": "Red",
               "shape": {"tag": "Square", "value": 2}}
    created = await stack.ok("/v1/create", {"templateId": "items:Item", "payload": payload},
                             auth(ALICE))
    key = {"owner": ALICE, "name": "lamp"}
    assert created["key"] == key and created["payload"]["maybe"] is None
    fetched = await stack.ok("/v1/fetch", {"templateId": "items:Item", "key": key}, auth(BOB))
    assert fetched["contractId"] == created["contractId"]
    renamed = await stack.ok("/v1/exercise", {"templateId": "items:Item", "key": key,
                                             "choice": "Rename", "argument": {"name": "desk"}},
                             auth(ALICE))
    assert renamed["events"][0]["archived"]["contractId"] == created["contractId"]
    assert await stack.ok("/v1/fetch", {"templateId": "items:Item", "key": key},
                          auth(ALICE)) is None
    counted = await stack.ok("/v1/exercise", {
        "templateId": "items:Item", "key": {"owner": ALICE, "name": "desk"}, "choice": "Count",
        "argument": {}}, auth(ALICE))
    assert counted["exerciseResult"] == "3" and counted["events"] == []


@pytest.mark.parametrize(("body", "status", "fragment"), [
    ({"templateId": "dvp:Nothing", "payload": IOU}, 400, "Cannot resolve template ID"),
    ({"templateId": "nodule:Iou", "payload": IOU}, 400, "Cannot resolve template ID"),
    ({"templateId": "dvp:Iou", "payload": {**IOU, "amount": "ten"}}, 400, "payload.amount"),
    ({"templateId": "dvp:Iou", "payload": {**IOU, "amount": "1.00000000001"}}, 400,
     "payload.amount"),
    ({"templateId": "dvp:Iou", "payload": {**IOU, "colour": "red"}}, 400, "payload.colour"),
    ({"templateId": "dvp:Iou", "payload": {k: v for k, v in IOU.items() if k != "owner"}},
     400, "payload.owner"),
    ({"templateId": "dvp:Iou", "payload": IOU, "meta": {"actAs": [ALICE]}}, 403, ALICE),
])
async def test_bad_creates_are_refused_and_nothing_is_submitted(plain: Stack, body: dict,
                                                                status: int,
                                                                fragment: str) -> None:
    before = len(plain.ledger.submitter.requests)
    assert_failure(await plain.post("/v1/create", body, auth(BANK)), status, fragment)
    assert len(plain.ledger.submitter.requests) == before


async def test_a_create_the_template_refuses_is_400_from_the_participant(plain: Stack) -> None:
    response = await plain.post("/v1/create", {"templateId": "dvp:Iou",
                                               "payload": {**IOU, "amount": "-1"}}, auth(BANK))
    body = assert_failure(response, 400)
    assert body["ledgerApiError"]["code"] == 3


async def test_exercise_errors(plain: Stack) -> None:
    iou = await create_iou(plain)
    before = len(plain.ledger.submitter.requests)
    base = {"templateId": "dvp:Iou", "contractId": iou["contractId"], "choice": "Transfer",
            "argument": {"recipient": BOB}}
    assert_failure(await plain.post("/v1/exercise", {**base, "choice": "Steal"}, auth(ALICE)),
                   400, "no choice 'Steal'")
    assert_failure(await plain.post("/v1/exercise", {**base, "argument": {"recipient": 5}},
                                    auth(ALICE)), 400, "argument.recipient")
    assert_failure(await plain.post("/v1/exercise", {**base, "argument": {}}, auth(ALICE)),
                   400, "argument.recipient")
    assert_failure(await plain.post("/v1/exercise", {**base, "key": {"a": 1},
                                                     "contractId": None}, auth(ALICE)),
                   400, "no contract key")
    assert len(plain.ledger.submitter.requests) == before
    missing = await plain.post("/v1/exercise", {**base, "contractId": "00" + "ab" * 33},
                               auth(ALICE))
    body = assert_failure(missing, 404)
    assert body["ledgerApiError"]["details"][0]["errorCodeId"] == "CONTRACT_NOT_FOUND"


# ------------------------------------------------------------------------------- reads


async def test_query_fetch_and_privacy(stack: Stack) -> None:
    iou = await create_iou(stack)
    await create_iou(stack, currency="CHF", amount="7")
    share = await stack.ok("/v1/create", {"templateId": "dvp:Share", "payload": {
        "registry": SR, "owner": BOB, "company": "ACME", "quantity": "10"}}, auth(SR))
    found = await stack.ok("/v1/query", {"templateIds": ["dvp:Iou"],
                                         "query": {"currency": "USD"}}, auth(ALICE))
    assert [c["contractId"] for c in found] == [iou["contractId"]]
    ranged = await stack.ok("/v1/query", {"templateIds": ["dvp:Iou"],
                                          "query": {"amount": {"%lt": 50}}}, auth(BANK))
    assert [c["payload"]["currency"] for c in ranged] == ["CHF"]
    assert await stack.ok("/v1/query", {"templateIds": ["dvp:Share"]}, auth(BANK)) == []
    assert await stack.ok("/v1/fetch", {"contractId": share["contractId"]}, auth(BANK)) is None
    assert await stack.ok("/v1/fetch", {"contractId": share["contractId"],
                                        "templateId": "dvp:Share"}, auth(ALICE)) is None
    fetched = await stack.ok("/v1/fetch", {"contractId": share["contractId"],
                                           "templateId": "dvp:Share"}, auth(BOB))
    assert fetched["payload"]["company"] == "ACME"
    everything = (await stack.http.get("/v1/query", headers=auth(BOB))).json()["result"]
    assert [c["contractId"] for c in everything] == [share["contractId"]]


async def test_query_warns_of_unknown_templates_and_refuses_bad_queries(stack: Stack) -> None:
    await create_iou(stack)
    response = await stack.post("/v1/query", {"templateIds": ["dvp:Iou", "dvp:Nope"]},
                                auth(ALICE))
    body = response.json()
    assert body["warnings"] == {"unknownTemplateIds": ["dvp:Nope"]} and len(body["result"]) == 1
    body = assert_failure(await stack.post("/v1/query", {"templateIds": ["dvp:Nope"]},
                                           auth(ALICE)), 400, "Cannot resolve any template")
    assert body["warnings"] == {"unknownTemplateIds": ["dvp:Nope"]}
    assert_failure(await stack.post("/v1/query", {"templateIds": ["dvp:Iou"],
                                                  "query": {"amont": "1"}}, auth(ALICE)),
                   400, "query.amont")
    assert_failure(await stack.post("/v1/query", {"templateIds": ["dvp:Iou"],
                                                  "query": {"amount": {"%lt": 1, "%lte": 2}}},
                                    auth(ALICE)), 400, "%lt and %lte")


async def test_a_query_after_an_archive_never_returns_the_archived_contract(
        stack: Stack) -> None:
    iou = await create_iou(stack)
    query = {"templateIds": ["dvp:Iou"]}
    assert len(await stack.ok("/v1/query", query, auth(ALICE))) == 1
    await stack.ok("/v1/exercise", {"templateId": "dvp:Iou", "contractId": iou["contractId"],
                                    "choice": "Archive", "argument": {}}, auth(BANK))
    assert await stack.ok("/v1/query", query, auth(ALICE)) == []
    assert await stack.ok("/v1/fetch", {"contractId": iou["contractId"],
                                        "templateId": "dvp:Iou"}, auth(BANK)) is None


# -------------------------------------------------------------- parties, users, packages


async def test_parties(plain: Stack) -> None:
    allocated = await plain.ok("/v1/parties/allocate",
                               {"identifierHint": "Carol", "displayName": "Carol & Co"},
                               auth(admin=True))
    assert allocated["identifier"].startswith("Carol::") and allocated["isLocal"] is True
    everyone = (await plain.http.get("/v1/parties", headers=auth(admin=True))).json()
    assert allocated in everyone["result"]
    some = (await plain.post("/v1/parties", [allocated["identifier"], "Erin::1220ee"],
                             auth(admin=True))).json()
    assert some["result"] == [allocated]
    assert some["warnings"] == {"unknownParties": ["Erin::1220ee"]}
    assert_failure(await plain.post("/v1/parties/allocate", {}, auth(ALICE)), 403)


async def test_users_and_rights(plain: Stack) -> None:
    admin = auth(admin=True)
    rights = [{"type": "CanActAs", "party": ALICE}, {"type": "CanReadAs", "party": BOB}]
    assert await plain.ok("/v1/user/create", {"userId": "carol", "primaryParty": ALICE,
                                              "rights": rights}, admin) == {}
    assert_failure(await plain.post("/v1/user/create", {"userId": "carol"}, admin), 409)
    assert await plain.ok("/v1/user", {"userId": "carol"}, admin) == {
        "userId": "carol", "primaryParty": ALICE}
    listed = (await plain.http.get("/v1/users", headers=admin)).json()["result"]
    assert {"userId": "carol", "primaryParty": ALICE} in listed
    granted = await plain.ok("/v1/user/rights/grant", {
        "userId": "carol", "rights": [{"type": "ParticipantAdmin"}, rights[0]]}, admin)
    assert granted == [{"type": "ParticipantAdmin"}]
    revoked = await plain.ok("/v1/user/rights/revoke", {
        "userId": "carol", "rights": [{"type": "ParticipantAdmin"}]}, admin)
    assert revoked == [{"type": "ParticipantAdmin"}]
    assert sorted(map(str, await plain.ok("/v1/user/rights", {"userId": "carol"}, admin))) == \
        sorted(map(str, rights))
    assert await plain.ok("/v1/user/delete", {"userId": "carol"}, admin) == {}
    assert_failure(await plain.post("/v1/user", {"userId": "carol"}, admin), 404)
    assert_failure(await plain.http.get("/v1/user", headers=admin), 400, "user token")


async def test_a_user_token_acts_with_the_users_rights(plain: Stack) -> None:
    from tests.integration.ledger_api.harness import PARTICIPANT_ID, SECRET

    from minicanton.runtime.auth import mint_dev_user_token

    await plain.ok("/v1/user/create", {"userId": "bank-clerk", "primaryParty": BANK,
                                       "rights": [{"type": "CanActAs", "party": BANK}]},
                   auth(admin=True))
    user = {"Authorization": "Bearer " + mint_dev_user_token(SECRET, "bank-clerk",
                                                              PARTICIPANT_ID)}
    me = (await plain.http.get("/v1/user", headers=user)).json()
    assert me["result"] == {"userId": "bank-clerk", "primaryParty": BANK}
    created = await plain.ok("/v1/create", {"templateId": "dvp:Iou", "payload": IOU}, user)
    assert created["signatories"] == [BANK]
    assert plain.ledger.submitter.requests[-1].application_id == "bank-clerk"
    assert_failure(await plain.post("/v1/create", {"templateId": "dvp:Iou", "payload": IOU,
                                                   "meta": {"actAs": [ALICE]}}, user), 403)
    stranger = {"Authorization": "Bearer " + mint_dev_user_token(SECRET, "nobody",
                                                                  PARTICIPANT_ID)}
    assert_failure(await plain.http.get("/v1/query", headers=stranger), 403)


async def test_packages(plain: Stack) -> None:
    ids = (await plain.http.get("/v1/packages", headers=auth(ALICE))).json()["result"]
    (dvp,) = ids
    downloaded = await plain.http.get(f"/v1/packages/{dvp}", headers=auth(ALICE))
    assert downloaded.headers["content-type"] == "application/octet-stream"
    assert hashlib.sha256(downloaded.content).hexdigest() == dvp
    assert_failure(await plain.http.get("/v1/packages/" + "0" * 64, headers=auth(ALICE)), 404)
    assert_failure(await plain.http.get("/v1/packages/nope", headers=auth(ALICE)), 400)
    bad = await plain.http.post("/v1/packages", content=b"import os\n",
                                headers={**auth(admin=True),
                                         "Content-Type": "application/octet-stream"})
    assert_failure(bad, 400)
    assert_failure(await plain.http.post("/v1/packages", content=ITEMS_SOURCE.encode(),
                                         headers=auth(ALICE)), 403)


async def test_readiness_with_the_ledger_up(stack: Stack) -> None:
    ready = await stack.http.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert "[+] ledger ok" in ready.text


async def test_text_with_nul_round_trips_and_is_queryable(stack: Stack) -> None:
    odd = await create_iou(stack, currency="US\x00D")
    await create_iou(stack, currency="USD")
    assert odd["payload"]["currency"] == "US\x00D"
    found = await stack.ok("/v1/query", {"templateIds": ["dvp:Iou"],
                                         "query": {"currency": "US\x00D"}}, auth(ALICE))
    assert [c["contractId"] for c in found] == [odd["contractId"]]
    ranged = await stack.ok("/v1/query", {"templateIds": ["dvp:Iou"],
                                          "query": {"currency": {"%lt": "USD"}}}, auth(ALICE))
    assert [c["contractId"] for c in ranged] == [odd["contractId"]]
    fetched = await stack.ok("/v1/fetch", {"contractId": odd["contractId"],
                                           "templateId": "dvp:Iou"}, auth(ALICE))
    assert fetched["payload"]["currency"] == "US\x00D"


async def test_no_one_acts_on_a_contract_it_does_not_see(plain: Stack) -> None:
    iou = await create_iou(plain)  # Bank's, observed by Alice
    steal = {"templateId": "dvp:Iou", "contractId": iou["contractId"], "choice": "Transfer",
             "argument": {"recipient": BOB}}
    assert_failure(await plain.post("/v1/exercise", steal, auth(BOB)), 404)
    assert await plain.ok("/v1/fetch", {"contractId": iou["contractId"]}, auth(BOB)) is None
    assert await plain.ok("/v1/query", {"templateIds": ["dvp:Iou"]}, auth(BOB)) == []


async def test_an_upload_elsewhere_shows_within_the_ttl_or_at_once_after_a_refresh(
        postgres_cluster, fresh_database) -> None:
    async with json_api_stack(postgres_cluster, fresh_database, with_store=False,
                              type_cache={"resolution_ttl_s": 300}) as stack:
        await create_iou(stack)  # dvp:Iou resolved and cached
        second = DVP_SOURCE + "\n# a second version of the package\n"
        await stack.ledger.uploader.upload_packages(  # straight to the participant
            PackageArchive("dvp2", (PackageSource("dvp.py", second.encode()),)), "elsewhere")
        assert (await stack.post("/v1/create", {"templateId": "dvp:Iou", "payload": IOU},
                                 auth(BANK))).status_code == 200  # still the cached answer
        assert await stack.ok("/v1/refresh/cache", {}, auth(BANK)) == {}
        assert_failure(await stack.post("/v1/create", {"templateId": "dvp:Iou", "payload": IOU},
                                        auth(BANK)), 400, "several packages")
