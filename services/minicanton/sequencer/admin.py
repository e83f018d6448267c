"""The operator's SequencerAdminService: members, domain limits, pruning, instance status.

Guarded by the static admin token from the config (compared in constant time). Pruning
removes what every enabled member acknowledged and is older than the retention; every member's
sequencer client acknowledges what its handler processed, so the point moves unless a member
is away (then expired dedup rows, tokens and challenges still go: sequencer_pruning).
"""

from __future__ import annotations

import logging

import grpc

from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_admin_pb2 as apb
from minicanton.core.errors import InvalidArgument
from minicanton.core.ids import MemberId, parse_member_id
from minicanton.core.sequencing.errors import AuthenticationFailed
from minicanton.runtime.clock import Clock
from minicanton.runtime.grpc_errors import bearer_matches
from minicanton.sequencer.limits import DomainLimits
from minicanton.sequencer.members import MemberCache
from minicanton.sequencer.service import parse, typed
from minicanton.store.sequencer import PruneResult, SequencerStore

log = logging.getLogger(__name__)
SERVICE = "minicanton.sequencer.v1.SequencerAdminService"


def prune_point_us(acknowledged_us: list[int], now_us: int, retention_ms: int) -> int:
    """Prune up to what every enabled member acknowledged and is older than the retention."""
    return min([now_us - retention_ms * 1_000, *acknowledged_us])


async def prune_now(store: SequencerStore, members: MemberCache, clock: Clock,
                    retention_ms: int) -> PruneResult:
    await members.reload()
    acknowledged = [r.acknowledged_us for r in members.directory.by_id.values() if r.enabled]
    now_us = clock()
    return await store.prune(prune_point_us(acknowledged, now_us, retention_ms), now_us)


class SequencerAdminService:
    def __init__(self, store: SequencerStore, members: MemberCache, clock: Clock,
                 node_index: int, admin_token: str, limits: DomainLimits) -> None:
        self._store = store
        self._limits = limits
        self._members = members
        self._clock = clock
        self._node_index = node_index
        self._admin_token = admin_token

    def handler(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(SERVICE, {
            name: grpc.unary_unary_rpc_method_handler(method) for name, method in {
                "RegisterMember": self.register_member, "DisableMember": self.disable_member,
                "ListMembers": self.list_members, "Prune": self.prune, "Status": self.status,
                "SetDomainLimits": self.set_domain_limits,
            }.items()
        })

    def _check_admin(self, context: grpc.aio.ServicerContext) -> None:
        if not bearer_matches(context.invocation_metadata(), self._admin_token):
            raise AuthenticationFailed("admin calls need 'authorization: Bearer <admin token>'")

    @typed
    async def register_member(self, raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
        self._check_admin(context)
        request = parse(apb.RegisterMemberRequest, raw)
        parse_member_id(request.member)
        if len(request.signing_public_key) != 32:
            raise InvalidArgument("signing_public_key must be a raw 32-byte Ed25519 key")
        new = await self._store.register_member(MemberId(request.member),
                                                request.signing_public_key)
        await self._members.reload()
        log.info("member %s %s", request.member, "registered" if new else "re-keyed")
        return apb.RegisterMemberResponse(newly_registered=new).SerializeToString()

    @typed
    async def disable_member(self, raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
        self._check_admin(context)
        request = parse(apb.DisableMemberRequest, raw)
        await self._store.disable_member(MemberId(request.member))
        await self._members.reload()
        log.info("member %s disabled", request.member)
        return apb.DisableMemberResponse().SerializeToString()

    @typed
    async def list_members(self, raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
        self._check_admin(context)
        parse(apb.ListMembersRequest, raw)
        records = sorted(await self._store.members(), key=lambda r: r.number)
        return apb.ListMembersResponse(members=[
            apb.MemberInfo(member=r.member, signing_public_key=r.public_key.raw,
                           enabled=r.enabled, acknowledged_timestamp_us=r.acknowledged_us)
            for r in records
        ]).SerializeToString()

    @typed
    async def set_domain_limits(self, raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
        self._check_admin(context)
        request = parse(apb.SetDomainLimitsRequest, raw)
        if request.max_request_size_bytes < 1024:
            raise InvalidArgument("max_request_size_bytes must be at least 1024")
        enforced = await self._limits.set_domain_value(request.max_request_size_bytes)
        return apb.SetDomainLimitsResponse(
            enforced_max_request_size_bytes=enforced).SerializeToString()

    @typed
    async def prune(self, raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
        self._check_admin(context)
        request = parse(apb.PruneRequest, raw)
        if request.retention_ms < 0:
            raise InvalidArgument("retention_ms must not be negative")
        result = await prune_now(self._store, self._members, self._clock, request.retention_ms)
        return apb.PruneResponse(pruned_up_to_timestamp_us=result.pruned_up_to_us,
                                 events_removed=result.events_removed).SerializeToString()

    @typed
    async def status(self, raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
        self._check_admin(context)
        parse(apb.StatusRequest, raw)
        return apb.StatusResponse(node_index=self._node_index, instances=[
            apb.InstanceStatus(node_index=m.node_index, watermark_us=m.watermark_us,
                               online=m.online)
            for m in await self._store.watermarks()
        ]).SerializeToString()
