"""The sequencer client never dies silently (shells review #2).

A fake sequencer on 127.0.0.1 plays a buggy or malicious remote member: it answers the
challenge-response (or not) and then sends bytes that are no event. Whatever it sends, the
client must stop with `failure` set and `wait_failed()` returning a typed `MalformedRequest`
within seconds, so the member owning it exits instead of staying "ready" and processing
nothing. The fake is a real gRPC server; only its answers are wrong.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import grpc
import pytest
from tests.integration.sequencer.harness import DOMAIN_ID, SEQUENCER_KEY, Recorder

from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_pb2 as pb
from minicanton.codec.sequencer import packed_messages
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.ids import MemberKind, member_id
from minicanton.core.sequencing.errors import MalformedRequest
from minicanton.runtime.sequencer_client import SequencerClient, SequencerClientConfig

SERVICE = "minicanton.sequencer.v1.SequencerService"
GARBAGE = b"\xff\xff\xff garbage"
MEMBER_KEY = SigningKeyPair.from_private(b"\x07" * 32)
MEMBER = member_id(MemberKind.PARTICIPANT, "victim", MEMBER_KEY.fingerprint)


class FakeSequencer:
    """Answers the login with `challenge` and every subscription with `events` (batched or
    not: `batched_unimplemented` makes the client fall back to plain Subscribe)."""

    def __init__(self, *, challenge: bytes | None = None, events: list[bytes] | None = None,
                 batched_unimplemented: bool = False) -> None:
        self.challenge = challenge if challenge is not None else pb.Challenge(
            nonce=b"n" * 16, expires_at_us=2**62).SerializeToString()
        self.events = events if events is not None else [GARBAGE]
        self.batched_unimplemented = batched_unimplemented
        self.subscriptions: list[str] = []

    async def get_challenge(self, raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return self.challenge

    async def authenticate(self, raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return pb.AuthToken(token="t", expires_at_us=2**62).SerializeToString()

    def stream(self, name: str) -> Callable[..., AsyncIterator[bytes]]:
        async def serve(raw: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
            self.subscriptions.append(name)
            if name == "SubscribeBatched" and self.batched_unimplemented:
                await context.abort(grpc.StatusCode.UNIMPLEMENTED, "old release")
            for event in self.events:
                yield event
            await asyncio.sleep(30)  # keep the stream open: the client must act on what it got
        return serve

    async def start(self) -> tuple[grpc.aio.Server, str]:
        server = grpc.aio.server()
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, {
            "GetChallenge": grpc.unary_unary_rpc_method_handler(self.get_challenge),
            "Authenticate": grpc.unary_unary_rpc_method_handler(self.authenticate),
            "Subscribe": grpc.unary_stream_rpc_method_handler(self.stream("Subscribe")),
            "SubscribeBatched": grpc.unary_stream_rpc_method_handler(
                self.stream("SubscribeBatched")),
        }),))
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        return server, f"127.0.0.1:{port}"


async def failure_against(fake: FakeSequencer) -> BaseException:
    server, endpoint = await fake.start()
    client = SequencerClient(domain_id=DOMAIN_ID, member=MEMBER, signing_key=MEMBER_KEY,
                             trusted_sequencer_keys=[SEQUENCER_KEY.public],
                             config=SequencerClientConfig((endpoint,)))
    received = Recorder()
    try:
        await client.start(received)
        failure = await asyncio.wait_for(client.wait_failed(), 5.0)
        assert client.failure is failure
        assert received.events == []  # nothing reached the member
        return failure
    finally:
        await client.close()
        await server.stop(None)


@pytest.mark.parametrize("events", [
    [GARBAGE],  # not even a packed batch
    [packed_messages([GARBAGE])],  # a batch whose event is garbage
    [packed_messages([pb.SignedSequencedEvent().SerializeToString()])],  # an empty event
], ids=["garbage", "garbage-event-in-batch", "empty-event"])
async def test_garbage_on_the_batched_stream_stops_the_client(events: list[bytes]) -> None:
    failure = await failure_against(FakeSequencer(events=events))
    assert isinstance(failure, MalformedRequest)


async def test_garbage_on_the_plain_stream_stops_the_client() -> None:
    fake = FakeSequencer(batched_unimplemented=True)
    failure = await failure_against(fake)
    assert isinstance(failure, MalformedRequest)
    assert fake.subscriptions[-1] == "Subscribe"


async def test_a_garbage_challenge_stops_the_client() -> None:
    fake = FakeSequencer(challenge=GARBAGE)
    failure = await failure_against(fake)
    assert isinstance(failure, MalformedRequest)
    assert fake.subscriptions == []  # never got as far as subscribing


async def test_an_exception_escaping_any_task_stops_the_client() -> None:
    server, endpoint = await FakeSequencer(events=[]).start()
    client = SequencerClient(domain_id=DOMAIN_ID, member=MEMBER, signing_key=MEMBER_KEY,
                             trusted_sequencer_keys=[SEQUENCER_KEY.public],
                             config=SequencerClientConfig((endpoint,)))

    async def buggy() -> None:
        raise RuntimeError("a bug in a background task")

    try:
        await client.start(Recorder())
        client._spawn(buggy())  # as a bug in any of the client's tasks would end
        failure = await asyncio.wait_for(client.wait_failed(), 5.0)
        assert isinstance(failure, RuntimeError)
        await asyncio.sleep(0.2)
        assert not client._tasks  # the other tasks were cancelled, and forgotten once done
    finally:
        await client.close()
        await server.stop(None)
