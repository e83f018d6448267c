"""What a client sees when a sequencer stream ends on an error (shells review #14): the
server-streaming handlers run through the one gRPC boundary (`runtime.grpc_errors`), so a
refusal of Subscribe, SubscribeBatched or one of the send streams has the status code, the
``ERROR_ID: message`` details and the ``error-id`` trailer of the unary RPCs, exactly; and an
untyped error (here: a table renamed away under the real process) is INTERNAL naming an
incident whose trace is in the log, never the exception's text.
"""

from __future__ import annotations

import asyncio
import re

import asyncpg
import grpc
import pytest
from tests.integration.sequencer.harness import SequencerCluster
from tests.integration.sequencer.test_sequencer_bad_input import (  # noqa: F401 (fixture)
    channel,
    login,
)

from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_pb2 as pb
from minicanton.runtime.grpc_errors import ERROR_ID_KEY

SERVICE = "/minicanton.sequencer.v1.SequencerService/"
SUBSCRIBES = ("Subscribe", "SubscribeBatched")
SEND_STREAMS = ("SendStream", "SendStreamBatched", "SendStreamPacked")
NO_TOKEN = "missing 'authorization: Bearer <token>' metadata"


def bearer(token: str | None) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),) if token else ()


async def ended(call: grpc.aio.Call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async with asyncio.timeout(10):
            await call.read()  # type: ignore[attr-defined]
    return caught.value


def assert_refused(error: grpc.aio.AioRpcError, status: grpc.StatusCode, error_id: str,
                   message: str) -> None:
    assert (error.code(), error.details()) == (status, f"{error_id}: {message}")
    assert (ERROR_ID_KEY, error_id) in tuple(error.trailing_metadata() or ())


async def test_subscribe_refusals_keep_their_status_and_details(sequencer: SequencerCluster,
                                                                channel) -> None:  # noqa: F811
    alice, bob = [await sequencer.register(h) for h in ("se-alice", "se-bob")]
    token = await login(channel, alice)
    cases = [
        (pb.SubscribeRequest(member=alice.member).SerializeToString(), None,
         grpc.StatusCode.UNAUTHENTICATED, "SEQUENCER_AUTHENTICATION_FAILED", NO_TOKEN),
        (pb.SubscribeRequest(member=alice.member).SerializeToString(), "forged-token",
         grpc.StatusCode.UNAUTHENTICATED, "SEQUENCER_AUTHENTICATION_FAILED",
         "unknown or expired token"),
        (pb.SubscribeRequest(member=bob.member).SerializeToString(), token,
         grpc.StatusCode.PERMISSION_DENIED, "SEQUENCER_PERMISSION_DENIED",
         f"{alice.member} may only read its own stream"),
        (b"\xff\xff", token, grpc.StatusCode.INVALID_ARGUMENT, "SEQUENCER_MALFORMED_REQUEST",
         "the request is not a SubscribeRequest"),
        (pb.SubscribeRequest(member=alice.member, from_counter=-1).SerializeToString(), token,
         grpc.StatusCode.INVALID_ARGUMENT, "SEQUENCER_MALFORMED_REQUEST",
         "from_counter must not be negative"),
    ]
    for method in SUBSCRIBES:
        for raw, used_token, status, error_id, message in cases:
            call = channel.unary_stream(SERVICE + method)(raw, metadata=bearer(used_token))
            assert_refused(await ended(call), status, error_id, message)


async def test_send_stream_refusals_keep_their_status_and_details(sequencer: SequencerCluster,
                                                                  channel) -> None:  # noqa: F811
    for method in SEND_STREAMS:
        for used_token, message in ((None, NO_TOKEN), ("forged", "unknown or expired token")):
            call = channel.stream_stream(SERVICE + method)(iter(()),
                                                           metadata=bearer(used_token))
            assert_refused(await ended(call), grpc.StatusCode.UNAUTHENTICATED,
                           "SEQUENCER_AUTHENTICATION_FAILED", message)


async def test_an_untyped_error_ends_a_subscription_with_internal_and_an_incident(
    sequencer: SequencerCluster, channel,  # noqa: F811
) -> None:
    alice = await sequencer.register("se-untyped")
    token = await login(channel, alice)
    request = pb.SubscribeRequest(member=alice.member).SerializeToString()
    connection = await asyncpg.connect(sequencer.dsn)
    try:
        # a subscription starts by reading the member's counter checkpoints
        await connection.execute("ALTER TABLE sequencer_counter_checkpoints RENAME TO away")
        try:
            errors = [await ended(channel.unary_stream(SERVICE + method)(
                request, metadata=bearer(token))) for method in SUBSCRIBES]
        finally:
            await connection.execute("ALTER TABLE away RENAME TO sequencer_counter_checkpoints")
    finally:
        await connection.close()
    log_text = await _log_when(sequencer, len(errors))
    for error in errors:
        assert error.code() == grpc.StatusCode.INTERNAL
        details = error.details() or ""
        assert details.startswith("INTERNAL_ERROR: an internal error occurred")
        assert "away" not in details and "Undefined" not in details  # nothing of the bug
        incident = re.search(r"incident ([0-9a-f]{16})", details)
        assert incident is not None and f"incident {incident.group(1)}" in log_text
    # the stream works again once the table is back
    call = channel.unary_stream(SERVICE + "Subscribe")(request, metadata=bearer(token))
    reading = asyncio.ensure_future(call.read())
    await asyncio.sleep(0.3)
    assert not reading.done()  # open and waiting for events, not ended
    call.cancel()
    await asyncio.gather(reading, return_exceptions=True)


async def _log_when(sequencer: SequencerCluster, incidents: int) -> str:
    """The process log once it names `incidents` incidents of unexpected errors."""
    async with asyncio.timeout(5):
        while True:
            text = sequencer.processes[0].log_path.read_text(errors="replace")
            if text.count("unexpected error in") >= incidents:
                return text
            await asyncio.sleep(0.05)

