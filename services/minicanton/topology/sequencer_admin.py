"""The topology manager's side of the sequencers' admin API (RegisterMember, DisableMember,
GetInfo). All instances of a domain's sequencer share one database, so one call to any
instance suffices; the next endpoint is tried when one is unreachable."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import grpc

from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_admin_pb2 as apb
from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_pb2 as pb
from minicanton.core.crypto.signing import SigningPublicKey
from minicanton.core.errors import MinicantonError
from minicanton.core.ids import MemberId
from minicanton.runtime.grpc_errors import error_id_of
from minicanton.topology.errors import SequencersUnreachable

log = logging.getLogger(__name__)
ADMIN = "/minicanton.sequencer.v1.SequencerAdminService/"
PUBLIC = "/minicanton.sequencer.v1.SequencerService/"


class SequencerAdminRefused(MinicantonError):
    """A sequencer refused an admin call for good (its error id is kept)."""

    error_id = "TOPOLOGY_SEQUENCER_REFUSED"
    grpc_status = "FAILED_PRECONDITION"


class SequencerAdmin:
    def __init__(self, endpoints: Sequence[str], admin_token: str | None,
                 timeout_s: float = 5.0) -> None:
        self._channels = [grpc.aio.insecure_channel(e) for e in endpoints]
        self._endpoints = list(endpoints)
        self._metadata = (("authorization", f"Bearer {admin_token}"),) if admin_token else ()
        self._timeout_s = timeout_s

    async def _call(self, path: str, request: bytes, *, admin: bool = True) -> bytes:
        last: grpc.aio.AioRpcError | None = None
        for channel, endpoint in zip(self._channels, self._endpoints, strict=True):
            try:
                return await channel.unary_unary(path)(  # type: ignore[no-any-return]
                    request, metadata=self._metadata if admin else (), timeout=self._timeout_s)
            except grpc.aio.AioRpcError as error:
                if error.code() not in (grpc.StatusCode.UNAVAILABLE,
                                        grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise SequencerAdminRefused(
                        f"sequencer {endpoint} refused {path.rsplit('/', 1)[-1]}: "
                        f"{error_id_of(error) or error.code().name}: {error.details()}"
                    ) from None
                log.info("sequencer %s unreachable: %s", endpoint, error.code().name)
                last = error
        raise SequencersUnreachable(
            f"no sequencer reachable at {', '.join(self._endpoints)}: "
            f"{last.details() if last else ''}")

    async def info(self) -> pb.SequencerInfo:
        raw = await self._call(PUBLIC + "GetInfo", pb.InfoRequest().SerializeToString(),
                               admin=False)
        info: pb.SequencerInfo = pb.SequencerInfo.FromString(raw)
        return info

    async def sequencer_ids(self) -> set[MemberId]:
        """The ids the reachable instances announce."""
        found = set()
        for channel in self._channels:
            try:
                raw = await channel.unary_unary(PUBLIC + "GetInfo")(
                    pb.InfoRequest().SerializeToString(), timeout=self._timeout_s)
            except grpc.aio.AioRpcError:
                continue
            found.add(MemberId(pb.SequencerInfo.FromString(raw).sequencer_id))
        return found

    async def set_max_request_size(self, size_bytes: int) -> int:
        """The domain's maximum request size, kept by the sequencers for every instance;
        what the answering instance now enforces (its configured ceiling may cap it)."""
        raw = await self._call(ADMIN + "SetDomainLimits", apb.SetDomainLimitsRequest(
            max_request_size_bytes=size_bytes).SerializeToString())
        return int(apb.SetDomainLimitsResponse.FromString(raw).enforced_max_request_size_bytes)

    async def register(self, member: MemberId, key: SigningPublicKey) -> bool:
        raw = await self._call(ADMIN + "RegisterMember", apb.RegisterMemberRequest(
            member=member, signing_public_key=key.raw).SerializeToString())
        return bool(apb.RegisterMemberResponse.FromString(raw).newly_registered)

    async def disable(self, member: MemberId) -> None:
        try:
            await self._call(ADMIN + "DisableMember",
                             apb.DisableMemberRequest(member=member).SerializeToString())
        except SequencerAdminRefused as error:
            if "SEQUENCER_UNKNOWN_MEMBER" not in error.message:
                raise

    async def members(self) -> dict[str, apb.MemberInfo]:
        raw = await self._call(ADMIN + "ListMembers", apb.ListMembersRequest().SerializeToString())
        return {m.member: m for m in apb.ListMembersResponse.FromString(raw).members}

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()
