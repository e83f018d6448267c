"""``/v1/parties`` (GET all, POST some) and ``/v1/parties/allocate``: the participant's party
management, with the caller's token (the participant decides who may list or allocate)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body
from fastapi.responses import JSONResponse

from minicanton.codec.gen.com.daml.ledger.api.v1.admin import party_management_service_pb2
from minicanton.json_api.caller import Caller
from minicanton.json_api.envelope import ok
from minicanton.json_api.requests import AllocatePartyRequest, PartyText
from minicanton.json_api.routes.common import Authenticated, Services, new_router
from minicanton.json_api.services import JsonApiServices

router = new_router("parties")


def party_json(details: party_management_service_pb2.PartyDetails) -> dict[str, Any]:
    body: dict[str, Any] = {"identifier": details.party, "isLocal": details.is_local}
    if details.display_name:
        body["displayName"] = details.display_name
    return body


@router.get("/v1/parties", summary="Every party the participant knows")
async def all_parties(caller: Caller = Authenticated,
                      services: JsonApiServices = Services) -> JSONResponse:
    parties = await services.bound(caller).known_parties()
    return ok([party_json(p) for p in parties])


@router.post("/v1/parties", summary="The given parties (unknown ones as a warning)")
async def some_parties(
        body: Annotated[list[PartyText], Body(min_length=1, max_length=1000)],
        caller: Caller = Authenticated, services: JsonApiServices = Services) -> JSONResponse:
    found = await services.bound(caller).parties(sorted(set(body)))
    known = {p.party for p in found}
    unknown = sorted(set(body) - known)
    return ok([party_json(p) for p in found], {"unknownParties": unknown} if unknown else None)


@router.post("/v1/parties/allocate", summary="Allocate a party on the participant")
async def allocate(body: AllocatePartyRequest, caller: Caller = Authenticated,
                   services: JsonApiServices = Services) -> JSONResponse:
    details = await services.bound(caller).allocate_party(body.identifierHint or "",
                                                          body.displayName or "")
    return ok(party_json(details))
