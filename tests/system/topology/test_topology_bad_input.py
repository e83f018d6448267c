"""Bad input on every RPC of the topology manager: a typed gRPC error (status and Daml-style
error id), and nothing sent, stored or changed."""

from __future__ import annotations

import time
from typing import Any

import grpc
import pytest
from tests.integration.sequencer.harness import DOMAIN_ID
from tests.system.topology.conftest import Network
from tests.system.topology.harness import ADMIN_TOKEN, PlayedMember

from minicanton.codec.gen.minicanton.topology.v1 import topology_admin_pb2 as pb
from minicanton.codec.topology import (
    MEMBER_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    member_request_hash,
    signature_to_header,
)
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.hashing import HashPurpose
from minicanton.core.ids import MemberId, MemberKind, ParticipantId, member_id, party_id
from minicanton.core.topology.mappings import ParticipantPermission, ParticipantState
from minicanton.core.topology.planning import initial_key_mapping
from minicanton.core.topology.transactions import TopologyChangeOp, TopologyTransaction
from minicanton.runtime.grpc_errors import error_id_of
from minicanton.topology.service import SERVICE

pytestmark = pytest.mark.system
Code = grpc.StatusCode
GARBAGE = b"\xff\x00garbage"
NOBODY = member_id(MemberKind.PARTICIPANT, "nobody", "1220" + "ab" * 32)


class Caller:
    """Credentials for one call: the admin token, a member's signature (optionally broken),
    or none."""

    def __init__(self, token: str | None = None, member: PlayedMember | None = None,
                 skew_us: int = 0, tamper: bool = False, as_id: str | None = None) -> None:
        self.token, self.member, self.skew_us, self.tamper = token, member, skew_us, tamper
        self.as_id = as_id

    def metadata(self, method: str, body: bytes) -> tuple[tuple[str, str], ...]:
        if self.token is not None:
            return (("authorization", f"Bearer {self.token}"),)
        if self.member is None:
            return ()
        member = self.as_id or self.member.id
        ts_us = time.time_ns() // 1000 + self.skew_us
        digest = member_request_hash(DOMAIN_ID, f"/{SERVICE}/{method}", member, ts_us, body)
        signature = signature_to_header(self.member.key.sign(digest, HashPurpose.AUTH_CHALLENGE))
        if self.tamper:
            signature = signature[:-2] + ("00" if not signature.endswith("00") else "11")
        return ((MEMBER_HEADER, member), (TIMESTAMP_HEADER, str(ts_us)),
                (SIGNATURE_HEADER, signature))


async def call(network: Network, method: str, request: Any | bytes,
               caller: Caller) -> tuple[Code, str | None]:
    body = request if isinstance(request, bytes) else request.SerializeToString(
        deterministic=True)
    async with grpc.aio.insecure_channel(network.manager.endpoint) as channel:
        path = f"/{SERVICE}/{method}"
        stream = method == "FetchTopologyState"
        multi = channel.unary_stream(path) if stream else channel.unary_unary(path)
        try:
            answer = multi(body, metadata=caller.metadata(method, body), timeout=10)
            if stream:
                async for _ in answer:
                    pass
            else:
                await answer
        except grpc.aio.AioRpcError as error:
            return error.code(), error_id_of(error)
    return Code.OK, None


async def _state(network: Network) -> tuple[list[Any], list[Any]]:
    async with network.manager.admin() as admin:
        fetched, _ = await admin.fetch_state(0)
        requests = await admin.call("ListOnboardingRequests", pb.ListOnboardingRequestsRequest())
    return [(s.hash, t) for s, t in fetched], list(requests.requests)


def _cases(network: Network, p1: PlayedMember, p2: PlayedMember,
           p3: PlayedMember) -> list[tuple[str, Any, Caller, Code, str | None]]:
    admin, anon, member = Caller(ADMIN_TOKEN), Caller(), Caller(member=p1)
    stranger = SigningKeyPair.from_private(b"\x77" * 32)
    new_id = member_id(MemberKind.PARTICIPANT, "newbie", stranger.fingerprint)
    enc = [p1.encryption.public]
    no_pop = initial_key_mapping(MemberId(new_id), [stranger], enc)
    no_pop = no_pop.__class__(no_pop.transaction, ())  # its signatures dropped
    foreign = TopologyTransaction(TopologyChangeOp.REPLACE, 1, initial_key_mapping(
        MemberId(new_id), [stranger], enc).transaction.mapping).sign(p2.key)
    mediator_id = MemberId(member_id(MemberKind.MEDIATOR, "m2", stranger.fingerprint))
    wrong_ns = MemberId(member_id(MemberKind.PARTICIPANT, "x", p2.key.fingerprint))
    p1_ns, p2_ns = p1.id.split("::")[-1], p2.id.split("::")[-1]
    onboard = pb.RequestOnboardingRequest
    keys_of_p1 = initial_key_mapping(p1.id, [p1.key, stranger], enc, serial=2)
    state = TopologyTransaction(TopologyChangeOp.REPLACE, 2, ParticipantState(
        ParticipantId(p1.id))).sign(p1.key)

    def host(p: str, permission: int = 3) -> pb.HostingParticipant:
        return pb.HostingParticipant(participant=p, permission=permission)

    far = time.time_ns() // 1000 + 3_600_000_000
    return [
        ("RequestOnboarding", onboard(), anon, Code.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        ("RequestOnboarding", onboard(key_mapping=b"junk"), anon, Code.INVALID_ARGUMENT,
         "TOPOLOGY_TRANSACTION_DECODE_ERROR"),
        ("RequestOnboarding", onboard(key_mapping=no_pop.to_bytes()), anon,
         Code.PERMISSION_DENIED, "TOPOLOGY_UNAUTHORIZED"),
        ("RequestOnboarding", onboard(key_mapping=foreign.to_bytes()), anon,
         Code.PERMISSION_DENIED, "TOPOLOGY_UNAUTHORIZED"),
        ("RequestOnboarding", onboard(key_mapping=initial_key_mapping(
            mediator_id, [stranger]).to_bytes()), anon, Code.INVALID_ARGUMENT,
         "INVALID_TOPOLOGY_MAPPING"),
        ("RequestOnboarding", onboard(key_mapping=initial_key_mapping(
            wrong_ns, [stranger], enc).to_bytes()), anon, Code.INVALID_ARGUMENT,
         "INVALID_TOPOLOGY_MAPPING"),
        ("RequestOnboarding", onboard(key_mapping=initial_key_mapping(
            MemberId(new_id), [stranger], enc, serial=2).to_bytes()), anon,
         Code.FAILED_PRECONDITION, "TOPOLOGY_SERIAL_MISMATCH"),
        ("RequestOnboarding", onboard(key_mapping=initial_key_mapping(
            MemberId(new_id), [stranger], enc).to_bytes(), permission=7), anon,
         Code.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        ("RequestOnboarding", onboard(key_mapping=keys_of_p1.to_bytes()), anon,
         Code.ALREADY_EXISTS, "TOPOLOGY_PARTICIPANT_ALREADY_ONBOARDED"),
        ("GetOnboardingStatus", pb.GetOnboardingStatusRequest(participant=NOBODY), anon,
         Code.NOT_FOUND, "TOPOLOGY_NO_PENDING_ONBOARDING"),
        ("ListOnboardingRequests", pb.ListOnboardingRequestsRequest(), anon,
         Code.UNAUTHENTICATED, "TOPOLOGY_UNAUTHENTICATED"),
        ("ListOnboardingRequests", pb.ListOnboardingRequestsRequest(), Caller("wrong-token"),
         Code.UNAUTHENTICATED, "TOPOLOGY_UNAUTHENTICATED"),
        ("ListOnboardingRequests", pb.ListOnboardingRequestsRequest(), member,
         Code.PERMISSION_DENIED, "TOPOLOGY_PERMISSION_DENIED"),
        ("ApproveOnboarding", pb.ApproveOnboardingRequest(participant=NOBODY), admin,
         Code.NOT_FOUND, "TOPOLOGY_NO_PENDING_ONBOARDING"),
        ("ApproveOnboarding", pb.ApproveOnboardingRequest(participant=p3.id, trust_level=9),
         admin, Code.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        ("RejectOnboarding", pb.RejectOnboardingRequest(participant=NOBODY), admin,
         Code.NOT_FOUND, "TOPOLOGY_NO_PENDING_ONBOARDING"),
        ("OffboardParticipant", pb.OffboardParticipantRequest(participant="not an id"), admin,
         Code.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        ("OffboardParticipant", pb.OffboardParticipantRequest(participant=NOBODY), admin,
         Code.NOT_FOUND, "TOPOLOGY_UNKNOWN_PARTICIPANT"),
        ("SetTrustLevel", pb.SetTrustLevelRequest(participant=p1.id), admin,
         Code.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        ("SetTrustLevel", pb.SetTrustLevelRequest(participant=NOBODY, trust_level=2), admin,
         Code.NOT_FOUND, "TOPOLOGY_UNKNOWN_PARTICIPANT"),
        ("SetTrustLevel", pb.SetTrustLevelRequest(participant=p1.id, trust_level=2), member,
         Code.PERMISSION_DENIED, "TOPOLOGY_PERMISSION_DENIED"),
        ("AddDomainMember", pb.AddDomainMemberRequest(key_mapping=b"junk"), admin,
         Code.INVALID_ARGUMENT, "TOPOLOGY_TRANSACTION_DECODE_ERROR"),
        ("AddDomainMember", pb.AddDomainMemberRequest(key_mapping=initial_key_mapping(
            MemberId(new_id), [stranger], enc).to_bytes()), admin, Code.INVALID_ARGUMENT,
         "INVALID_TOPOLOGY_MAPPING"),
        ("AddDomainMember", pb.AddDomainMemberRequest(key_mapping=initial_key_mapping(
            mediator_id, [stranger]).__class__(initial_key_mapping(
                mediator_id, [stranger]).transaction, ()).to_bytes()), admin,
         Code.PERMISSION_DENIED, "TOPOLOGY_UNAUTHORIZED"),
        ("AddDomainMember", pb.AddDomainMemberRequest(key_mapping=initial_key_mapping(
            mediator_id, [stranger]).to_bytes()), member, Code.PERMISSION_DENIED,
         "TOPOLOGY_PERMISSION_DENIED"),
        ("RemoveDomainMember", pb.RemoveDomainMemberRequest(member=p1.id), admin,
         Code.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        ("RemoveDomainMember", pb.RemoveDomainMemberRequest(member=mediator_id), admin,
         Code.NOT_FOUND, "TOPOLOGY_UNKNOWN_MEMBER"),
        ("RemoveDomainMember", pb.RemoveDomainMemberRequest(member=network.mediator.id), admin,
         Code.INVALID_ARGUMENT, "INVALID_ARGUMENT"),  # the last mediator stays
        ("AllocateParty", pb.AllocatePartyRequest(party="no-namespace", hosts=[host(p1.id)]),
         admin, Code.INVALID_ARGUMENT, "INVALID_TOPOLOGY_MAPPING"),
        ("AllocateParty", pb.AllocatePartyRequest(party=party_id("d", p1_ns)), admin,
         Code.INVALID_ARGUMENT, "INVALID_TOPOLOGY_MAPPING"),
        ("AllocateParty", pb.AllocatePartyRequest(party=party_id("d", p1_ns),
                                                  hosts=[host(NOBODY)]), admin,
         Code.NOT_FOUND, "TOPOLOGY_UNKNOWN_PARTICIPANT"),
        ("AllocateParty", pb.AllocatePartyRequest(party=party_id("d", p1_ns),
                                                  hosts=[host(p1.id, 9)]), admin,
         Code.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        ("AllocateParty", pb.AllocatePartyRequest(party=party_id("d", p1_ns),
                                                  hosts=[host(p2.id)]), member,
         Code.PERMISSION_DENIED, "TOPOLOGY_PERMISSION_DENIED"),
        ("AllocateParty", pb.AllocatePartyRequest(party=party_id("d", p2_ns),
                                                  hosts=[host(p1.id)]), member,
         Code.PERMISSION_DENIED, "TOPOLOGY_PERMISSION_DENIED"),
        ("AllocateParty", pb.AllocatePartyRequest(party=party_id("carol", p1_ns),
                                                  hosts=[host(p1.id)]), member,
         Code.ALREADY_EXISTS, "TOPOLOGY_PARTY_ALREADY_ALLOCATED"),
        ("VetPackages", pb.VetPackagesRequest(participant=p1.id, package_ids=["bad id!"]),
         member, Code.INVALID_ARGUMENT, "INVALID_TOPOLOGY_MAPPING"),
        ("VetPackages", pb.VetPackagesRequest(participant=p2.id, package_ids=["pkg"]), member,
         Code.PERMISSION_DENIED, "TOPOLOGY_PERMISSION_DENIED"),
        ("VetPackages", pb.VetPackagesRequest(participant=p1.id), member,
         Code.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        ("PrepareKeyMapping", pb.PrepareKeyMappingRequest(member=p1.id,
                                                          add_signing_keys=[b"short"]),
         member, Code.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        ("PrepareKeyMapping", pb.PrepareKeyMappingRequest(
            member=NOBODY, add_signing_keys=[stranger.public.raw]), admin, Code.NOT_FOUND,
         "TOPOLOGY_UNKNOWN_MEMBER"),
        ("PrepareKeyMapping", pb.PrepareKeyMappingRequest(
            member=p1.id, remove_fingerprints=["1220" + "00" * 32]), admin, Code.NOT_FOUND,
         "TOPOLOGY_UNKNOWN_KEY"),
        ("PrepareKeyMapping", pb.PrepareKeyMappingRequest(member=p1.id), admin,
         Code.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        ("PrepareKeyMapping", pb.PrepareKeyMappingRequest(
            member=p2.id, add_signing_keys=[stranger.public.raw]), member,
         Code.PERMISSION_DENIED, "TOPOLOGY_PERMISSION_DENIED"),
        ("SubmitKeyMapping", pb.SubmitKeyMappingRequest(signed_transaction=b"junk"), admin,
         Code.INVALID_ARGUMENT, "TOPOLOGY_TRANSACTION_DECODE_ERROR"),
        ("SubmitKeyMapping", pb.SubmitKeyMappingRequest(
            signed_transaction=keys_of_p1.__class__(keys_of_p1.transaction, ()).to_bytes()),
         admin, Code.PERMISSION_DENIED, "TOPOLOGY_UNAUTHORIZED"),
        ("SubmitKeyMapping", pb.SubmitKeyMappingRequest(
            signed_transaction=initial_key_mapping(p2.id, [p2.key, stranger], [
                p2.encryption.public], serial=2).to_bytes()), member,
         Code.PERMISSION_DENIED, "TOPOLOGY_PERMISSION_DENIED"),
        ("SubmitKeyMapping", pb.SubmitKeyMappingRequest(signed_transaction=state.to_bytes()),
         admin, Code.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        ("SubmitKeyMapping", pb.SubmitKeyMappingRequest(signed_transaction=initial_key_mapping(
            p1.id, [p1.key, stranger], enc, serial=5).to_bytes()), admin,
         Code.FAILED_PRECONDITION, "TOPOLOGY_SERIAL_MISMATCH"),
        ("RevokeKey", pb.RevokeKeyRequest(member=p1.id, fingerprint="1220" + "00" * 32),
         member, Code.NOT_FOUND, "TOPOLOGY_UNKNOWN_KEY"),
        ("RevokeKey", pb.RevokeKeyRequest(member=p1.id,
                                          fingerprint=p1.encryption.public.fingerprint), admin,
         Code.INVALID_ARGUMENT, "INVALID_TOPOLOGY_MAPPING"),
        ("RevokeKey", pb.RevokeKeyRequest(member=p2.id, fingerprint=p2.key.fingerprint), member,
         Code.PERMISSION_DENIED, "TOPOLOGY_PERMISSION_DENIED"),
        ("SetDomainParameters", pb.SetDomainParametersRequest(), admin, Code.INVALID_ARGUMENT,
         "INVALID_ARGUMENT"),
        ("SetDomainParameters", pb.SetDomainParametersRequest(topology_change_delay_us=0),
         admin, Code.INVALID_ARGUMENT, "INVALID_DOMAIN_PARAMETERS"),
        ("SetDomainParameters", pb.SetDomainParametersRequest(default_confirmation_policy=9),
         admin, Code.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        ("SetDomainParameters", pb.SetDomainParametersRequest(
            topology_change_delay_us=100_000), member, Code.PERMISSION_DENIED,
         "TOPOLOGY_PERMISSION_DENIED"),
        ("ListParticipants", pb.ListRequest(as_of_us=-1), admin, Code.INVALID_ARGUMENT,
         "INVALID_ARGUMENT"),
        ("ListParties", pb.ListRequest(), anon, Code.UNAUTHENTICATED,
         "TOPOLOGY_UNAUTHENTICATED"),
        ("ListKeys", pb.ListRequest(), Caller(member=p1, tamper=True), Code.UNAUTHENTICATED,
         "TOPOLOGY_UNAUTHENTICATED"),
        ("ListMediators", pb.ListRequest(), Caller(member=p1, skew_us=-120_000_000),
         Code.UNAUTHENTICATED, "TOPOLOGY_UNAUTHENTICATED"),
        ("ListSequencers", pb.ListRequest(), Caller(member=p3), Code.UNAUTHENTICATED,
         "TOPOLOGY_UNAUTHENTICATED"),  # pending: not in the topology yet
        ("ListVettedPackages", pb.ListRequest(), Caller(member=p1, as_id=p2.id),
         Code.UNAUTHENTICATED, "TOPOLOGY_UNAUTHENTICATED"),  # p1's key, p2's name
        ("GetDomainParameters", pb.ListRequest(), Caller("wrong-token"), Code.UNAUTHENTICATED,
         "TOPOLOGY_UNAUTHENTICATED"),
        ("FetchTopologyState", pb.FetchTopologyStateRequest(known_up_to_us=-1), admin,
         Code.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        ("FetchTopologyState", pb.FetchTopologyStateRequest(known_up_to_us=far), admin,
         Code.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        ("FetchTopologyState", pb.FetchTopologyStateRequest(), anon, Code.UNAUTHENTICATED,
         "TOPOLOGY_UNAUTHENTICATED"),
    ]


async def _setup(network: Network) -> tuple[PlayedMember, PlayedMember, PlayedMember]:
    p1, p2, p3 = (network.participant(f"b{i}", 40 + i) for i in (1, 2, 3))
    async with network.manager.admin() as admin:
        for member in (p1, p2, p3):
            async with member.admin(network.manager.endpoint) as client:
                await client.request_onboarding(initial_key_mapping(
                    member.id, [member.key], [member.encryption.public]))
        for member in (p1, p2):
            await admin.approve(member.id)
        await admin.allocate_party(party_id("carol", p1.id.split("::")[-1]),
                                   [(p2.id, ParticipantPermission.SUBMISSION)])
    return p1, p2, p3


async def test_every_rpc_refuses_bad_input_with_a_typed_error_and_changes_nothing(
    network: Network,
) -> None:
    p1, p2, p3 = await _setup(network)
    before = await _state(network)
    failures = []
    cases = _cases(network, p1, p2, p3)
    for method, request, caller, code, error_id in cases:
        got = await call(network, method, request, caller)
        if got != (code, error_id):
            failures.append(f"{method}: expected {code.name} {error_id}, got {got}")
    assert failures == []
    covered = {case[0] for case in cases}
    every = set(pb.DESCRIPTOR.services_by_name["TopologyManagerAdminService"].methods_by_name)
    assert every - covered == {"GetDomainInfo"}  # it takes no input; garbage below
    for method in sorted(every):  # bytes that are not even protobuf
        got = await call(network, method, GARBAGE, Caller(ADMIN_TOKEN))
        assert got == (Code.INVALID_ARGUMENT, "INVALID_ARGUMENT"), method
    assert await _state(network) == before
