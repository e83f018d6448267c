"""The JSON API's client of ONE participant's gRPC Ledger API, forwarding each caller's token.

`LedgerClient` owns the channel and the stubs; `client.bound(token)` is one caller's view of
the ledger, whose every call carries ``authorization: Bearer <token>`` so the participant
authorizes it exactly as it would the caller itself. Failures come back as `LedgerError`
(the gRPC code, the participant's message and Daml's error details from the
``google.rpc.Status`` trailer), which the HTTP layer maps to a status and a ``ledgerApiError``.
Translation between these protobufs and the JSON API's JSON lives in `translate.py`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    active_contracts_service_pb2 as acs_pb,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    active_contracts_service_pb2_grpc as acs_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import command_service_pb2 as command_pb
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    command_service_pb2_grpc as command_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    commands_pb2,
    event_pb2,
    transaction_filter_pb2,
    transaction_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import ledger_offset_pb2 as offset_pb
from minicanton.codec.gen.com.daml.ledger.api.v1 import package_service_pb2 as package_pb
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    package_service_pb2_grpc as package_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import transaction_service_pb2 as tx_pb
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    transaction_service_pb2_grpc as tx_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    package_management_service_pb2 as management_pb,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    package_management_service_pb2_grpc as management_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    party_management_service_pb2 as party_pb,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    party_management_service_pb2_grpc as party_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    user_management_service_pb2 as user_pb,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    user_management_service_pb2_grpc as user_grpc,
)
from minicanton.codec.ledger_api_values import identifier_to_proto
from minicanton.core.errors import MinicantonError
from minicanton.core.lf.identifier import Identifier
from minicanton.core.protocol.offsets import Offset

STATUS_DETAILS_KEY = "grpc-status-details-bin"
MAX_MESSAGE_BYTES = 64 << 20


class LedgerError(MinicantonError):
    """A failed Ledger API call, as the participant answered it."""

    def __init__(self, code: grpc.StatusCode, message: str, error_id: str | None,
                 details: list[dict[str, Any]]) -> None:
        super().__init__(message, error_id=error_id or code.name)
        self.code = code
        self.details = details

    def ledger_api_error(self) -> dict[str, Any]:
        """Daml's ``ledgerApiError`` object: the gRPC code number, message and details."""
        return {"code": self.code.value[0], "message": self.message, "details": self.details}


def _details(error: grpc.aio.AioRpcError) -> tuple[str | None, list[dict[str, Any]]]:
    raw = next((value for key, value in error.trailing_metadata() or ()
                if key == STATUS_DETAILS_KEY), None)
    if not isinstance(raw, bytes):
        return None, []
    status = status_pb2.Status()
    try:
        status.ParseFromString(raw)
    except Exception:  # a garbled trailer must not hide the error itself
        return None, []
    error_id: str | None = None
    details: list[dict[str, Any]] = []
    for packed in status.details:
        info = error_details_pb2.ErrorInfo()
        request = error_details_pb2.RequestInfo()
        if packed.Unpack(info):
            error_id = info.reason
            details.append({"t": "ErrorInfoDetail", "errorCodeId": info.reason,
                            "metadata": dict(info.metadata)})
        elif packed.Unpack(request):
            details.append({"t": "RequestInfoDetail", "correlationId": request.request_id})
    return error_id, details


def ledger_error(error: grpc.aio.AioRpcError) -> LedgerError:
    error_id, details = _details(error)
    return LedgerError(error.code(), error.details() or error.code().name, error_id, details)


def party_filter(parties: Iterable[str], templates: Iterable[Identifier] | None
                 ) -> transaction_filter_pb2.TransactionFilter:
    """Each party wants `templates` (None: every template, Daml's wildcard)."""
    if templates is None:
        filters = transaction_filter_pb2.Filters()
    else:
        filters = transaction_filter_pb2.Filters(
            inclusive=transaction_filter_pb2.InclusiveFilters(template_filters=[
                transaction_filter_pb2.TemplateFilter(template_id=identifier_to_proto(t))
                for t in sorted(set(templates))]))
    return transaction_filter_pb2.TransactionFilter(
        filters_by_party={party: filters for party in sorted(set(parties))})


@dataclass(frozen=True, slots=True)
class Submitted:
    transaction: transaction_pb2.TransactionTree
    completion_offset: Offset


class LedgerClient:
    def __init__(self, endpoint: str, ledger_id: str = "", *, timeout_s: float = 30.0,
                 command_timeout_s: float = 60.0) -> None:
        options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                   ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)]
        self.endpoint = endpoint
        self.ledger_id = ledger_id
        self.timeout_s = timeout_s
        self.command_timeout_s = command_timeout_s
        self.channel = grpc.aio.insecure_channel(endpoint, options=options)
        self.commands = command_grpc.CommandServiceStub(self.channel)
        self.acs = acs_grpc.ActiveContractsServiceStub(self.channel)
        self.transactions = tx_grpc.TransactionServiceStub(self.channel)
        self.packages = package_grpc.PackageServiceStub(self.channel)
        self.management = management_grpc.PackageManagementServiceStub(self.channel)
        self.parties = party_grpc.PartyManagementServiceStub(self.channel)
        self.users = user_grpc.UserManagementServiceStub(self.channel)
        self.health = health_pb2_grpc.HealthStub(self.channel)

    async def close(self) -> None:
        await self.channel.close()

    def bound(self, token: str) -> BoundLedger:
        return BoundLedger(self, token)

    async def serving(self) -> bool:
        """Whether the participant answers its gRPC health check with SERVING."""
        try:
            response = await self.health.Check(health_pb2.HealthCheckRequest(service=""),
                                               timeout=2)
        except grpc.aio.AioRpcError:
            return False
        return bool(response.status == health_pb2.HealthCheckResponse.SERVING)


class BoundLedger:
    """One caller's Ledger API: every call forwards the caller's token."""

    def __init__(self, client: LedgerClient, token: str) -> None:
        self._client = client
        self._metadata = (("authorization", f"Bearer {token}"),)

    async def _unary(self, method: Any, request: Any, timeout_s: float | None = None) -> Any:
        try:
            return await method(request, metadata=self._metadata,
                                timeout=timeout_s or self._client.timeout_s)
        except grpc.aio.AioRpcError as error:
            raise ledger_error(error) from None

    # -------------------------------------------------------------------------- commands

    async def submit(self, commands: commands_pb2.Commands) -> Submitted:
        commands.ledger_id = self._client.ledger_id
        response = await self._unary(
            self._client.commands.SubmitAndWaitForTransactionTree,
            command_pb.SubmitAndWaitRequest(commands=commands), self._client.command_timeout_s)
        return Submitted(response.transaction, Offset(response.completion_offset))

    # ------------------------------------------------------------------------------- reads

    async def ledger_end(self) -> Offset:
        response = await self._unary(self._client.transactions.GetLedgerEnd,
                                     tx_pb.GetLedgerEndRequest(ledger_id=self._client.ledger_id))
        return Offset(response.offset.absolute)

    async def active_contracts(self, filter_: transaction_filter_pb2.TransactionFilter
                               ) -> tuple[Offset, list[event_pb2.CreatedEvent]]:
        request = acs_pb.GetActiveContractsRequest(ledger_id=self._client.ledger_id,
                                                   filter=filter_, verbose=True)
        offset, created = Offset(""), []
        try:
            async for response in self._client.acs.GetActiveContracts(
                    request, metadata=self._metadata, timeout=self._client.timeout_s):
                created.extend(response.active_contracts)
                if response.offset:
                    offset = Offset(response.offset)
        except grpc.aio.AioRpcError as error:
            raise ledger_error(error) from None
        return offset, created

    async def transactions(self, filter_: transaction_filter_pb2.TransactionFilter,
                           begin: Offset, end: Offset | None
                           ) -> AsyncIterator[transaction_pb2.Transaction]:
        """Flat transactions after `begin` up to `end` (None: follow the ledger for ever)."""
        request = tx_pb.GetTransactionsRequest(
            ledger_id=self._client.ledger_id, filter=filter_, verbose=True, begin=_offset(begin))
        if end is not None:
            request.end.CopyFrom(offset_pb.LedgerOffset(absolute=end))
        timeout = self._client.timeout_s if end is not None else None
        try:
            async for response in self._client.transactions.GetTransactions(
                    request, metadata=self._metadata, timeout=timeout):
                for transaction in response.transactions:
                    yield transaction
        except grpc.aio.AioRpcError as error:
            raise ledger_error(error) from None

    # ---------------------------------------------------------------------------- packages

    async def package_ids(self) -> list[str]:
        response = await self._unary(self._client.packages.ListPackages,
                                     package_pb.ListPackagesRequest(
                                         ledger_id=self._client.ledger_id))
        return list(response.package_ids)

    async def package_source(self, package_id: str) -> bytes | None:
        try:
            response = await self._unary(self._client.packages.GetPackage,
                                         package_pb.GetPackageRequest(
                                             ledger_id=self._client.ledger_id,
                                             package_id=package_id))
        except LedgerError as error:
            if error.code == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return bytes(response.archive_payload)

    async def upload(self, archive: bytes, submission_id: str) -> None:
        await self._unary(self._client.management.UploadDarFile,
                          management_pb.UploadDarFileRequest(dar_file=archive,
                                                             submission_id=submission_id))

    # ----------------------------------------------------------------------------- parties

    async def participant_id(self) -> str:
        response = await self._unary(self._client.parties.GetParticipantId,
                                     party_pb.GetParticipantIdRequest())
        return str(response.participant_id)

    async def known_parties(self) -> list[party_pb.PartyDetails]:
        found: list[party_pb.PartyDetails] = []
        token = ""
        while True:
            response = await self._unary(self._client.parties.ListKnownParties,
                                         party_pb.ListKnownPartiesRequest(page_token=token))
            found.extend(response.party_details)
            token = response.next_page_token
            if not token:
                return found

    async def parties(self, parties: Sequence[str]) -> list[party_pb.PartyDetails]:
        response = await self._unary(self._client.parties.GetParties,
                                     party_pb.GetPartiesRequest(parties=list(parties)))
        return list(response.party_details)

    async def allocate_party(self, hint: str, display_name: str) -> party_pb.PartyDetails:
        response = await self._unary(self._client.parties.AllocateParty,
                                     party_pb.AllocatePartyRequest(party_id_hint=hint,
                                                                   display_name=display_name))
        return response.party_details

    # ------------------------------------------------------------------------------- users

    async def create_user(self, user: user_pb.User, rights: Sequence[user_pb.Right]) -> None:
        await self._unary(self._client.users.CreateUser,
                          user_pb.CreateUserRequest(user=user, rights=list(rights)))

    async def user(self, user_id: str) -> user_pb.User:
        response = await self._unary(self._client.users.GetUser,
                                     user_pb.GetUserRequest(user_id=user_id))
        return response.user

    async def delete_user(self, user_id: str) -> None:
        await self._unary(self._client.users.DeleteUser,
                          user_pb.DeleteUserRequest(user_id=user_id))

    async def users(self) -> list[user_pb.User]:
        found: list[user_pb.User] = []
        token = ""
        while True:
            response = await self._unary(self._client.users.ListUsers,
                                         user_pb.ListUsersRequest(page_token=token))
            found.extend(response.users)
            token = response.next_page_token
            if not token:
                return found

    async def user_rights(self, user_id: str) -> list[user_pb.Right]:
        response = await self._unary(self._client.users.ListUserRights,
                                     user_pb.ListUserRightsRequest(user_id=user_id))
        return list(response.rights)

    async def grant(self, user_id: str, rights: Sequence[user_pb.Right]) -> list[user_pb.Right]:
        response = await self._unary(self._client.users.GrantUserRights,
                                     user_pb.GrantUserRightsRequest(user_id=user_id,
                                                                    rights=list(rights)))
        return list(response.newly_granted_rights)

    async def revoke(self, user_id: str, rights: Sequence[user_pb.Right]) -> list[user_pb.Right]:
        response = await self._unary(self._client.users.RevokeUserRights,
                                     user_pb.RevokeUserRightsRequest(user_id=user_id,
                                                                     rights=list(rights)))
        return list(response.newly_revoked_rights)


def _offset(offset: Offset) -> offset_pb.LedgerOffset:
    if offset == "":
        return offset_pb.LedgerOffset(boundary=offset_pb.LedgerOffset.LEDGER_BEGIN)
    return offset_pb.LedgerOffset(absolute=offset)


def deduplication_duration(milliseconds: int) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=milliseconds // 1000,
                                 nanos=(milliseconds % 1000) * 1_000_000)
