"""A client of the topology manager's API, for the domain admin (CLI) and for members.

A member (a participant allocating a party, vetting a package, rotating its key, or fetching
the topology when it joins late) calls as itself: each call is signed with its current signing
key (see the proto's header); the domain admin presents the admin token. Failures raise
`TopologyCallFailed` with the server's Daml-style error id and gRPC status.

The participant's flows, in short:
- join: `request_onboarding(initial_key_mapping(participant_id, [key], [encryption_key]))`
  (no credentials needed: the key mapping carries the proof of possession); then, on a
  permissioned domain, poll `onboarding_status` until an admin approves;
- `allocate_party(party, [(participant_id, SUBMISSION)])`, `vet_packages(participant_id, ids)`;
- `rotate_key(member, new_key)` then `revoke_key(member, old_fingerprint)`;
- before processing its first event at T0: `fetch_state(T0 - 1)`, fed to
  `TopologyClient.bootstrap(..., before_us=T0)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc

from minicanton.codec.gen.minicanton.topology.v1 import topology_admin_pb2 as pb
from minicanton.codec.gen.minicanton.topology.v1 import topology_admin_pb2_grpc as pb_grpc
from minicanton.codec.topology import (
    MEMBER_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    member_request_hash,
    permission_to_proto,
    signature_to_header,
    trust_level_to_proto,
)
from minicanton.core.crypto.encryption import EncryptionPublicKey
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.errors import MinicantonError
from minicanton.core.hashing import HashPurpose
from minicanton.core.ids import MemberId
from minicanton.core.topology.mappings import ParticipantPermission, TrustLevel
from minicanton.core.topology.transactions import SignedTopologyTransaction, TopologyTransaction
from minicanton.runtime.clock import Clock, wall_clock_us
from minicanton.runtime.grpc_errors import error_id_of

SERVICE = "minicanton.topology.v1.TopologyManagerAdminService"


class TopologyCallFailed(MinicantonError):
    """A call to the topology manager failed; `error_id` is the server's."""

    def __init__(self, error_id: str, status: grpc.StatusCode, details: str) -> None:
        prefix = f"{error_id}: "
        super().__init__(details[len(prefix):] if details.startswith(prefix) else details,
                         error_id=error_id)
        self.status = status


def _change(response: Any) -> pb.TopologyChange:
    change: pb.TopologyChange = response.change
    return change


class TopologyAdminClient:
    def __init__(self, endpoint: str, *, admin_token: str | None = None,
                 member: MemberId | None = None, member_key: SigningKeyPair | None = None,
                 domain_id: str | None = None, timeout_s: float = 30.0,
                 clock: Clock = wall_clock_us) -> None:
        self.channel = grpc.aio.insecure_channel(endpoint)
        self.stub = pb_grpc.TopologyManagerAdminServiceStub(self.channel)  # type: ignore[no-untyped-call]
        self._admin_token = admin_token
        self.member = member
        self.member_key = member_key
        self._domain_id = domain_id
        self._timeout_s = timeout_s
        self._clock = clock

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> TopologyAdminClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # --- plumbing ----------------------------------------------------------------------

    async def _metadata(self, method: str, request: Any) -> tuple[tuple[str, str], ...]:
        if self._admin_token is not None:
            return (("authorization", f"Bearer {self._admin_token}"),)
        if self.member is None or self.member_key is None:
            return ()
        if self._domain_id is None:
            self._domain_id = (await self.domain_info()).domain_id
        timestamp_us = self._clock()
        digest = member_request_hash(self._domain_id, f"/{SERVICE}/{method}", self.member,
                                     timestamp_us, request.SerializeToString(deterministic=True))
        signature = self.member_key.sign(digest, HashPurpose.AUTH_CHALLENGE)
        return ((MEMBER_HEADER, self.member), (TIMESTAMP_HEADER, str(timestamp_us)),
                (SIGNATURE_HEADER, signature_to_header(signature)))

    async def call(self, method: str, request: Any) -> Any:
        """Any unary RPC by name, authenticated as configured."""
        metadata = await self._metadata(method, request)
        try:
            return await getattr(self.stub, method)(request, metadata=metadata,
                                                    timeout=self._timeout_s)
        except grpc.aio.AioRpcError as error:
            raise TopologyCallFailed(error_id_of(error) or error.code().name, error.code(),
                                     error.details() or "") from None

    # --- domain and onboarding ---------------------------------------------------------

    async def domain_info(self) -> pb.DomainInfo:
        try:
            info: pb.DomainInfo = await self.stub.GetDomainInfo(pb.GetDomainInfoRequest(),
                                                                timeout=self._timeout_s)
            return info
        except grpc.aio.AioRpcError as error:
            raise TopologyCallFailed(error_id_of(error) or error.code().name, error.code(),
                                     error.details() or "") from None

    async def request_onboarding(
        self, key_mapping: SignedTopologyTransaction,
        permission: ParticipantPermission = ParticipantPermission.SUBMISSION,
    ) -> pb.RequestOnboardingResponse:
        response: pb.RequestOnboardingResponse = await self.call(
            "RequestOnboarding", pb.RequestOnboardingRequest(
                key_mapping=key_mapping.to_bytes(), permission=permission_to_proto(permission)))
        return response

    async def onboarding_status(self, participant: str) -> pb.OnboardingRequestInfo:
        info: pb.OnboardingRequestInfo = await self.call(
            "GetOnboardingStatus", pb.GetOnboardingStatusRequest(participant=participant))
        return info

    async def approve(self, participant: str,
                      trust_level: TrustLevel = TrustLevel.ORDINARY) -> pb.TopologyChange:
        response = await self.call("ApproveOnboarding", pb.ApproveOnboardingRequest(
            participant=participant, trust_level=trust_level_to_proto(trust_level)))
        return _change(response)

    async def set_trust_level(self, participant: str, level: TrustLevel) -> pb.TopologyChange:
        response = await self.call("SetTrustLevel", pb.SetTrustLevelRequest(
            participant=participant, trust_level=trust_level_to_proto(level)))
        return _change(response)

    async def add_domain_member(self, key_mapping: SignedTopologyTransaction) -> pb.TopologyChange:
        """Make a mediator or sequencer active (its member-signed key mapping)."""
        response = await self.call("AddDomainMember", pb.AddDomainMemberRequest(
            key_mapping=key_mapping.to_bytes()))
        return _change(response)

    async def remove_domain_member(self, member: str) -> pb.TopologyChange:
        response = await self.call("RemoveDomainMember",
                                   pb.RemoveDomainMemberRequest(member=member))
        return _change(response)

    # --- parties and packages ----------------------------------------------------------

    async def allocate_party(
        self, party: str, hosts: Sequence[tuple[str, ParticipantPermission]]
    ) -> pb.TopologyChange:
        response = await self.call("AllocateParty", pb.AllocatePartyRequest(party=party, hosts=[
            pb.HostingParticipant(participant=p, permission=permission_to_proto(permission))
            for p, permission in hosts]))
        return _change(response)

    async def vet_packages(self, participant: str, package_ids: Sequence[str],
                           replace: bool = False) -> pb.TopologyChange:
        response = await self.call("VetPackages", pb.VetPackagesRequest(
            participant=participant, package_ids=list(package_ids), replace=replace))
        return _change(response)

    # --- keys --------------------------------------------------------------------------

    async def prepare_key_mapping(
        self, member: str, add_signing: Sequence[SigningKeyPair] = (),
        add_encryption: Sequence[EncryptionPublicKey] = (), remove: Sequence[str] = (),
    ) -> TopologyTransaction:
        response = await self.call("PrepareKeyMapping", pb.PrepareKeyMappingRequest(
            member=member, add_signing_keys=[k.public.raw for k in add_signing],
            add_encryption_keys=[k.raw for k in add_encryption],
            remove_fingerprints=list(remove)))
        return TopologyTransaction.from_bytes(response.transaction)

    async def submit_key_mapping(self, signed: SignedTopologyTransaction) -> pb.TopologyChange:
        response = await self.call("SubmitKeyMapping", pb.SubmitKeyMappingRequest(
            signed_transaction=signed.to_bytes()))
        return _change(response)

    async def rotate_key(self, member: str, new_key: SigningKeyPair,
                         add_encryption: Sequence[EncryptionPublicKey] = ()) -> pb.TopologyChange:
        """Add `new_key` as the member's current signing key (proof of possession included)."""
        prepared = await self.prepare_key_mapping(member, [new_key], add_encryption)
        return await self.submit_key_mapping(prepared.sign(new_key))

    async def revoke_key(self, member: str, fingerprint: str) -> pb.TopologyChange:
        response = await self.call("RevokeKey", pb.RevokeKeyRequest(
            member=member, fingerprint=fingerprint))
        return _change(response)

    # --- late joiners ------------------------------------------------------------------

    async def fetch_state(
        self, known_up_to_us: int
    ) -> tuple[list[tuple[SignedTopologyTransaction, int]], int]:
        """Every accepted transaction with its sequencing time, and the time it is complete up
        to (at least `known_up_to_us`)."""
        request = pb.FetchTopologyStateRequest(known_up_to_us=known_up_to_us)
        metadata = await self._metadata("FetchTopologyState", request)
        out: list[tuple[SignedTopologyTransaction, int]] = []
        known_us = 0
        try:
            async for chunk in self.stub.FetchTopologyState(request, metadata=metadata,
                                                            timeout=self._timeout_s):
                known_us = chunk.known_up_to_us
                out += [(SignedTopologyTransaction.from_bytes(t.signed_transaction),
                         t.sequenced_us) for t in chunk.transactions]
        except grpc.aio.AioRpcError as error:
            raise TopologyCallFailed(error_id_of(error) or error.code().name, error.code(),
                                     error.details() or "") from None
        return out, known_us
