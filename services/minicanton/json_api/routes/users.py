"""``/v1/user``, ``/v1/users``, ``/v1/user/create``, ``/v1/user/delete`` and the rights
endpoints: the participant's user management in Daml's JSON shapes, with the caller's token."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from minicanton.codec.gen.com.daml.ledger.api.v1.admin import user_management_service_pb2 as pb
from minicanton.core.errors import InvalidArgument
from minicanton.json_api.caller import Caller
from minicanton.json_api.envelope import ok
from minicanton.json_api.requests import (
    CreateUserRequest,
    Right,
    UserIdRequest,
    UserRightsRequest,
)
from minicanton.json_api.routes.common import Authenticated, Services, new_router
from minicanton.json_api.services import JsonApiServices

router = new_router("users")


def user_json(user: pb.User) -> dict[str, Any]:
    body: dict[str, Any] = {"userId": user.id}
    if user.primary_party:
        body["primaryParty"] = user.primary_party
    return body


def right_to_proto(right: Right) -> pb.Right:
    if right.type == "CanActAs":
        return pb.Right(can_act_as=pb.Right.CanActAs(party=right.party or ""))
    if right.type == "CanReadAs":
        return pb.Right(can_read_as=pb.Right.CanReadAs(party=right.party or ""))
    if right.type == "ParticipantAdmin":
        return pb.Right(participant_admin=pb.Right.ParticipantAdmin())
    return pb.Right(identity_provider_admin=pb.Right.IdentityProviderAdmin())


def right_json(right: pb.Right) -> dict[str, Any]:
    kind = right.WhichOneof("kind")
    if kind == "can_act_as":
        return {"type": "CanActAs", "party": right.can_act_as.party}
    if kind == "can_read_as":
        return {"type": "CanReadAs", "party": right.can_read_as.party}
    if kind == "participant_admin":
        return {"type": "ParticipantAdmin"}
    return {"type": "IdentityProviderAdmin"}


def own_user(caller: Caller) -> str:
    if caller.claims.user_id is None:
        raise InvalidArgument("this endpoint needs a user token (one whose 'sub' names a user); "
                              "give the userId in a POST instead")
    return caller.claims.user_id


@router.get("/v1/user", summary="The user of the token")
async def current_user(caller: Caller = Authenticated,
                       services: JsonApiServices = Services) -> JSONResponse:
    return ok(user_json(await services.bound(caller).user(own_user(caller))))


@router.post("/v1/user", summary="A user")
async def user(body: UserIdRequest, caller: Caller = Authenticated,
               services: JsonApiServices = Services) -> JSONResponse:
    return ok(user_json(await services.bound(caller).user(body.userId)))


@router.get("/v1/users", summary="Every user")
async def users(caller: Caller = Authenticated,
                services: JsonApiServices = Services) -> JSONResponse:
    return ok([user_json(u) for u in await services.bound(caller).users()])


@router.post("/v1/user/create", summary="Create a user with rights")
async def create_user(body: CreateUserRequest, caller: Caller = Authenticated,
                      services: JsonApiServices = Services) -> JSONResponse:
    user = pb.User(id=body.userId, primary_party=body.primaryParty or "")
    await services.bound(caller).create_user(user, [right_to_proto(r) for r in body.rights])
    return ok({})


@router.post("/v1/user/delete", summary="Delete a user")
async def delete_user(body: UserIdRequest, caller: Caller = Authenticated,
                      services: JsonApiServices = Services) -> JSONResponse:
    await services.bound(caller).delete_user(body.userId)
    return ok({})


@router.get("/v1/user/rights", summary="The rights of the token's user")
async def own_rights(caller: Caller = Authenticated,
                     services: JsonApiServices = Services) -> JSONResponse:
    rights = await services.bound(caller).user_rights(own_user(caller))
    return ok([right_json(r) for r in rights])


@router.post("/v1/user/rights", summary="The rights of a user")
async def rights(body: UserIdRequest, caller: Caller = Authenticated,
                 services: JsonApiServices = Services) -> JSONResponse:
    return ok([right_json(r) for r in await services.bound(caller).user_rights(body.userId)])


@router.post("/v1/user/rights/grant", summary="Grant rights; answers those newly granted")
async def grant(body: UserRightsRequest, caller: Caller = Authenticated,
                services: JsonApiServices = Services) -> JSONResponse:
    granted = await services.bound(caller).grant(body.userId,
                                                 [right_to_proto(r) for r in body.rights])
    return ok([right_json(r) for r in granted])


@router.post("/v1/user/rights/revoke", summary="Revoke rights; answers those revoked")
async def revoke(body: UserRightsRequest, caller: Caller = Authenticated,
                 services: JsonApiServices = Services) -> JSONResponse:
    revoked = await services.bound(caller).revoke(body.userId,
                                                  [right_to_proto(r) for r in body.rights])
    return ok([right_json(r) for r in revoked])
