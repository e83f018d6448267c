"""Request bodies are JSON whatever their Content-Type, as Daml's JSON API v1 reads them
(RouteSetup.input takes the entity's bytes as UTF-8 and parses them as JSON): a Daml user's
``curl -d`` (application/x-www-form-urlencoded), a client sending no Content-Type and one
sending text/plain all reach the real Ledger API, for commands, reads, parties and users.
Malformed JSON is still a 400 naming the parser's complaint, and OpenAPI keeps describing
the bodies as JSON."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from tests.integration.json_api.on_ledger import Stack, auth, json_api_stack
from tests.unit.lf.engine_helpers import ALICE, BANK, BOB

FORM = "application/x-www-form-urlencoded"  # what `curl -d` sends
CONTENT_TYPES = [FORM, None, "text/plain"]
IOU = {"issuer": BANK, "owner": ALICE, "amount": "100.5", "currency": "USD"}


@pytest.fixture
async def plain(postgres_cluster, fresh_database) -> AsyncIterator[Stack]:
    async with json_api_stack(postgres_cluster, fresh_database, with_store=False) as started:
        yield started


async def raw_post(stack: Stack, path: str, body: object, headers: dict[str, str],
                   content_type: str | None) -> httpx.Response:
    """`body` as JSON bytes under `content_type` (no Content-Type header at all for None)."""
    sent = dict(headers)
    if content_type is not None:
        sent["Content-Type"] = content_type
    response = await stack.http.post(path, content=json.dumps(body).encode(), headers=sent)
    assert response.request.headers.get("content-type") == content_type
    return response


async def result_of(stack: Stack, path: str, body: object, headers: dict[str, str],
                    content_type: str | None) -> object:
    response = await raw_post(stack, path, body, headers, content_type)
    assert response.status_code == 200, response.text
    return response.json()["result"]


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
async def test_commands_and_reads_take_a_json_body_under_any_content_type(
        plain: Stack, content_type: str | None) -> None:
    created = await result_of(plain, "/v1/create", {"templateId": "dvp:Iou", "payload": IOU},
                              auth(BANK), content_type)
    assert created["payload"] == IOU and created["signatories"] == [BANK]
    found = await result_of(plain, "/v1/query", {"templateIds": ["dvp:Iou"]}, auth(ALICE),
                            content_type)
    assert [c["contractId"] for c in found] == [created["contractId"]]
    fetched = await result_of(plain, "/v1/fetch", {"contractId": created["contractId"]},
                              auth(ALICE), content_type)
    assert fetched["payload"] == IOU
    moved = await result_of(plain, "/v1/exercise", {
        "templateId": "dvp:Iou", "contractId": created["contractId"], "choice": "Transfer",
        "argument": {"recipient": BOB}}, auth(ALICE), content_type)
    assert moved["events"][0] == {"archived": {"contractId": created["contractId"],
                                               "templateId": created["templateId"]}}
    assert moved["events"][1]["created"]["payload"]["owner"] == BOB


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
async def test_parties_and_users_take_a_json_body_under_any_content_type(
        plain: Stack, content_type: str | None) -> None:
    admin = auth(admin=True)
    allocated = await result_of(plain, "/v1/parties/allocate", {"identifierHint": "Carol"},
                                admin, content_type)
    assert allocated["identifier"].startswith("Carol::")
    assert await result_of(plain, "/v1/parties", [allocated["identifier"]], admin,
                           content_type) == [allocated]
    assert await result_of(plain, "/v1/user/create", {
        "userId": "carol", "primaryParty": ALICE,
        "rights": [{"type": "CanActAs", "party": ALICE}]}, admin, content_type) == {}
    assert await result_of(plain, "/v1/user", {"userId": "carol"}, admin, content_type) == {
        "userId": "carol", "primaryParty": ALICE}


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
async def test_malformed_json_is_still_400_with_the_parsers_complaint(
        plain: Stack, content_type: str | None) -> None:
    headers = dict(auth(BANK))
    if content_type is not None:
        headers["Content-Type"] = content_type
    for path, body in [("/v1/create", b"templateId=dvp:Iou"), ("/v1/query", b'{"templateIds":'),
                       ("/v1/parties", b"Alice")]:
        response = await plain.http.post(path, content=body, headers=headers)
        answer = response.json()
        assert response.status_code == 400 and answer["status"] == 400, answer
        assert answer["errors"][0].startswith("JSON parser error: "), answer
    assert plain.ledger.submitter.requests == []


async def test_openapi_still_describes_the_bodies_as_json(plain: Stack) -> None:
    paths = (await plain.http.get("/openapi.json")).json()["paths"]
    for path in ["/v1/create", "/v1/exercise", "/v1/query", "/v1/fetch", "/v1/parties",
                 "/v1/user/create"]:
        content = paths[path]["post"]["requestBody"]["content"]
        assert list(content) == ["application/json"] and content["application/json"]["schema"]
    upload = paths["/v1/packages"]["post"]["requestBody"]["content"]
    assert list(upload) == ["application/octet-stream"]
