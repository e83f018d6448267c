"""UserManagementService on the participant's admin store.

Participant admins may do everything; any authenticated user may read itself (GetUser and
ListUserRights with its own id or an empty one), as Daml allows. Rights are participant admin,
can-act-as and can-read-as a party; identity-provider admin is refused (minicanton has one
identity provider).

Every write tells the backend which user it touched (`user_rights_changed`, also when the
write fails: it may have committed before the error), so user tokens and open streams see the
change at once instead of when the rights cache expires.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterable, Iterator

import grpc

from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    user_management_service_pb2 as user_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    user_management_service_pb2_grpc as user_grpc,
)
from minicanton.participant.ledger_api.errors import invalid_field, missing_field
from minicanton.participant.ledger_api.paging import (
    decode_page_token,
    next_page_token,
    page_size,
)
from minicanton.participant.ledger_api.rpc import LedgerApiService, unary
from minicanton.runtime.auth import AuthorizedClaims
from minicanton.store.postgres.participant_admin_store import UserRight, UserRow

USER_ID = re.compile(r"[A-Za-z0-9@^$.!`\-#+'~_|:]{1,128}")
MAX_RIGHTS_PER_USER = 1000


def user_to_proto(row: UserRow) -> user_pb2.User:
    return user_pb2.User(id=row.user_id, primary_party=row.primary_party,
                         is_deactivated=row.is_deactivated)


def right_to_proto(right: UserRight) -> user_pb2.Right:
    if right.kind == "participant_admin":
        return user_pb2.Right(participant_admin=user_pb2.Right.ParticipantAdmin())
    if right.kind == "can_act_as":
        return user_pb2.Right(can_act_as=user_pb2.Right.CanActAs(party=right.party))
    return user_pb2.Right(can_read_as=user_pb2.Right.CanReadAs(party=right.party))


def rights_from_proto(rights: Iterable[user_pb2.Right]) -> list[UserRight]:
    found = []
    for position, pb in enumerate(rights):
        which = pb.WhichOneof("kind")
        path = f"rights[{position}]"
        if which == "participant_admin":
            found.append(UserRight("participant_admin"))
        elif which in ("can_act_as", "can_read_as"):
            party = getattr(pb, which).party
            if not party:
                raise missing_field(f"{path}.{which}.party")
            found.append(UserRight(which, party))
        elif which == "identity_provider_admin":
            raise invalid_field(path, "identity provider admin rights are not supported")
        else:
            raise missing_field(f"{path}.kind")
    if len(found) > MAX_RIGHTS_PER_USER:
        raise invalid_field("rights", f"at most {MAX_RIGHTS_PER_USER} rights per request")
    return found


def checked_user_id(user_id: str, name: str = "user_id") -> str:
    if not user_id:
        raise missing_field(name)
    if not USER_ID.fullmatch(user_id):
        raise invalid_field(name, f"{user_id[:140]!r} is not a valid user id")
    return user_id


class UserManagementService(LedgerApiService, user_grpc.UserManagementServiceServicer):
    @unary()
    async def CreateUser(self, request: user_pb2.CreateUserRequest,
                         context: grpc.aio.ServicerContext) -> user_pb2.CreateUserResponse:
        await self.admin_claims(context)
        if not request.HasField("user"):
            raise missing_field("user")
        user = request.user
        row = UserRow(checked_user_id(user.id, "user.id"), user.primary_party,
                      user.is_deactivated, int(time.time() * 1_000_000))
        with self._changing(row.user_id):
            await self.backend.admin.create_user(row, rights_from_proto(request.rights))
        return user_pb2.CreateUserResponse(user=user_to_proto(row))

    @unary()
    async def GetUser(self, request: user_pb2.GetUserRequest,
                      context: grpc.aio.ServicerContext) -> user_pb2.GetUserResponse:
        user_id = self._self_or_admin(await self.claims(context), request.user_id)
        return user_pb2.GetUserResponse(user=user_to_proto(await self.backend.admin.get_user(
            user_id)))

    @unary()
    async def DeleteUser(self, request: user_pb2.DeleteUserRequest,
                         context: grpc.aio.ServicerContext) -> user_pb2.DeleteUserResponse:
        await self.admin_claims(context)
        user_id = checked_user_id(request.user_id)
        with self._changing(user_id):
            await self.backend.admin.delete_user(user_id)
        return user_pb2.DeleteUserResponse()

    @unary()
    async def ListUsers(self, request: user_pb2.ListUsersRequest,
                        context: grpc.aio.ServicerContext) -> user_pb2.ListUsersResponse:
        await self.admin_claims(context)
        size = page_size(request.page_size)
        rows = await self.backend.admin.list_users(decode_page_token(request.page_token), size)
        return user_pb2.ListUsersResponse(
            users=[user_to_proto(r) for r in rows],
            next_page_token=next_page_token([r.user_id for r in rows], size),
        )

    @unary()
    async def GrantUserRights(self, request: user_pb2.GrantUserRightsRequest,
                              context: grpc.aio.ServicerContext
                              ) -> user_pb2.GrantUserRightsResponse:
        await self.admin_claims(context)
        user_id, rights = checked_user_id(request.user_id), rights_from_proto(request.rights)
        with self._changing(user_id):
            granted = await self.backend.admin.grant_rights(user_id, rights)
        return user_pb2.GrantUserRightsResponse(
            newly_granted_rights=[right_to_proto(r) for r in granted])

    @unary()
    async def RevokeUserRights(self, request: user_pb2.RevokeUserRightsRequest,
                               context: grpc.aio.ServicerContext
                               ) -> user_pb2.RevokeUserRightsResponse:
        await self.admin_claims(context)
        user_id, rights = checked_user_id(request.user_id), rights_from_proto(request.rights)
        with self._changing(user_id):
            revoked = await self.backend.admin.revoke_rights(user_id, rights)
        return user_pb2.RevokeUserRightsResponse(
            newly_revoked_rights=[right_to_proto(r) for r in revoked])

    @unary()
    async def ListUserRights(self, request: user_pb2.ListUserRightsRequest,
                             context: grpc.aio.ServicerContext
                             ) -> user_pb2.ListUserRightsResponse:
        user_id = self._self_or_admin(await self.claims(context), request.user_id)
        rights = await self.backend.admin.list_rights(user_id)
        return user_pb2.ListUserRightsResponse(rights=[right_to_proto(r) for r in rights])

    @contextlib.contextmanager
    def _changing(self, user_id: str) -> Iterator[None]:
        try:
            yield
        finally:
            self.backend.user_rights_changed(user_id)

    @staticmethod
    def _self_or_admin(claims: AuthorizedClaims, requested: str) -> str:
        """The user to read: the requested one (admins, or a user reading itself), or the
        token's own user when the request names none."""
        if not requested:
            if claims.user_id is None:
                raise missing_field("user_id")
            return claims.user_id
        if requested != claims.user_id:
            claims.check_admin()
        return checked_user_id(requested)
