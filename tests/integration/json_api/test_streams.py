"""WebSocket streams against the participant's real Ledger API server: ACS replay, the live
marker, live creates and archives with matchedQueries, resuming from an offset, heartbeats,
warnings and error frames, fetch-by-key streams, and a token expiring mid-stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets
from tests.integration.json_api.on_ledger import Stack, auth, json_api_stack, ledger_token
from tests.integration.json_api.packages import ITEMS_SOURCE
from tests.unit.lf.engine_helpers import ALICE, BANK, BOB

IOU = {"issuer": BANK, "owner": ALICE, "amount": "100", "currency": "USD"}


@pytest.fixture
async def stack(postgres_cluster, fresh_database) -> AsyncIterator[Stack]:
    async with json_api_stack(postgres_cluster, fresh_database, with_store=False) as started:
        yield started


class Stream:
    def __init__(self, socket: Any) -> None:
        self.socket = socket

    async def send(self, message: object) -> None:
        await self.socket.send(json.dumps(message))

    async def frame(self, timeout_s: float = 10.0) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.socket.recv(), timeout_s))

    async def events_frame(self, timeout_s: float = 10.0) -> dict[str, Any]:
        """The next frame that carries events (heartbeats skipped)."""
        while True:
            frame = await self.frame(timeout_s)
            if frame.get("events") or "events" not in frame:
                return frame


def connect(stack: Stack, token: str, path: str = "/v1/stream/query") -> Any:
    return websockets.connect(f"ws://127.0.0.1:{stack.server.port}{path}",
                              subprotocols=[f"jwt.token.{token}", "daml.ws.auth"])


async def create(stack: Stack, **changes: object) -> dict[str, Any]:
    result = await stack.ok("/v1/create", {"templateId": "dvp:Iou",
                                           "payload": {**IOU, **changes}}, auth(BANK))
    assert isinstance(result, dict)
    return result


async def test_replay_live_marker_live_events_and_resume(stack: Stack) -> None:
    usd = await create(stack)
    chf = await create(stack, currency="CHF")
    queries = [{"templateIds": ["dvp:Iou"], "query": {"currency": "USD"}},
               {"templateIds": ["dvp:Iou"]}]
    async with connect(stack, ledger_token(ALICE)) as socket:
        assert socket.subprotocol == "daml.ws.auth"
        stream = Stream(socket)
        await stream.send(queries)
        replay = await stream.frame()
        assert "offset" not in replay
        matched = {e["created"]["contractId"]: e["matchedQueries"] for e in replay["events"]}
        assert matched == {usd["contractId"]: [0, 1], chf["contractId"]: [1]}
        marker = await stream.frame()
        assert marker == {"events": [], "offset": chf["completionOffset"]}
        fresh = await create(stack, currency="EUR")
        live = await stream.events_frame()
        assert live["offset"] == fresh["completionOffset"]
        assert [(e["created"]["contractId"], e["matchedQueries"]) for e in live["events"]] == \
            [(fresh["contractId"], [1])]
        await stack.ok("/v1/exercise", {"templateId": "dvp:Iou", "contractId": usd["contractId"],
                                        "choice": "Transfer", "argument": {"recipient": BOB}},
                       auth(ALICE))
        moved = await stream.events_frame()
        assert moved["events"] == [{"archived": {"contractId": usd["contractId"],
                                                 "templateId": usd["templateId"]}}]
    async with connect(stack, ledger_token(ALICE)) as socket:
        stream = Stream(socket)
        await stream.send({"offset": marker["offset"]})
        await stream.send(queries)
        assert await stream.frame() == {"events": [], "offset": marker["offset"]}
        resumed = await stream.events_frame()
        assert resumed["events"][0]["created"]["contractId"] == fresh["contractId"]
        assert (await stream.events_frame())["events"][0]["archived"]["contractId"] == \
            usd["contractId"]


async def test_an_idle_stream_sends_heartbeats_with_the_last_offset(stack: Stack) -> None:
    iou = await create(stack)
    async with connect(stack, ledger_token(BANK)) as socket:
        stream = Stream(socket)
        await stream.send({"templateIds": ["dvp:Iou"]})
        await stream.frame()
        marker = await stream.frame()
        assert marker["offset"] == iou["completionOffset"]
        for _ in range(2):
            assert await stream.frame(timeout_s=3) == {"events": [], "offset": marker["offset"]}


async def test_a_second_request_is_an_error_frame(stack: Stack) -> None:
    async with connect(stack, ledger_token(BANK)) as socket:
        stream = Stream(socket)
        await stream.send({"templateIds": ["dvp:Iou"]})
        assert (await stream.frame())["offset"] is None  # empty ledger: marker at once
        await stream.send({"templateIds": ["dvp:Iou"]})
        error = await stream.events_frame()
        assert error["status"] == 400 and "Multiple requests" in error["errors"][0]


async def test_unknown_templates_warn_then_fail_when_none_resolves(stack: Stack) -> None:
    async with connect(stack, ledger_token(BANK)) as socket:
        stream = Stream(socket)
        await stream.send({"templateIds": ["dvp:Iou", "dvp:Nope"]})
        assert await stream.frame() == {"warnings": {"unknownTemplateIds": ["dvp:Nope"]}}
    async with connect(stack, ledger_token(BANK)) as socket:
        stream = Stream(socket)
        await stream.send({"templateIds": ["dvp:Nope"]})
        error = await stream.frame()
        assert error["status"] == 400
        assert error["warnings"] == {"unknownTemplateIds": ["dvp:Nope"]}


@pytest.mark.parametrize(("messages", "fragment"), [
    (["{not json"], "JSON parser error"),
    ([{"templateIds": []}], "templateIds"),
    ([{"templateIds": ["dvp:Iou"], "query": {"amont": 1}}], "query.amont"),
    ([{"offset": "yesterday"}], "not an absolute offset"),
    ([{"templateIds": ["dvp:Iou"], "extra": 1}], "extra"),
])
async def test_bad_stream_requests_get_an_error_frame(stack: Stack, messages: list[object],
                                                      fragment: str) -> None:
    async with connect(stack, ledger_token(BANK)) as socket:
        for message in messages:
            await socket.send(message if isinstance(message, str) else json.dumps(message))
        error = await Stream(socket).frame()
        assert error["status"] == 400 and fragment in error["errors"][0], error


async def test_fetch_stream_follows_keys(stack: Stack) -> None:
    await stack.http.post("/v1/packages", content=ITEMS_SOURCE.encode(),
                          headers={**auth(admin=True), "Content-Type": "application/octet-stream"})
    payload = {"owner": ALICE, "watcher": BOB, "count": 1, "price": "1", "name": "lamp",
               "day": "2024-01-31", "at": "2024-01-31T10:00:00Z", "flag": False,
               "inner": {"label": "x", "level": 1}, "tags": [], "color": "Blue",
               "shape": {"tag": "Circle", "value": "1.5"}}
    lamp = await stack.ok("/v1/create", {"templateId": "items:Item", "payload": payload},
                          auth(ALICE))
    await stack.ok("/v1/create", {"templateId": "items:Item",
                                  "payload": {**payload, "name": "chair"}}, auth(ALICE))
    async with connect(stack, ledger_token(BOB), "/v1/stream/fetch") as socket:
        stream = Stream(socket)
        await stream.send([{"templateId": "items:Item", "key": {"owner": ALICE, "name": "desk"}},
                           {"templateId": "items:Item", "key": {"owner": ALICE, "name": "lamp"}}])
        replay = await stream.frame()
        assert [(e["created"]["contractId"], e["matchedQueries"]) for e in replay["events"]] == \
            [(lamp["contractId"], [1])]
        assert (await stream.frame())["events"] == []  # the live marker
        renamed = await stack.ok("/v1/exercise", {
            "templateId": "items:Item", "key": {"owner": ALICE, "name": "lamp"},
            "choice": "Rename", "argument": {"name": "desk"}}, auth(ALICE))
        live = await stream.events_frame()
        assert live["events"][0] == {"archived": {"contractId": lamp["contractId"],
                                                  "templateId": lamp["templateId"]}}
        desk = renamed["exerciseResult"]
        assert live["events"][1]["created"]["contractId"] == desk
        assert live["events"][1]["matchedQueries"] == [0]


async def test_a_token_that_expires_ends_the_stream_with_401(stack: Stack) -> None:
    short = ledger_token(BANK, expires_in_s=2)
    async with connect(stack, short) as socket:
        stream = Stream(socket)
        await stream.send({"templateIds": ["dvp:Iou"]})
        while True:
            frame = await stream.frame(timeout_s=10)
            if "errors" in frame:
                break
        assert frame["status"] == 401 and "expired" in frame["errors"][0]
