"""The gRPC shell of the topology manager (minicanton.topology.v1.TopologyManagerAdminService).

Each RPC authenticates its caller (open, admin, or admin-or-member: see the proto), parses the
request into core values, calls the manager and maps the answer back. Typed errors become gRPC
statuses with their error id (`runtime.grpc_errors`); anything else is INTERNAL without a
trace. Every check runs before anything is sent or stored, so bad input changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal

import grpc
from google.protobuf.message import DecodeError

from minicanton.codec import topology as codec
from minicanton.codec.gen.minicanton.topology.v1 import topology_admin_pb2 as pb
from minicanton.codec.gen.minicanton.topology.v1 import topology_admin_pb2_grpc as pb_grpc
from minicanton.core.errors import InvalidArgument
from minicanton.core.ids import MemberId
from minicanton.core.topology.mappings import (
    MappingCode,
    MappingKey,
    ParticipantPermission,
    TrustLevel,
)
from minicanton.core.topology.snapshot import TopologySnapshot
from minicanton.core.topology.state import TopologyState
from minicanton.runtime.grpc_errors import run_typed
from minicanton.store.topology_store import OnboardingRecord, OnboardingState
from minicanton.topology.auth import Caller, RequestAuthenticator
from minicanton.topology.errors import PermissionDenied
from minicanton.topology.manager import ChangeOutcome, TopologyManager

log = logging.getLogger(__name__)
SERVICE = "minicanton.topology.v1.TopologyManagerAdminService"
FETCH_CHUNK = 500
Access = Literal["open", "admin", "member"]
_STATUS = {
    OnboardingState.PENDING: pb.ONBOARDING_STATUS_PENDING,
    OnboardingState.ADMITTED: pb.ONBOARDING_STATUS_ADMITTED,
    OnboardingState.REJECTED: pb.ONBOARDING_STATUS_REJECTED,
}


_METHODS = pb.DESCRIPTOR.services_by_name["TopologyManagerAdminService"].methods_by_name


def parse(method: str, raw: bytes) -> Any:
    """The request of `method` from the wire; garbage is a typed INVALID_ARGUMENT."""
    request_type = getattr(pb, _METHODS[method].input_type.name)
    try:
        return request_type.FromString(raw)
    except (DecodeError, ValueError):
        raise InvalidArgument(f"the request is not a {request_type.__name__}") from None


def rpc(access: Access) -> Callable[[Any], Any]:
    def decorate(method: Callable[[Any, Any, Caller], Awaitable[Any]]) -> Any:
        path = f"/{SERVICE}/{method.__name__}"

        async def wrapped(self: TopologyAdminService, request: Any,
                          context: grpc.aio.ServicerContext) -> Any:
            async def call() -> Any:
                parsed = parse(method.__name__, request) if isinstance(request, bytes) \
                    else request
                return await method(self, parsed, self.authenticate(context, path, parsed,
                                                                    access))
            return await run_typed(context, method.__name__, call)

        wrapped.__name__ = method.__name__
        return wrapped
    return decorate


def _change(outcome: ChangeOutcome) -> pb.TopologyChange:
    return codec.change_to_proto(outcome.transactions, outcome.sequenced_us,
                                 outcome.effective_us)


def _record(record: OnboardingRecord, state: TopologyState) -> pb.OnboardingRequestInfo:
    signed = codec.signed_transaction_from_bytes(record.key_mapping, "key_mapping")
    mapping = signed.transaction.mapping
    admissions = state.history(MappingKey(MappingCode.PARTICIPANT_STATE, record.participant))
    effective_us = admissions[-1].valid_from_us if (
        record.status is OnboardingState.ADMITTED and admissions) else 0
    return pb.OnboardingRequestInfo(
        effective_us=effective_us,
        participant=record.participant, status=_STATUS[record.status],
        signing_key_fingerprints=[k.fingerprint for k in getattr(mapping, "signing_keys", ())],
        encryption_key_fingerprints=[
            k.fingerprint for k in getattr(mapping, "encryption_keys", ())],
        permission=codec.permission_to_proto(ParticipantPermission(record.permission)),
        requested_at_us=record.requested_at_us,
        decided_at_us=record.decided_at_us or 0, reason=record.reason,
    )


def _serialize(message: Any) -> bytes:
    return message.SerializeToString()  # type: ignore[no-any-return]


class TopologyAdminService(pb_grpc.TopologyManagerAdminServiceServicer):
    def __init__(self, manager: TopologyManager, auth: RequestAuthenticator,
                 info: pb.DomainInfo) -> None:
        self.manager = manager
        self.auth = auth
        self.info = info

    def handler(self) -> grpc.GenericRpcHandler:
        """Raw-bytes handlers, so a request that is not even protobuf gets a typed error."""
        handlers = {}
        for name, method in _METHODS.items():
            implementation = getattr(self, name)
            make = (grpc.unary_stream_rpc_method_handler if method.server_streaming
                    else grpc.unary_unary_rpc_method_handler)
            handlers[name] = make(implementation, response_serializer=_serialize)
        return grpc.method_handlers_generic_handler(SERVICE, handlers)

    def authenticate(self, context: grpc.aio.ServicerContext, path: str, request: Any,
                     access: Access) -> Caller:
        if access == "open":
            return Caller(None)
        return self.auth.authenticate(context.invocation_metadata() or (), path, request,
                                      members=access == "member")

    def _snapshot(self, request: pb.ListRequest) -> TopologySnapshot:
        if request.as_of_us < 0:
            raise InvalidArgument("as_of_us must not be negative (0: head)")
        state = self.manager.state
        return state.head() if request.as_of_us == 0 else state.snapshot(request.as_of_us)

    # --- domain and onboarding ---------------------------------------------------------

    @rpc("open")
    async def GetDomainInfo(self, request: pb.GetDomainInfoRequest, caller: Caller) -> Any:
        return self.info

    @rpc("open")
    async def RequestOnboarding(self, request: pb.RequestOnboardingRequest,
                                caller: Caller) -> Any:
        permission = codec.permission_from_proto(request.permission)
        status, outcome = await self.manager.request_onboarding(request.key_mapping, permission)
        return pb.RequestOnboardingResponse(status=_STATUS[status], change=_change(outcome))

    @rpc("open")
    async def GetOnboardingStatus(self, request: pb.GetOnboardingStatusRequest,
                                  caller: Caller) -> Any:
        record = await self.manager.onboarding_status(request.participant)
        return _record(record, self.manager.state)

    @rpc("admin")
    async def ListOnboardingRequests(self, request: pb.ListOnboardingRequestsRequest,
                                     caller: Caller) -> Any:
        records = await self.manager.store.list_requests(request.pending_only)
        return pb.ListOnboardingRequestsResponse(requests=[
            _record(r, self.manager.state) for r in records])

    @rpc("admin")
    async def ApproveOnboarding(self, request: pb.ApproveOnboardingRequest,
                                caller: Caller) -> Any:
        level = codec.trust_level_from_proto(request.trust_level,
                                             default=TrustLevel.ORDINARY)
        outcome = await self.manager.admit(request.participant, level)
        return pb.ApproveOnboardingResponse(change=_change(outcome))

    @rpc("admin")
    async def RejectOnboarding(self, request: pb.RejectOnboardingRequest, caller: Caller) -> Any:
        await self.manager.reject(request.participant, request.reason)
        return pb.RejectOnboardingResponse()

    @rpc("admin")
    async def OffboardParticipant(self, request: pb.OffboardParticipantRequest,
                                  caller: Caller) -> Any:
        outcome = await self.manager.apply(lambda p: p.offboard(request.participant))
        return pb.OffboardParticipantResponse(change=_change(outcome))

    @rpc("admin")
    async def SetTrustLevel(self, request: pb.SetTrustLevelRequest, caller: Caller) -> Any:
        level = codec.trust_level_from_proto(request.trust_level)
        outcome = await self.manager.apply(lambda p: p.trust_level(request.participant, level))
        return pb.SetTrustLevelResponse(change=_change(outcome))

    @rpc("admin")
    async def AddDomainMember(self, request: pb.AddDomainMemberRequest, caller: Caller) -> Any:
        signed = codec.signed_transaction_from_bytes(request.key_mapping, "key_mapping")
        outcome = await self.manager.apply(lambda p: p.add_domain_member(signed),
                                           self.manager.register_mediators)
        return pb.AddDomainMemberResponse(change=_change(outcome))

    @rpc("admin")
    async def RemoveDomainMember(self, request: pb.RemoveDomainMemberRequest,
                                 caller: Caller) -> Any:
        outcome = await self.manager.apply(lambda p: p.remove_domain_member(request.member))
        return pb.RemoveDomainMemberResponse(change=_change(outcome))

    # --- parties, packages, keys, parameters -------------------------------------------

    @rpc("member")
    async def AllocateParty(self, request: pb.AllocatePartyRequest, caller: Caller) -> Any:
        hosts = codec.hosts_from_proto(request.hosts)
        outcome = await self.manager.apply(
            lambda p: p.party(request.party, hosts, requested_by=caller.member))
        return pb.AllocatePartyResponse(change=_change(outcome))

    @rpc("member")
    async def VetPackages(self, request: pb.VetPackagesRequest, caller: Caller) -> Any:
        ids = list(request.package_ids)
        outcome = await self.manager.apply(lambda p: p.vet(
            request.participant, ids, request.replace, requested_by=caller.member))
        return pb.VetPackagesResponse(change=_change(outcome))

    @rpc("member")
    async def PrepareKeyMapping(self, request: pb.PrepareKeyMappingRequest,
                                caller: Caller) -> Any:
        _own(caller, request.member)
        signing = [codec.signing_key_from_bytes(k) for k in request.add_signing_keys]
        encryption = [codec.encryption_key_from_bytes(k) for k in request.add_encryption_keys]
        tx = self.manager.planner().prepare_key_mapping(
            request.member, signing, encryption, list(request.remove_fingerprints))
        return pb.PrepareKeyMappingResponse(transaction=tx.to_bytes(), hash=tx.hash.hex,
                                            sign_with=[k.fingerprint for k in signing])

    @rpc("member")
    async def SubmitKeyMapping(self, request: pb.SubmitKeyMappingRequest, caller: Caller) -> Any:
        signed = codec.signed_transaction_from_bytes(request.signed_transaction,
                                                     "signed_transaction")
        outcome = await self.manager.apply(
            lambda p: p.submit_key_mapping(signed, requested_by=caller.member))
        return pb.SubmitKeyMappingResponse(change=_change(outcome))

    @rpc("member")
    async def RevokeKey(self, request: pb.RevokeKeyRequest, caller: Caller) -> Any:
        outcome = await self.manager.apply(lambda p: p.revoke_key(
            request.member, request.fingerprint, requested_by=caller.member))
        return pb.RevokeKeyResponse(change=_change(outcome))

    @rpc("admin")
    async def SetDomainParameters(self, request: pb.SetDomainParametersRequest,
                                  caller: Caller) -> Any:
        parameters = codec.parameters_change_from_proto(
            request, self.manager.state.head().parameters)
        outcome = await self.manager.apply(lambda p: p.parameters(parameters))
        return pb.SetDomainParametersResponse(change=_change(outcome),
                                              parameters=codec.parameters_to_proto(parameters))

    # --- reading -----------------------------------------------------------------------

    @rpc("member")
    async def ListParticipants(self, request: pb.ListRequest, caller: Caller) -> Any:
        return codec.participants_to_proto(self._snapshot(request), request.filter)

    @rpc("member")
    async def ListParties(self, request: pb.ListRequest, caller: Caller) -> Any:
        return codec.parties_to_proto(self._snapshot(request), request.filter)

    @rpc("member")
    async def ListKeys(self, request: pb.ListRequest, caller: Caller) -> Any:
        return codec.keys_to_proto(self._snapshot(request), request.filter)

    @rpc("member")
    async def ListMediators(self, request: pb.ListRequest, caller: Caller) -> Any:
        return codec.members_to_proto(self._snapshot(request).mediators(), request.filter)

    @rpc("member")
    async def ListSequencers(self, request: pb.ListRequest, caller: Caller) -> Any:
        return codec.members_to_proto(self._snapshot(request).sequencers(), request.filter)

    @rpc("member")
    async def ListVettedPackages(self, request: pb.ListRequest, caller: Caller) -> Any:
        return codec.vetted_to_proto(self._snapshot(request), request.filter)

    @rpc("member")
    async def GetDomainParameters(self, request: pb.ListRequest, caller: Caller) -> Any:
        parameters = self._snapshot(request).parameters
        return pb.GetDomainParametersResponse(parameters=codec.parameters_to_proto(parameters))

    async def FetchTopologyState(self, request: pb.FetchTopologyStateRequest,
                                 context: grpc.aio.ServicerContext
                                 ) -> AsyncIterator[pb.FetchTopologyStateResponse]:
        path = f"/{SERVICE}/FetchTopologyState"

        async def fetch() -> tuple[Any, int]:
            parsed = parse("FetchTopologyState", request) if isinstance(request, bytes) \
                else request
            self.authenticate(context, path, parsed, "member")
            if parsed.known_up_to_us < 0:
                raise InvalidArgument("known_up_to_us must not be negative")
            return await self.manager.accepted_up_to(parsed.known_up_to_us)

        stored, known_us = await run_typed(context, "FetchTopologyState", fetch)
        for start in range(0, max(len(stored), 1), FETCH_CHUNK):
            yield pb.FetchTopologyStateResponse(
                transactions=[codec.stored_to_proto(s) for s in stored[start:start + FETCH_CHUNK]],
                known_up_to_us=known_us)


def _own(caller: Caller, member: str) -> None:
    if caller.member is not None and caller.member != MemberId(member):
        raise PermissionDenied(f"{caller.member} may only change its own keys")
