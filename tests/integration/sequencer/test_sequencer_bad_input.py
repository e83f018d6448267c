"""Bad input at every RPC: a typed error (status + error-id) and nothing written."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import asyncpg
import grpc
import pytest
import pytest_asyncio
from tests.integration.sequencer.harness import DOMAIN_ID, Member, SequencerCluster

from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_admin_pb2 as apb
from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_pb2 as pb
from minicanton.codec.sequencer import signature_to_proto, submission_to_proto
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.sequencing.auth import sign_challenge
from minicanton.core.sequencing.batch import (
    Batch,
    Envelope,
    MemberRecipient,
    SubmissionRequest,
    sign_submission,
)
from minicanton.runtime.clock import wall_clock_us
from minicanton.runtime.grpc_errors import error_id_of

SERVICE = "/minicanton.sequencer.v1.SequencerService/"
ADMIN = "/minicanton.sequencer.v1.SequencerAdminService/"
TABLES = ("sequencer_events", "sequencer_send_dedup", "sequencer_members",
          "sequencer_auth_tokens", "sequencer_counter_checkpoints")


@pytest_asyncio.fixture(scope="module")
async def channel(sequencer: SequencerCluster) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(sequencer.endpoints[0]) as opened:
        yield opened


async def call(channel, method: str, raw: bytes, token: str | None = None,
               service: str = SERVICE) -> bytes:
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    return await channel.unary_unary(service + method)(raw, metadata=metadata, timeout=10)


async def login(channel, member: Member) -> str:
    nonce = pb.Challenge.FromString(await call(
        channel, "GetChallenge", pb.ChallengeRequest(member=member.member).SerializeToString()
    )).nonce
    signature = sign_challenge(DOMAIN_ID, member.member, nonce, member.key)
    raw = await call(channel, "Authenticate", pb.AuthenticateRequest(
        member=member.member, nonce=nonce, signature=signature_to_proto(signature),
    ).SerializeToString())
    return pb.AuthToken.FromString(raw).token


async def counts(sequencer: SequencerCluster) -> dict[str, int]:
    connection = await asyncpg.connect(sequencer.dsn)
    try:
        return {t: await connection.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}
    finally:
        await connection.close()


async def refused(sequencer, coroutine, error_id: str, status: grpc.StatusCode) -> None:
    before = await counts(sequencer)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await coroutine
    assert error_id_of(caught.value) == error_id, caught.value.details()
    assert caught.value.code() == status
    assert await counts(sequencer) == before


def submission(sender: Member, *recipients, key: SigningKeyPair | None = None, **change):
    request = SubmissionRequest(DOMAIN_ID, sender.member, "bad-1", wall_clock_us() + 10_000_000,
                                Batch((Envelope(tuple(MemberRecipient(r) for r in recipients),
                                                b"payload"),)))
    request = dataclasses.replace(request, **change)
    return submission_to_proto(sign_submission(request, key or sender.key)).SerializeToString()


INVALID = grpc.StatusCode.INVALID_ARGUMENT


async def test_bad_sends_are_refused_and_write_nothing(sequencer, channel) -> None:
    alice, bob = [await sequencer.register(h) for h in ("bad-alice", "bad-bob")]
    token = await login(channel, alice)
    send = lambda raw, t=token: call(channel, "Send", raw, t)  # noqa: E731
    stranger = SigningKeyPair.from_private(b"\x01" * 32)
    cases = [
        (send(b"\xff\x00garbage"), "SEQUENCER_MALFORMED_REQUEST", INVALID),
        (send(pb.SignedSubmissionRequest(request=pb.SubmissionRequest(sender=alice.member))
              .SerializeToString()), "SEQUENCER_MALFORMED_REQUEST", INVALID),
        (send(submission(alice, bob.member, key=stranger)), "SEQUENCER_INVALID_SIGNATURE",
         grpc.StatusCode.UNAUTHENTICATED),
        (send(submission(alice, "PAR::nobody::1220aa")), "SEQUENCER_UNKNOWN_RECIPIENT",
         INVALID),
        (send(submission(bob, alice.member)), "SEQUENCER_SENDER_NOT_AUTHENTICATED_MEMBER",
         grpc.StatusCode.PERMISSION_DENIED),
        (send(submission(alice, bob.member, max_sequencing_time_us=wall_clock_us() - 1)),
         "SEQUENCER_MAX_SEQUENCING_TIME_PASSED", INVALID),
        (send(submission(alice, bob.member, max_sequencing_time_us=wall_clock_us() + 10**12)),
         "SEQUENCER_MAX_SEQUENCING_TIME_TOO_FAR", INVALID),
        (send(submission(alice, bob.member, domain_id="other::1220aa")),
         "SEQUENCER_WRONG_DOMAIN", INVALID),
        (send(submission(alice, bob.member, batch=Batch((Envelope(
            (MemberRecipient(bob.member),), b"x" * (2 << 20)),)))),
         "SEQUENCER_REQUEST_TOO_LARGE", grpc.StatusCode.RESOURCE_EXHAUSTED),
        (send(submission(alice, bob.member), None), "SEQUENCER_AUTHENTICATION_FAILED",
         grpc.StatusCode.UNAUTHENTICATED),
        (send(submission(alice, bob.member), "forged-token"), "SEQUENCER_AUTHENTICATION_FAILED",
         grpc.StatusCode.UNAUTHENTICATED),
    ]
    for coroutine, error_id, status in cases:
        await refused(sequencer, coroutine, error_id, status)


async def test_unsigned_requests_are_malformed(sequencer, channel) -> None:
    alice = await sequencer.register("unsigned")
    token = await login(channel, alice)
    message = pb.SignedSubmissionRequest.FromString(submission(alice, alice.member))
    message.ClearField("signature")
    await refused(sequencer, call(channel, "Send", message.SerializeToString(), token),
                  "SEQUENCER_MALFORMED_REQUEST", INVALID)


async def test_the_send_stream_rejects_per_message_and_stays_open(sequencer, channel) -> None:
    alice, bob = [await sequencer.register(h) for h in ("stream-a", "stream-b")]
    token = await login(channel, alice)
    requests = [b"\xff garbage", submission(alice, "PAR::nobody::1220aa"),
                submission(alice, bob.member, message_id="good-1")]
    stream = channel.stream_stream(SERVICE + "SendStream")(
        iter(requests), metadata=(("authorization", f"Bearer {token}"),))
    responses = [pb.SendResponse.FromString(raw) async for raw in stream]
    assert [r.WhichOneof("outcome") for r in responses] == ["rejected", "rejected", "accepted"]
    assert [r.rejected.error_id for r in responses[:2]] == [
        "SEQUENCER_MALFORMED_REQUEST", "SEQUENCER_UNKNOWN_RECIPIENT"]
    assert responses[2].message_id == "good-1" and responses[2].accepted.timestamp_us > 0


async def test_a_resent_message_id_is_a_duplicate(sequencer, channel) -> None:
    alice, bob = [await sequencer.register(h) for h in ("dup-a", "dup-b")]
    token = await login(channel, alice)
    raw = submission(alice, bob.member, message_id="once")
    first = pb.SendResponse.FromString(await call(channel, "Send", raw, token))
    before = await counts(sequencer)
    second = pb.SendResponse.FromString(await call(channel, "Send", raw, token))
    assert not first.accepted.duplicate and second.accepted.duplicate
    assert await counts(sequencer) == before


async def test_bad_authentication_is_refused(sequencer, channel) -> None:
    alice = await sequencer.register("auth-a")
    unknown = pb.ChallengeRequest(member="PAR::ghost::1220aa").SerializeToString()
    failed = "SEQUENCER_AUTHENTICATION_FAILED"
    unauthenticated = grpc.StatusCode.UNAUTHENTICATED
    await refused(sequencer, call(channel, "GetChallenge", unknown), failed, unauthenticated)
    await refused(sequencer, call(channel, "GetChallenge", b"\xff\xff"),
                  "SEQUENCER_MALFORMED_REQUEST", INVALID)
    nonce = pb.Challenge.FromString(await call(channel, "GetChallenge", pb.ChallengeRequest(
        member=alice.member).SerializeToString())).nonce
    wrong = sign_challenge(DOMAIN_ID, alice.member, nonce, SigningKeyPair.from_private(
        b"\x02" * 32))
    for signature, used_nonce in [(wrong, nonce), (sign_challenge(
            DOMAIN_ID, alice.member, b"n" * 32, alice.key), b"n" * 32)]:
        request = pb.AuthenticateRequest(member=alice.member, nonce=used_nonce,
                                         signature=signature_to_proto(signature))
        await refused(sequencer, call(channel, "Authenticate", request.SerializeToString()),
                      failed, unauthenticated)


async def test_a_member_reads_and_acknowledges_only_for_itself(sequencer, channel) -> None:
    alice, bob = [await sequencer.register(h) for h in ("own-a", "own-b")]
    token = await login(channel, alice)
    others = pb.SubscribeRequest(member=bob.member, from_counter=0).SerializeToString()
    stream = channel.unary_stream(SERVICE + "Subscribe")(
        others, metadata=(("authorization", f"Bearer {token}"),))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stream.read()
    assert error_id_of(caught.value) == "SEQUENCER_PERMISSION_DENIED"
    garbage = channel.unary_stream(SERVICE + "Subscribe")(
        b"\xff\xff", metadata=(("authorization", f"Bearer {token}"),))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await garbage.read()
    assert error_id_of(caught.value) == "SEQUENCER_MALFORMED_REQUEST"
    ack = pb.AcknowledgeRequest(member=bob.member, timestamp_us=1).SerializeToString()
    await refused(sequencer, call(channel, "Acknowledge", ack, token),
                  "SEQUENCER_PERMISSION_DENIED", grpc.StatusCode.PERMISSION_DENIED)


async def test_bad_admin_calls_are_refused(sequencer, channel) -> None:
    admin = (("authorization", "Bearer test-admin-token"),)

    async def admin_call(method, raw, metadata=admin):
        return await channel.unary_unary(ADMIN + method)(raw, metadata=metadata, timeout=10)

    good_key = b"\x07" * 32
    cases = [
        (admin_call("RegisterMember", apb.RegisterMemberRequest(
            member="not a member id", signing_public_key=good_key).SerializeToString()),
         "INVALID_ARGUMENT", INVALID),
        (admin_call("RegisterMember", apb.RegisterMemberRequest(
            member="PAR::x::1220aa", signing_public_key=b"short").SerializeToString()),
         "INVALID_ARGUMENT", INVALID),
        (admin_call("RegisterMember", b"\xff\xff"), "SEQUENCER_MALFORMED_REQUEST", INVALID),
        (admin_call("DisableMember", apb.DisableMemberRequest(
            member="PAR::ghost::1220aa").SerializeToString()), "SEQUENCER_UNKNOWN_MEMBER",
         grpc.StatusCode.NOT_FOUND),
        (admin_call("RegisterMember", apb.RegisterMemberRequest(
            member="PAR::x::1220aa", signing_public_key=good_key).SerializeToString(), ()),
         "SEQUENCER_AUTHENTICATION_FAILED", grpc.StatusCode.UNAUTHENTICATED),
        (admin_call("Prune", apb.PruneRequest(retention_ms=-1).SerializeToString()),
         "INVALID_ARGUMENT", INVALID),
    ]
    for coroutine, error_id, status in cases:
        await refused(sequencer, coroutine, error_id, status)
