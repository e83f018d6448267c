"""The auditor API (minicanton.mediator.v1.MediatorAuditorService): every message the mediator
received, by request id or by time range, and the verdicts it sent.

Every call needs ``authorization: Bearer <admin token>`` (the static token from the config,
compared in constant time). Typed errors map to gRPC statuses at this boundary only.
"""

from __future__ import annotations

import logging
from typing import TypeVar

import grpc

from minicanton.codec.gen.minicanton.mediator.v1 import mediator_auditor_pb2 as pb
from minicanton.codec.gen.minicanton.mediator.v1 import mediator_auditor_pb2_grpc as pb_grpc
from minicanton.codec.mediator import audited_message_to_proto, verdict_to_proto
from minicanton.core.errors import InvalidArgument, MinicantonError
from minicanton.runtime.grpc_errors import bearer_matches, typed_rpc
from minicanton.store.mediator_store import MediatorStore

log = logging.getLogger(__name__)
SERVICE = "minicanton.mediator.v1.MediatorAuditorService"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
R = TypeVar("R")


class AuditorUnauthenticated(MinicantonError):
    error_id = "MEDIATOR_AUDITOR_UNAUTHENTICATED"
    grpc_status = "UNAUTHENTICATED"


class MediatorAuditorService(pb_grpc.MediatorAuditorServiceServicer):
    def __init__(self, store: MediatorStore, admin_token: str) -> None:
        if not admin_token:
            raise InvalidArgument("the auditor API needs a non-empty admin token")
        self._store = store
        self._admin_token = admin_token

    def _check_admin(self, context: grpc.aio.ServicerContext) -> None:
        if not bearer_matches(context.invocation_metadata(), self._admin_token):
            raise AuditorUnauthenticated(
                "auditor calls need 'authorization: Bearer <admin token>'")

    @typed_rpc
    async def GetRequest(
        self, request: pb.GetRequestRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetRequestResponse:
        self._check_admin(context)
        if request.request_id_us <= 0:
            raise InvalidArgument("request_id_us must be a request's sequencing timestamp")
        messages = await self._store.messages_for_request(request.request_id_us)
        verdict = await self._store.verdict(request.request_id_us)
        response = pb.GetRequestResponse(messages=[audited_message_to_proto(m) for m in messages])
        if verdict is not None:
            response.verdict.CopyFrom(verdict_to_proto(verdict))
        return response

    @typed_rpc
    async def ListMessages(
        self, request: pb.ListMessagesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMessagesResponse:
        self._check_admin(context)
        limit = request.limit or DEFAULT_LIMIT
        if not 0 < limit <= MAX_LIMIT:
            raise InvalidArgument(f"limit must be in 1..{MAX_LIMIT}, got {request.limit}")
        if request.from_us > request.to_us:
            raise InvalidArgument("from_us must not be after to_us")
        messages = await self._store.messages_between(request.from_us, request.to_us, limit)
        return pb.ListMessagesResponse(messages=[audited_message_to_proto(m) for m in messages])


def add_auditor_service(server: grpc.aio.Server, service: MediatorAuditorService) -> None:
    pb_grpc.add_MediatorAuditorServiceServicer_to_server(service, server)  # type: ignore[no-untyped-call]
