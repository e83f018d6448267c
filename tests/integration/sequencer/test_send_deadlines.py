"""A send over the packed send stream gets its answer, or `ConnectionLost` once the RPC
timeout passed without one, or at once when the stream breaks; the connection keeps one timer
for all its sends (`SequencerConnection._expire`), so these are what must hold.

The sequencer here is a real gRPC server on 127.0.0.1 whose answers are chosen: it answers
every request except those whose message id starts with "silent", and breaks the stream on
one starting with "break".
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import grpc
import pytest
from tests.integration.sequencer.harness import DOMAIN_ID

from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_pb2 as pb
from minicanton.codec.sequencer import packed_messages, submission_bytes, unpacked_messages
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.ids import MemberKind, member_id
from minicanton.core.sequencing.batch import (
    Batch,
    Envelope,
    MemberRecipient,
    SubmissionRequest,
    sign_submission,
)
from minicanton.runtime.clock import wall_clock_us
from minicanton.runtime.sequencer_connection import ConnectionLost, SequencerConnection

SERVICE = "minicanton.sequencer.v1.SequencerService"
KEY = SigningKeyPair.from_private(b"\x09" * 32)
MEMBER = member_id(MemberKind.PARTICIPANT, "sender", KEY.fingerprint)
TIMEOUT_S = 0.4


async def _send_stream(packs: AsyncIterator[bytes],
                       context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
    async for pack in packs:
        answers = []
        for raw in unpacked_messages(pack):
            message_id = pb.SignedSubmissionRequest.FromString(raw).request.message_id
            if message_id.startswith("break"):
                await context.abort(grpc.StatusCode.UNAVAILABLE, "broken on purpose")
            if not message_id.startswith("silent"):
                answers.append(pb.SendResponse(message_id=message_id, accepted=pb.SendAccepted(
                    timestamp_us=1)).SerializeToString())
        if answers:
            yield packed_messages(answers)


async def _auth(raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
    return pb.AuthToken(token="t", expires_at_us=2**62).SerializeToString()


async def _challenge(raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
    return pb.Challenge(nonce=b"n" * 16, expires_at_us=2**62).SerializeToString()


@pytest.fixture
async def connection() -> AsyncIterator[SequencerConnection]:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, {
        "GetChallenge": grpc.unary_unary_rpc_method_handler(_challenge),
        "Authenticate": grpc.unary_unary_rpc_method_handler(_auth),
        "SendStreamPacked": grpc.stream_stream_rpc_method_handler(_send_stream),
    }),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    connection = SequencerConnection(f"127.0.0.1:{port}", DOMAIN_ID, MEMBER, KEY, wall_clock_us,
                                     rpc_timeout_s=TIMEOUT_S)
    try:
        yield connection
    finally:
        await connection.close()
        await server.stop(None)


def _raw(message_id: str) -> bytes:
    batch = Batch((Envelope((MemberRecipient(MEMBER),), b"payload"),))
    return submission_bytes(sign_submission(
        SubmissionRequest(DOMAIN_ID, MEMBER, message_id, 2**62, batch), KEY))


async def _timed_send(connection: SequencerConnection, message_id: str
                      ) -> tuple[float, pb.SendResponse | BaseException]:
    start = time.monotonic()
    try:
        outcome: pb.SendResponse | BaseException = await connection.send(_raw(message_id),
                                                                         message_id)
    except ConnectionLost as error:
        outcome = error
    return time.monotonic() - start, outcome


async def test_an_unanswered_send_times_out_and_the_answered_ones_do_not(
        connection: SequencerConnection) -> None:
    results = await asyncio.gather(*[_timed_send(connection, message_id)
                                     for message_id in ("a", "silent-1", "b")])
    (_, a), (waited_s, silent), (_, b) = results
    assert isinstance(a, pb.SendResponse) and a.message_id == "a" and a.HasField("accepted")
    assert isinstance(b, pb.SendResponse) and b.message_id == "b"
    assert isinstance(silent, ConnectionLost) and "no send response" in silent.message
    assert TIMEOUT_S - 0.05 <= waited_s < TIMEOUT_S + 1.0
    # later sends: the timer re-arms for each, answered or not
    waited_s, again = await _timed_send(connection, "silent-2")
    assert isinstance(again, ConnectionLost) and waited_s >= TIMEOUT_S - 0.05
    _, answered = await _timed_send(connection, "c")
    assert isinstance(answered, pb.SendResponse)
    assert connection._waiting == {}


async def test_a_send_made_while_an_older_one_waits_gets_its_own_full_timeout(
        connection: SequencerConnection) -> None:
    first = asyncio.ensure_future(_timed_send(connection, "silent-old"))
    await asyncio.sleep(TIMEOUT_S / 2)
    second_waited_s, second = await _timed_send(connection, "silent-young")
    first_waited_s, first_outcome = await first
    assert isinstance(first_outcome, ConnectionLost) and isinstance(second, ConnectionLost)
    assert first_waited_s >= TIMEOUT_S - 0.05 and second_waited_s >= TIMEOUT_S - 0.05


async def test_a_broken_stream_fails_every_waiting_send_at_once(
        connection: SequencerConnection) -> None:
    waiting = asyncio.ensure_future(_timed_send(connection, "silent-waits"))
    await asyncio.sleep(0.05)
    _, broke = await _timed_send(connection, "break")
    waited_s, outcome = await waiting
    assert isinstance(broke, ConnectionLost) and isinstance(outcome, ConnectionLost)
    assert "ended" in outcome.message and waited_s < TIMEOUT_S
    _, after = await _timed_send(connection, "d")  # a new stream serves the next send
    assert isinstance(after, pb.SendResponse)


async def test_a_cancelled_send_is_forgotten(connection: SequencerConnection) -> None:
    task = asyncio.ensure_future(connection.send(_raw("silent-cancelled"), "silent-cancelled"))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert connection._waiting == {}
    await asyncio.sleep(TIMEOUT_S)  # its timeout passes without harm
    _, after = await _timed_send(connection, "e")
    assert isinstance(after, pb.SendResponse)


async def _never_answers(raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


@pytest.mark.parametrize("close_after_s", [0.0, 0.1], ids=["before-the-stream-ran",
                                                           "while-logging-in"])
async def test_a_send_in_flight_when_the_connection_closes_fails_at_once(
        close_after_s: float) -> None:
    """`close` cancels the one timer the sends share, so it must fail them itself: before
    the stream task ran (its `finally` never runs) and while it waits for the login."""
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, {
        "GetChallenge": grpc.unary_unary_rpc_method_handler(_never_answers),
    }),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    long_timeout_s = 30.0  # the close must end the send, not the timer
    connection = SequencerConnection(f"127.0.0.1:{port}", DOMAIN_ID, MEMBER, KEY, wall_clock_us,
                                     rpc_timeout_s=long_timeout_s)
    try:
        send = asyncio.ensure_future(_timed_send(connection, "in-flight"))
        await asyncio.sleep(close_after_s)
        await connection.close()
        waited_s, outcome = await asyncio.wait_for(send, 5.0)
        assert isinstance(outcome, ConnectionLost), outcome
        assert waited_s < 5.0 and connection._waiting == {}
    finally:
        await server.stop(None)
