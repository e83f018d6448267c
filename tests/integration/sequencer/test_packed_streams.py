"""SubscribeBatched, SendStreamBatched, SendStreamPacked: the same events and responses,
fewer messages.

A member's batched stream must carry byte for byte the events of its plain stream, in order,
with several events per message when several are ready; the batched send streams answer every
request once, in request order, packing outcomes one write decided together, and a bad request
(alone, inside a pack, or a pack that is not one) is a SendRejected entry, not the end of the
stream. Refusals are those of the plain RPCs.
"""

from __future__ import annotations

import asyncio
import secrets

import grpc
import pytest
from tests.integration.sequencer.harness import DOMAIN_ID, SequencerCluster
from tests.integration.sequencer.test_sequencer_bad_input import (  # noqa: F401 (fixture)
    channel,
    login,
    refused,
)

from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_pb2 as pb
from minicanton.codec.sequencer import packed_messages, submission_to_proto, unpacked_messages
from minicanton.core.sequencing.batch import (
    Batch,
    Envelope,
    MemberRecipient,
    SubmissionRequest,
    sign_submission,
)
from minicanton.core.sequencing.errors import MalformedRequest, PermissionDenied
from minicanton.runtime.clock import wall_clock_us
from minicanton.runtime.sequencer_connection import SequencerConnection

SERVICE = "/minicanton.sequencer.v1.SequencerService/"


async def read(connection: SequencerConnection, count: int, *, batched: bool
               ) -> list[list[bytes]]:
    """The first `count` events as served, grouped by stream message, each event's bytes."""
    messages: list[list[bytes]] = []
    call = await connection.subscribe(0, batched=batched)
    try:
        async with asyncio.timeout(20):
            async for raw in call:
                if batched:
                    events = pb.SignedSequencedEventBatch.FromString(raw).events
                    messages.append([e.SerializeToString() for e in events])
                else:
                    messages.append([raw])
                if sum(map(len, messages)) >= count:
                    return messages
    finally:
        call.cancel()
    return messages


def test_packing_is_the_repeated_field_on_the_wire() -> None:
    events = [pb.SignedSequencedEvent(
        event=pb.SequencedEvent(counter=n, member="m" * n).SerializeToString())
        for n in (0, 1, 200)]
    packed = pb.SignedSequencedEventBatch.FromString(
        packed_messages([e.SerializeToString() for e in events]))
    assert list(packed.events) == events
    assert pb.SendResponseBatch.FromString(packed_messages([])).responses == []
    raws = [e.SerializeToString() for e in events] + [b"x" * 300]
    assert unpacked_messages(packed_messages(raws)) == raws
    for bad in (b"\x12\x01a", b"\x0a\x05ab", b"\x0a\xff"):
        with pytest.raises(MalformedRequest):
            unpacked_messages(bad)


async def test_the_batched_stream_is_the_plain_stream_packed(sequencer: SequencerCluster) -> None:
    sender, reader = await sequencer.register("packer"), await sequencer.register("packed")
    client = sequencer.client(sender)
    await client.start(lambda _event: asyncio.sleep(0))
    try:
        for n in range(12):
            await client.send_async(Batch((Envelope((MemberRecipient(reader.member),),
                                                    f"packed {n}".encode()),)))
        connection = SequencerConnection(sequencer.endpoints[0], DOMAIN_ID, reader.member,
                                         reader.key, wall_clock_us)
        try:
            plain = await read(connection, 12, batched=False)
            packed = await read(connection, 12, batched=True)
        finally:
            await connection.close()
    finally:
        await client.close()
    assert [e for m in packed for e in m][:12] == [e for m in plain for e in m][:12]
    assert max(map(len, packed)) > 1  # events written earlier come out in one message


async def test_batched_subscribe_refuses_as_the_plain_one(sequencer: SequencerCluster,
                                                          channel) -> None:  # noqa: F811
    member, other = await sequencer.register("nosy"), await sequencer.register("victim")
    token = await login(channel, member)
    metadata = (("authorization", f"Bearer {token}"),)

    async def first(raw: bytes) -> None:
        call = channel.unary_stream(SERVICE + "SubscribeBatched")(raw, metadata=metadata,
                                                                  timeout=10)
        async for _ in call:
            return

    await refused(sequencer, first(pb.SubscribeRequest(member=other.member).SerializeToString()),
                  PermissionDenied.error_id, grpc.StatusCode.PERMISSION_DENIED)
    await refused(sequencer, first(b"\xff\xff garbage"), MalformedRequest.error_id,
                  grpc.StatusCode.INVALID_ARGUMENT)


def requests_of(sender, target, ids: list[str]) -> list[bytes]:  # type: ignore[no-untyped-def]
    return [submission_to_proto(sign_submission(SubmissionRequest(
        DOMAIN_ID, sender.member, message_id, wall_clock_us() + 10_000_000,
        Batch((Envelope((MemberRecipient(target.member),), b"x"),))), sender.key)
    ).SerializeToString() for message_id in ids]


async def test_packed_requests_are_admitted_one_by_one(
    sequencer: SequencerCluster, channel  # noqa: F811
) -> None:
    sender, target = await sequencer.register("packer2"), await sequencer.register("target2")
    token = await login(channel, sender)
    ids = [f"pack-{secrets.token_hex(4)}-{n}" for n in range(9)]
    raws = requests_of(sender, target, ids)
    packs = [packed_messages(raws[:4]), packed_messages([raws[4], b"\xff garbage", raws[5]]),
             b"\x12\x03not a pack", packed_messages(raws[6:])]

    async def outgoing():  # type: ignore[no-untyped-def]
        for pack in packs:
            yield pack

    call = channel.stream_stream(SERVICE + "SendStreamPacked")(
        outgoing(), metadata=(("authorization", f"Bearer {token}"),), timeout=20)
    answered = [r for raw in [m async for m in call]
                for r in pb.SendResponseBatch.FromString(raw).responses]
    assert [r.message_id for r in answered if r.HasField("accepted")] == ids
    assert [i for i, r in enumerate(answered) if r.HasField("rejected")] == [5, 7]
    assert {r.rejected.error_id for r in answered if r.HasField("rejected")} == {
        MalformedRequest.error_id}


async def test_batched_send_stream_answers_each_request_once_in_order(
    sequencer: SequencerCluster, channel  # noqa: F811
) -> None:
    sender, target = await sequencer.register("streamer"), await sequencer.register("target")
    token = await login(channel, sender)
    ids = [f"packed-{secrets.token_hex(4)}-{n}" for n in range(20)]
    requests = requests_of(sender, target, ids)
    requests.insert(7, b"\xff\xff not a request")

    async def outgoing():  # type: ignore[no-untyped-def]
        for raw in requests:
            yield raw

    call = channel.stream_stream(SERVICE + "SendStreamBatched")(
        outgoing(), metadata=(("authorization", f"Bearer {token}"),), timeout=20)
    answered: list[pb.SendResponse] = []
    messages = 0
    async for raw in call:
        messages += 1
        answered += pb.SendResponseBatch.FromString(raw).responses
    assert len(answered) == len(requests)
    assert [r.message_id for r in answered if r.HasField("accepted")] == ids
    rejected = [r for r in answered if r.HasField("rejected")]
    assert answered.index(rejected[0]) == 7
    assert rejected[0].rejected.error_id == MalformedRequest.error_id
    assert messages < len(requests)  # outcomes of one write travel together
