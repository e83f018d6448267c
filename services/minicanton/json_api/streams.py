"""WebSocket streams ``/v1/stream/query`` and ``/v1/stream/fetch`` (Daml's JSON API v1).

Theory of operation
-------------------
1. **Auth** before the upgrade: the token travels as the subprotocol ``jwt.token.<JWT>``
   beside ``daml.ws.auth``; a missing or bad token is answered with a plain HTTP 401/403 and
   the Daml error envelope (no socket is opened). The server speaks ``daml.ws.auth``.
2. **Request**: an optional ``{"offset": "..."}`` message, then ONE request: a query
   (``{"templateIds", "query"}`` or a list of them) or a list of ``{"templateId", "key",
   "contractIdAtOffset"?}``. A second request is refused with an error frame.
3. **Replay** (no offset given): the active contracts matching the request, in blocks of
   ``{"events": [{"created": ..., "matchedQueries": [...]}]}`` without an offset; then the
   **live marker**, the first frame with an offset (``{"events": [], "offset": ...}``). With
   an offset, the live marker comes at once and the stream continues after that offset.
4. **Live**: each transaction's matching creates and the archives of the requested
   templates as ``{"events": [...], "offset": ...}``; a query stream may send archives of
   contracts it never showed ("phantom archives", as Daml does), a fetch stream only those of
   contracts it showed or was told of with ``contractIdAtOffset``. When nothing happened for
   `heartbeat_s`, ``{"events": [], "offset": <last>}`` keeps the connection alive.
5. **Errors** (bad request, ledger failure, token expired) are sent as the error envelope
   ``{"status": N, "errors": [...]}``; warnings (``unknownTemplateIds``) as
   ``{"warnings": ...}`` first. The stream then closes; the caller may resume from its last
   offset.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from minicanton.core.errors import InvalidArgument
from minicanton.core.protocol.offsets import Offset, parse_offset
from minicanton.json_api.caller import DAML_WS_SUBPROTOCOL, Caller
from minicanton.json_api.contracts import ActiveContract, ArchivedContract, ContractEvent
from minicanton.json_api.envelope import error_body
from minicanton.json_api.query_language import Query, compile_query, json_equal, matches
from minicanton.json_api.requests import Identifier, TemplateIdText
from minicanton.json_api.routes.common import resolve_all, template_types
from minicanton.json_api.services import JsonApiServices
from minicanton.json_api.translate import canonical_key

router = APIRouter()
REPLAY_BLOCK = 100
FIRST_MESSAGE_TIMEOUT_S = 60.0
MAX_MESSAGE_CHARS = 1 << 20
_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)


class StreamQuery(BaseModel):
    model_config = _STRICT
    templateIds: list[TemplateIdText] = Field(min_length=1, max_length=100)
    query: dict[str, Any] = Field(default_factory=dict)


class StreamKey(BaseModel):
    model_config = _STRICT
    templateId: TemplateIdText
    key: Any
    contractIdAtOffset: Identifier | None = None


_QUERIES = TypeAdapter(StreamQuery | list[StreamQuery])
_KEYS = TypeAdapter(list[StreamKey])


class StreamRequestError(InvalidArgument):
    pass


@dataclass
class Matcher:
    """What a stream shows: which creates match which request entries, which archives."""

    match_create: Callable[[ActiveContract], list[int]]
    templates: frozenset[Any]
    shown: set[str] = field(default_factory=set)
    phantom_archives: bool = True

    def frame_events(self, events: tuple[ContractEvent, ...]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for event in events:
            if isinstance(event, ArchivedContract):
                if event.template_id in self.templates and (
                        self.phantom_archives or event.contract_id in self.shown):
                    self.shown.discard(event.contract_id)
                    out.append({"archived": event.to_json()})
                continue
            matched = self.match_create(event)
            if matched:
                self.shown.add(event.contract_id)
                out.append({"created": event.to_json(), "matchedQueries": matched})
        return out


# ------------------------------------------------------------------------ building requests


def _parse(text: str) -> Any:
    if len(text) > MAX_MESSAGE_CHARS:
        raise StreamRequestError(f"a stream request may have at most {MAX_MESSAGE_CHARS} chars")
    try:
        return json.loads(text, parse_float=Decimal)
    except (ValueError, RecursionError) as error:
        raise StreamRequestError(f"JSON parser error: {error}") from None


def _validated(adapter: TypeAdapter[Any], data: Any) -> Any:
    try:
        return adapter.validate_python(data)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
                             for e in error.errors()[:5])
        raise StreamRequestError(problems) from None


async def _query_matcher(services: JsonApiServices, caller: Caller, data: Any
                         ) -> tuple[Matcher, list[str]]:
    request = _validated(_QUERIES, data)
    entries = request if isinstance(request, list) else [request]
    translator = services.translator(caller)
    compiled: list[tuple[int, Query]] = []
    unknown: list[str] = []
    for index, entry in enumerate(entries):
        resolved, missing = await resolve_all(translator, entry.templateIds)
        unknown += missing
        compiled += [(index, compile_query(entry.query, t.identifier, t.environment))
                     for t in resolved]

    def match(contract: ActiveContract) -> list[int]:
        return sorted({i for i, q in compiled
                       if q.template == contract.template_id and matches(q, contract.payload)})

    return Matcher(match, frozenset(q.template for _, q in compiled)), unknown


async def _fetch_matcher(services: JsonApiServices, caller: Caller, data: Any,
                         resumed: bool) -> tuple[Matcher, list[str]]:
    entries: list[StreamKey] = _validated(_KEYS, data)
    if not entries:
        raise StreamRequestError("a fetch stream needs at least one {templateId, key}")
    translator = services.translator(caller)
    keys: list[tuple[int, Any, object]] = []
    for index, entry in enumerate(entries):
        types = await template_types(translator, entry.templateId)
        keys.append((index, types.identifier, canonical_key(types, entry.key)))

    def match(contract: ActiveContract) -> list[int]:
        return [i for i, template, key in keys
                if template == contract.template_id and json_equal(contract.key, key)]

    known = {e.contractIdAtOffset for e in entries if e.contractIdAtOffset is not None}
    every_id_given = all("contractIdAtOffset" in e.model_fields_set for e in entries)
    matcher = Matcher(match, frozenset(t for _, t, _ in keys), set(known),
                      phantom_archives=resumed and not every_id_given)
    return matcher, []


# ------------------------------------------------------------------------------- the socket


class _Socket:
    """Sends frames, checking the token has not expired; notices a second request."""

    def __init__(self, websocket: WebSocket, caller: Caller) -> None:
        self.websocket = websocket
        self.caller = caller

    async def send(self, frame: dict[str, Any]) -> None:
        self.caller.claims.check_not_expired(time.time())
        await self.websocket.send_text(json.dumps(frame, ensure_ascii=False))

    async def receive(self, timeout_s: float) -> str:
        return await asyncio.wait_for(self.websocket.receive_text(), timeout_s)


async def _refuse(websocket: WebSocket, error: BaseException) -> None:
    body = error_body(error)
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(JSONResponse(body, status_code=body["status"]))
        return
    await websocket.accept()
    await websocket.send_text(json.dumps(body))
    await websocket.close(code=1008)


async def _open(websocket: WebSocket) -> _Socket | None:
    services: JsonApiServices = websocket.app.state.services
    try:
        caller = await services.authenticator.websocket_caller(
            websocket.scope.get("subprotocols", []))
    except Exception as error:  # AuthError, or the ledger unreachable for a user token
        await _refuse(websocket, error)
        return None
    await websocket.accept(subprotocol=DAML_WS_SUBPROTOCOL)
    return _Socket(websocket, caller)


async def _first_request(socket: _Socket) -> tuple[Offset | None, Any]:
    data = _parse(await socket.receive(FIRST_MESSAGE_TIMEOUT_S))
    if isinstance(data, dict) and set(data) == {"offset"}:
        offset = data["offset"]
        if not isinstance(offset, str):
            raise StreamRequestError("offset must be a string")
        try:
            parsed = parse_offset(offset)
        except InvalidArgument as error:
            raise StreamRequestError(error.message) from None
        return parsed, _parse(await socket.receive(FIRST_MESSAGE_TIMEOUT_S))
    return None, data


async def _replay(socket: _Socket, services: JsonApiServices, matcher: Matcher,
                  readers: frozenset[str]) -> Offset:
    snapshot = await services.reader(socket.caller).active_contracts(readers, matcher.templates)
    visible = [c for c in snapshot.contracts if c.stakeholders & readers]
    events = matcher.frame_events(tuple(visible))
    for start in range(0, len(events), REPLAY_BLOCK):
        await socket.send({"events": events[start:start + REPLAY_BLOCK]})
    return snapshot.offset


async def _live(socket: _Socket, services: JsonApiServices, matcher: Matcher,
                readers: frozenset[str], begin: Offset) -> None:
    await socket.send({"events": [], "offset": begin or None})
    updates = services.reader(socket.caller).updates(readers, matcher.templates, begin, None)
    heartbeat_s = services.config.websocket_heartbeat_s
    last = begin
    async with _Prefetched(updates) as queue:
        while True:
            try:
                update = await asyncio.wait_for(queue.get(), heartbeat_s)
            except TimeoutError:
                await socket.send({"events": [], "offset": last or None})
                continue
            if isinstance(update, BaseException):
                raise update
            last = update.offset
            events = matcher.frame_events(update.events)
            if events:
                await socket.send({"events": events, "offset": update.offset})


class _Prefetched:
    """Reads an async iterator in a task into a queue, so waiting for it can time out."""

    def __init__(self, source: AsyncIterator[Any]) -> None:
        self.source = source
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=64)
        self.task: asyncio.Task[None] | None = None

    async def _pump(self) -> None:
        try:
            async for item in self.source:
                await self.queue.put(item)
        except Exception as error:
            await self.queue.put(error)

    async def __aenter__(self) -> asyncio.Queue[Any]:
        self.task = asyncio.ensure_future(self._pump())
        return self.queue

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def _stream(socket: _Socket, services: JsonApiServices, fetch: bool,
                  offset: Offset | None, data: Any) -> None:
    if fetch:
        matcher, unknown = await _fetch_matcher(services, socket.caller, data, offset is not None)
    else:
        matcher, unknown = await _query_matcher(services, socket.caller, data)
    if unknown:
        await socket.send({"warnings": {"unknownTemplateIds": unknown}})
    readers = socket.caller.readers(None)
    begin = offset if offset is not None else await _replay(socket, services, matcher, readers)
    await _live(socket, services, matcher, readers, begin)


async def _watch_for_more(socket: _Socket) -> None:
    """After the request, any message is a second request (an error); a disconnect ends
    the stream."""
    await socket.websocket.receive_text()
    raise StreamRequestError("Multiple requests over the same WebSocket connection are not "
                             "allowed.")


async def _serve(socket: _Socket, services: JsonApiServices, fetch: bool) -> None:
    offset, data = await _first_request(socket)
    tasks = [asyncio.ensure_future(_stream(socket, services, fetch, offset, data)),
             asyncio.ensure_future(_watch_for_more(socket))]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


async def _run(websocket: WebSocket, fetch: bool) -> None:
    socket = await _open(websocket)
    if socket is None:
        return
    try:
        await _serve(socket, websocket.app.state.services, fetch)
    except (WebSocketDisconnect, asyncio.CancelledError):
        pass
    except Exception as error:
        await _send_error(socket, error)


async def _send_error(socket: _Socket, error: BaseException) -> None:
    with contextlib.suppress(Exception):
        body = error_body(error)
        await socket.websocket.send_text(json.dumps(body))
        await socket.websocket.close(code=1011 if body["status"] >= 500 else 1008)


@router.websocket("/v1/stream/query")
async def stream_query(websocket: WebSocket) -> None:
    await _run(websocket, fetch=False)


@router.websocket("/v1/stream/fetch")
async def stream_fetch(websocket: WebSocket) -> None:
    await _run(websocket, fetch=True)
