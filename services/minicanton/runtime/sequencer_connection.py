"""One member's connection to one sequencer endpoint (used by `SequencerClient`).

Holds the gRPC channel, the member's bearer token for that endpoint (challenge-response, renewed
before expiry or after UNAUTHENTICATED), and one long-lived send stream: requests go out as they
come, responses are matched by message id (a stream message costs a fraction of a unary call,
DESIGN.md §8). When the stream breaks, every send waiting on it fails with `ConnectionLost` and
the client retries it elsewhere under the same message id. `healthy` is the client's routing
hint; `check_health` asks the standard gRPC health service.

The send stream and the subscription use the batched RPCs (requests queued together,
responses and events packed into fewer stream messages) unless the sequencer answers
UNIMPLEMENTED (a previous release): then `batched` turns off for this endpoint and the plain
RPCs are used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

import grpc
from grpc_health.v1 import health_pb2

from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_pb2 as pb
from minicanton.codec.sequencer import packed_messages, parse_message, signature_to_proto
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.errors import MinicantonError
from minicanton.core.ids import MemberId
from minicanton.core.sequencing.auth import sign_challenge
from minicanton.runtime.clock import Clock

log = logging.getLogger(__name__)
SERVICE = "/minicanton.sequencer.v1.SequencerService/"
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
PACK_MAX_BYTES = 512 * 1024  # within any sequencer's receive limit (4x its max request size)


class ConnectionLost(MinicantonError):
    error_id = "SEQUENCER_CONNECTION_LOST"


class _Outbox:
    """The send stream's requests: a plain async iterator (not an async generator, which gRPC
    would leave half-run when the channel closes) over what `put` queued; `end` ends it after
    what is queued. `packed`: each message packs the requests queued by then (at most
    `PACK_MAX_BYTES`, unless one alone is larger) as a SignedSubmissionRequestBatch. A deque
    and one waiter rather than an asyncio.Queue: fewer calls per send."""

    def __init__(self, packed: bool = False) -> None:
        self._items: deque[bytes | None] = deque()  # None: the end
        self._waiter: asyncio.Future[None] | None = None
        self.packed = packed

    def put(self, raw: bytes | None) -> None:
        self._items.append(raw)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def end(self) -> None:
        self.put(None)

    def __aiter__(self) -> _Outbox:
        return self

    async def __anext__(self) -> bytes:
        items = self._items
        while not items:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        raw = items[0]
        if raw is None:  # left in place: every later call ends too
            raise StopAsyncIteration
        items.popleft()
        if not self.packed:
            return raw
        pack, size = [raw], len(raw)
        while items and size < PACK_MAX_BYTES:
            more = items[0]
            if more is None:
                break
            items.popleft()
            pack.append(more)
            size += len(more)
        return packed_messages(pack)


class SequencerConnection:
    def __init__(self, endpoint: str, domain_id: str, member: MemberId, key: SigningKeyPair,
                 clock: Clock, rpc_timeout_s: float = 5.0) -> None:
        self.endpoint = endpoint
        self._domain_id = domain_id
        self._member = member
        self._key = key
        self._clock = clock
        self._timeout_s = rpc_timeout_s
        self.healthy = True
        self.channel = grpc.aio.insecure_channel(endpoint, options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            # a restarted sequencer must be reachable again within a second, not gRPC's 2 min
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 1_000),
            # our own subchannels: another channel's backoff after a crash must not leak here
            ("grpc.use_local_subchannel_pool", 1),
        ])
        self._token: str | None = None
        self._token_expires_us = 0
        self._token_lock = asyncio.Lock()
        self._outbox: _Outbox | None = None
        self._waiting: dict[str, asyncio.Future[pb.SendResponse]] = {}
        # every waiting send's timeout, oldest first (`_expire`)
        self._deadlines: deque[tuple[float, asyncio.Future[pb.SendResponse]]] = deque()
        self._expiry: asyncio.TimerHandle | None = None
        self._stream_task: asyncio.Task[None] | None = None
        self.batched = True

    def _unary(self, method: str) -> grpc.aio.UnaryUnaryMultiCallable:
        return self.channel.unary_unary(SERVICE + method)

    async def info(self) -> pb.SequencerInfo:
        raw = await self._unary("GetInfo")(pb.InfoRequest().SerializeToString(),
                                            timeout=self._timeout_s)
        return pb.SequencerInfo.FromString(raw)

    async def _metadata(self) -> tuple[tuple[str, str], ...]:
        async with self._token_lock:
            if self._token is None or self._clock() > self._token_expires_us - 5_000_000:
                await self._login()
        return (("authorization", f"Bearer {self._token}"),)

    async def _login(self) -> None:
        raw = await self._unary("GetChallenge")(
            pb.ChallengeRequest(member=self._member).SerializeToString(), timeout=self._timeout_s)
        nonce = parse_message(pb.Challenge, raw).nonce  # a bad reply: MalformedRequest
        signature = sign_challenge(self._domain_id, self._member, nonce, self._key)
        raw = await self._unary("Authenticate")(pb.AuthenticateRequest(
            member=self._member, nonce=nonce, signature=signature_to_proto(signature),
        ).SerializeToString(), timeout=self._timeout_s)
        token = parse_message(pb.AuthToken, raw)
        self._token, self._token_expires_us = token.token, token.expires_at_us

    def forget_token(self) -> None:
        self._token = None

    async def send(self, raw: bytes, message_id: str) -> pb.SendResponse:
        """The sequencer's answer to `raw`, or `ConnectionLost` when the stream broke or no
        answer came within the RPC timeout (`_expire`: one timer for all sends)."""
        outbox = self._send_stream()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[pb.SendResponse] = loop.create_future()
        self._waiting[message_id] = future
        deadline_s = loop.time() + self._timeout_s
        deadlines = self._deadlines
        while deadlines and deadlines[0][1].done():  # answered: forget them now
            deadlines.popleft()
        deadlines.append((deadline_s, future))
        if self._expiry is None:
            self._expiry = loop.call_at(deadline_s, self._expire)
        outbox.put(raw)
        try:
            return await future
        finally:
            if self._waiting.get(message_id) is future:
                del self._waiting[message_id]

    def _expire(self) -> None:
        """Fail the sends whose timeout passed, then sleep until the oldest one left times
        out. Every send has the same timeout, so they time out in the order they were made:
        one timer serves them all (a timer and a shielded wait per send cost ~10 µs each)."""
        loop = asyncio.get_running_loop()
        # within the timers' resolution (1 ms in uvloop) a deadline counts as reached, or a
        # timer firing that much early would only re-arm itself
        now_s, deadlines = loop.time() + 0.001, self._deadlines
        while deadlines and deadlines[0][0] <= now_s:
            future = deadlines.popleft()[1]
            if not future.done():
                future.set_exception(ConnectionLost(f"no send response from {self.endpoint}"))
        while deadlines and deadlines[0][1].done():  # answered: nothing to wake up for
            deadlines.popleft()
        self._expiry = loop.call_at(deadlines[0][0], self._expire) if deadlines else None

    def _send_stream(self) -> _Outbox:
        """The open send stream's queue, opening one first if there is none. Synchronous, so
        concurrent first sends share one stream (a stream opened by a send that lost a race
        would run on unclosed, and keep the process from exiting)."""
        if self._outbox is None or self._stream_task is None or self._stream_task.done():
            outbox = _Outbox(packed=self.batched)
            self._outbox = outbox
            self._stream_task = asyncio.get_running_loop().create_task(
                self._run_send_stream(outbox))
        return self._outbox

    async def _run_send_stream(self, outbox: _Outbox) -> None:
        """However the stream ends (login failed, the call broke or could not start, the
        task was cancelled), every send still waiting on it fails at once: no send may be
        left to a timer that `close` cancels."""
        ended: Exception = ConnectionLost(f"send stream to {self.endpoint} ended")
        try:
            try:
                metadata = await self._metadata()
            except Exception as error:  # the login failed: every send waiting here learns why
                ended = error
                return
            batched = outbox.packed
            method = "SendStreamPacked" if batched else "SendStream"
            call = self.channel.stream_stream(SERVICE + method)(outbox, metadata=metadata)
            try:
                async for raw in call:
                    if batched:
                        for response in pb.SendResponseBatch.FromString(raw).responses:
                            self._answered(response)
                    else:
                        self._answered(pb.SendResponse.FromString(raw))
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                    self.forget_token()
                if error.code() == grpc.StatusCode.UNIMPLEMENTED and batched:
                    self.batched = False  # a previous release: the next stream is plain
                log.debug("send stream to %s ended: %s", self.endpoint, error.code())
        finally:
            if self._outbox is outbox:
                self._outbox = None
            self._fail_waiting(ended)

    def _answered(self, response: pb.SendResponse) -> None:
        future = self._waiting.pop(response.message_id, None)
        if future is not None and not future.done():
            future.set_result(response)

    def _fail_waiting(self, error: Exception) -> None:
        waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_exception(error)

    async def subscribe(self, from_counter: int, *,
                        batched: bool = False) -> grpc.aio.UnaryStreamCall:
        """The member's raw event stream from `from_counter` (each message one serialized
        SignedSequencedEvent, or with `batched` a SignedSequencedEventBatch); the caller
        cancels the call."""
        method = "SubscribeBatched" if batched else "Subscribe"
        return self.channel.unary_stream(SERVICE + method)(
            pb.SubscribeRequest(member=self._member, from_counter=from_counter)
            .SerializeToString(), metadata=await self._metadata())

    async def acknowledge(self, timestamp_us: int) -> None:
        await self._unary("Acknowledge")(pb.AcknowledgeRequest(
            member=self._member, timestamp_us=timestamp_us).SerializeToString(),
            metadata=await self._metadata(), timeout=self._timeout_s)

    async def check_health(self) -> bool:
        check = self.channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString)
        try:
            response = await check(health_pb2.HealthCheckRequest(service=""),
                                   timeout=self._timeout_s)
        except grpc.aio.AioRpcError:
            return False
        return bool(response.status == health_pb2.HealthCheckResponse.SERVING)

    async def close(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if self._outbox is not None:
            self._outbox.end()
        if self._stream_task is not None:
            self._stream_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._stream_task
        # a stream task cancelled before it ran never reached its own `finally`
        self._fail_waiting(ConnectionLost(f"the connection to {self.endpoint} was closed"))
        await self.channel.close()
