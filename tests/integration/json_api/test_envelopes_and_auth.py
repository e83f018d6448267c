"""A JSON API whose participant is down: every answer is Daml's envelope, auth is checked
before anything else (the token attack matrix over HTTP and WebSocket), bad requests are
refused with the reason, and OpenAPI is served."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import websockets
from tests.integration.json_api.harness import (
    bearer,
    client,
    config,
    hs256_signed_with,
    public_pem,
    rs256_token,
    rsa_key,
    running,
    token,
    unsigned_token,
    unused_endpoint,
    write_pem,
)
from websockets.exceptions import InvalidStatus

from minicanton.json_api.server import JsonApiServer

ALICE = "Alice::1220" + "aa" * 32
BOB = "Bob::1220" + "bb" * 32
POSTS = ["/v1/create", "/v1/exercise", "/v1/create-and-exercise", "/v1/fetch", "/v1/query",
         "/v1/parties", "/v1/parties/allocate", "/v1/user", "/v1/user/create",
         "/v1/user/delete", "/v1/user/rights", "/v1/user/rights/grant",
         "/v1/user/rights/revoke", "/v1/packages", "/v1/refresh/cache"]
GETS = ["/v1/query", "/v1/parties", "/v1/user", "/v1/users", "/v1/user/rights",
        "/v1/packages", "/v1/packages/" + "0" * 64]


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[JsonApiServer]:
    async with running(config(unused_endpoint(), max_request_bytes=64 * 1024)) as started:
        yield started


@pytest.fixture
async def http(server: JsonApiServer) -> AsyncIterator[httpx.AsyncClient]:
    async with client(server) as connected:
        yield connected


def assert_envelope(response: httpx.Response, status: int, *fragments: str) -> None:
    body = response.json()
    assert response.status_code == status, body
    assert body["status"] == status and isinstance(body["errors"], list), body
    text = " ".join(body["errors"])
    for fragment in fragments:
        assert fragment in text, body
    assert "Traceback" not in response.text


async def test_health_and_openapi_are_served_without_a_token(http: httpx.AsyncClient) -> None:
    assert (await http.get("/livez")).status_code == 200
    ready = await http.get("/readyz")
    assert ready.status_code == 503 and "[-] ledger failed" in ready.text
    spec = (await http.get("/openapi.json")).json()
    assert {"/v1/create", "/v1/query", "/v1/fetch", "/v1/packages"} <= set(spec["paths"])
    assert "bearer" in str(spec["components"]["securitySchemes"]).lower()
    assert "swagger" in (await http.get("/docs")).text.lower()


@pytest.mark.parametrize("path", POSTS)
async def test_every_post_needs_a_token(http: httpx.AsyncClient, path: str) -> None:
    assert_envelope(await http.post(path, json={}), 401, "no access token")


@pytest.mark.parametrize("path", GETS)
async def test_every_get_needs_a_token(http: httpx.AsyncClient, path: str) -> None:
    assert_envelope(await http.get(path), 401)


def attack_tokens() -> dict[str, str]:
    key = rsa_key()
    return {
        "alg none": unsigned_token(ALICE),
        "key confusion (HS256 keyed with an RSA public key)": hs256_signed_with(
            public_pem(key), ALICE),
        "RS256 where HS256 is configured": rs256_token(key, ALICE),
        "wrong secret": token(ALICE, secret="another-secret-0123456789abcdefghij"),
        "expired": token(ALICE, expires_in_s=-600),
        "another participant": token(ALICE, participant_id="other::1220"),
        "another ledger": token(ALICE, ledger_id="not-minicanton"),
        "garbage": "not.a.jwt",
        "empty claims object": hs256_signed_with(b"x" * 40, ALICE),
    }


@pytest.mark.parametrize("name", list(attack_tokens()))
async def test_the_token_attack_matrix_is_refused_with_401(http: httpx.AsyncClient,
                                                           name: str) -> None:
    forged = attack_tokens()[name]
    body = {"templateIds": ["dvp:Iou"]}
    assert_envelope(await http.post("/v1/query", json=body, headers=bearer(forged)), 401)
    assert_envelope(await http.get("/v1/query", headers=bearer(forged)), 401)


async def test_a_non_bearer_scheme_is_refused(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/query", headers={"Authorization": f"Basic {token(ALICE)}"})
    assert_envelope(response, 401, "Bearer")


async def test_acting_or_reading_as_a_party_outside_the_token_is_403(
        http: httpx.AsyncClient) -> None:
    alice = bearer(token(ALICE))
    create = {"templateId": "dvp:Iou", "payload": {}, "meta": {"actAs": [BOB]}}
    assert_envelope(await http.post("/v1/create", json=create, headers=alice), 403, BOB)
    exercise = {"templateId": "dvp:Iou", "contractId": "00ab", "choice": "Transfer",
                "argument": {}, "meta": {"actAs": [ALICE], "readAs": [BOB]}}
    assert_envelope(await http.post("/v1/exercise", json=exercise, headers=alice), 403, BOB)
    query = {"templateIds": ["dvp:Iou"], "readers": [BOB]}
    assert_envelope(await http.post("/v1/query", json=query, headers=alice), 403, BOB)
    fetch = {"contractId": "00ab", "readers": [ALICE, BOB]}
    assert_envelope(await http.post("/v1/fetch", json=fetch, headers=alice), 403, BOB)
    reader_only = bearer(token(read_as=(ALICE,)))
    assert_envelope(await http.post("/v1/create", json={"templateId": "dvp:Iou", "payload": {}},
                                    headers=reader_only), 403)


@pytest.mark.parametrize(("path", "body", "fragment"), [
    ("/v1/create", '{"templateId": "dvp:Iou", "payload": {', "JSON parser error"),
    ("/v1/create", '{"templateId": "dvp:Iou", "payload": NaN}', "JSON parser error"),
    ("/v1/create", "[" * 5000 + "]" * 5000, "JSON parser error"),
    ("/v1/create", '{"templateId": "dvp:Iou"}', "payload"),
    ("/v1/create", '{"templateId": "dvp:Iou", "payload": {}, "metaa": {}}', "metaa"),
    ("/v1/create", '{"templateId": 5, "payload": {}}', "templateId"),
    ("/v1/create", '{"templateId": "dvp:Iou", "payload": {}, "meta": {"actAs": []}}', "actAs"),
    ("/v1/exercise", '{"templateId": "dvp:Iou", "contractId": "x", "key": {}, "choice": "C",'
                     ' "argument": {}}', "exactly one of contractId and key"),
    ("/v1/fetch", '{"key": {"a": 1}}', "needs templateId"),
    ("/v1/query", '{"templateIds": []}', "templateIds"),
    ("/v1/query", '{"templateIds": ["dvp:Iou"], "query": [1]}', "query"),
    ("/v1/parties", "[]", "at least 1"),
    ("/v1/user/create", '{"userId": "u", "rights": [{"type": "CanActAs"}]}', "needs party"),
    ("/v1/create", '{"templateId": "dvp:Iou", "payload": {}, "meta": {"deduplicationPeriod":'
                   ' {"type": "Duration", "durationInMillis": -1}}}', "durationInMillis"),
])
async def test_malformed_requests_are_400_with_the_reason(http: httpx.AsyncClient, path: str,
                                                          body: str, fragment: str) -> None:
    headers = {**bearer(token(ALICE)), "Content-Type": "application/json"}
    assert_envelope(await http.post(path, content=body, headers=headers), 400, fragment)


async def test_a_body_over_the_limit_is_413(http: httpx.AsyncClient) -> None:
    body = '{"templateId": "dvp:Iou", "payload": {"x": "' + "a" * 70_000 + '"}}'
    response = await http.post("/v1/create", content=body,
                               headers={**bearer(token(ALICE)),
                                        "Content-Type": "application/json"})
    assert_envelope(response, 413, "larger than")


async def test_unknown_paths_and_methods_get_the_envelope(http: httpx.AsyncClient) -> None:
    assert_envelope(await http.post("/v1/query1", json={}), 404)
    assert_envelope(await http.delete("/v1/create"), 405)


async def test_a_valid_request_while_the_participant_is_down_is_503(
        http: httpx.AsyncClient) -> None:
    response = await http.post("/v1/query", json={"templateIds": ["dvp:Iou"]},
                               headers=bearer(token(ALICE)))
    assert_envelope(response, 503)
    assert response.json()["ledgerApiError"]["code"] == 14


def ws_url(server: JsonApiServer, path: str = "/v1/stream/query") -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


@pytest.mark.parametrize("name", ["missing", *attack_tokens()])
async def test_websocket_tokens_are_checked_before_the_upgrade(server: JsonApiServer,
                                                               name: str) -> None:
    protocols = ["daml.ws.auth"] if name == "missing" else [
        f"jwt.token.{attack_tokens()[name]}", "daml.ws.auth"]
    for path in ("/v1/stream/query", "/v1/stream/fetch"):
        with pytest.raises(InvalidStatus) as refused:
            async with websockets.connect(ws_url(server, path), subprotocols=protocols):
                pass
        assert refused.value.response.status_code == 401


async def test_websocket_without_the_daml_subprotocol_is_refused(server: JsonApiServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(ws_url(server),
                                      subprotocols=[f"jwt.token.{token(ALICE)}"]):
            pass
    assert refused.value.response.status_code == 401


async def test_rs256_configuration_refuses_hs256_tokens(tmp_path) -> None:
    key = rsa_key()
    auth = {"public_key_file": str(write_pem(tmp_path, key)), "algorithm": "RS256",
            "target_audience": "https://json-api.example"}
    async with running(config(unused_endpoint(), auth=auth)) as started, \
            client(started) as http:
        confusion = hs256_signed_with(public_pem(key), ALICE)
        assert_envelope(await http.get("/v1/query", headers=bearer(confusion)), 401)
        no_audience = rs256_token(key, ALICE)
        assert_envelope(await http.get("/v1/query", headers=bearer(no_audience)), 401,
                        "audience")
        wrong_audience = rs256_token(key, ALICE, aud="https://elsewhere.example")
        assert_envelope(await http.get("/v1/query", headers=bearer(wrong_audience)), 401)
        good = rs256_token(key, ALICE, aud="https://json-api.example")
        assert_envelope(await http.get("/v1/query", headers=bearer(good)), 503)
