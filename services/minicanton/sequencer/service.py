"""The gRPC SequencerService: a thin shell over admission, the writer and member streams.

Handlers take raw request bytes (generic handlers without deserializers), so garbage becomes
our typed `MalformedRequest` rather than a gRPC-internal error. Every refusal aborts with the
error's status and `error-id`: unary handlers run through `typed_rpc`, streams through
`stream_typed` (runtime.grpc_errors), so an untyped error is INTERNAL naming an incident
whose trace is in the log. On the send stream a refusal is a `SendRejected` message
instead, so one bad request does not end the stream. The batched variants send the same
responses and events, packing whatever is ready into one message.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from google.protobuf.message import DecodeError, Message

from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_pb2 as pb
from minicanton.codec.sequencer import (
    packed_messages,
    parse_submission_envelopes,
    signature_from_proto,
    unpacked_messages,
)
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.errors import MinicantonError
from minicanton.core.ids import MemberId
from minicanton.core.sequencing.batch import Batch, SubmissionRequest
from minicanton.core.sequencing.errors import (
    AuthenticationFailed,
    MalformedRequest,
    MemberDisabled,
    PermissionDenied,
    RequestTooLarge,
    SequencerUnavailable,
    UnknownRecipient,
    UnknownSender,
)
from minicanton.core.sequencing.members import MemberRecord
from minicanton.core.sequencing.run_signature import RunSignatureCache
from minicanton.core.sequencing.stored import with_serialized
from minicanton.core.sequencing.submission import ValidatedSubmission, validate_submission
from minicanton.runtime.clock import Clock
from minicanton.runtime.grpc_errors import stream_typed, typed_rpc
from minicanton.sequencer.auth import Authenticator
from minicanton.sequencer.limits import DomainLimits
from minicanton.sequencer.members import MemberCache
from minicanton.sequencer.reader import StreamContext, member_stream
from minicanton.sequencer.writer import Writer
from minicanton.store.sequencer import SequencerStore

log = logging.getLogger(__name__)
SERVICE = "minicanton.sequencer.v1.SequencerService"
MAX_PACKED_RESPONSES = 256
MAX_PENDING_RESPONSES = 1_024  # per send stream: admitted or refused, response not yet sent
P = TypeVar("P", bound=Message)
T = TypeVar("T")


def parse(message_type: type[P], raw: bytes) -> P:
    try:
        return message_type.FromString(raw)
    except (DecodeError, ValueError):
        raise MalformedRequest(f"the request is not a {message_type.__name__}") from None


typed = typed_rpc  # the admin service decorates its handlers with it too


@dataclass
class SequencerDeps:
    store: SequencerStore
    writer: Writer
    members: MemberCache
    auth: Authenticator
    limits: DomainLimits
    signing_key: SigningKeyPair
    sequencer_id: str
    total_nodes: int
    clock: Clock
    stream_context: Callable[[Callable[[], None]], StreamContext]
    stopping: Callable[[], bool]


class SequencerService:
    def __init__(self, deps: SequencerDeps) -> None:
        self.d = deps
        # per sender, the request run whose signature was verified last: the requests a
        # client signed together are verified once (core/sequencing/run_signature.py)
        self._request_runs: dict[MemberId, RunSignatureCache] = {}

    def handler(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(SERVICE, {
            "GetInfo": grpc.unary_unary_rpc_method_handler(self.get_info),
            "GetChallenge": grpc.unary_unary_rpc_method_handler(self.get_challenge),
            "Authenticate": grpc.unary_unary_rpc_method_handler(self.authenticate),
            "Send": grpc.unary_unary_rpc_method_handler(self.send),
            "SendStream": grpc.stream_stream_rpc_method_handler(self.send_stream),
            "SendStreamBatched": grpc.stream_stream_rpc_method_handler(self.send_stream_batched),
            "SendStreamPacked": grpc.stream_stream_rpc_method_handler(self.send_stream_packed),
            "Subscribe": grpc.unary_stream_rpc_method_handler(self.subscribe),
            "SubscribeBatched": grpc.unary_stream_rpc_method_handler(self.subscribe_batched),
            "Acknowledge": grpc.unary_unary_rpc_method_handler(self.acknowledge),
        })

    async def _member(self, context: grpc.aio.ServicerContext) -> tuple[MemberRecord, int]:
        return await self.d.auth.member_of(context.invocation_metadata() or ())

    @typed
    async def get_info(self, raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
        parse(pb.InfoRequest, raw)
        return pb.SequencerInfo(
            domain_id=self.d.limits.current.domain_id, sequencer_id=self.d.sequencer_id,
            sequencer_public_key=self.d.signing_key.public.raw,
            node_index=self.d.writer.node_index, total_nodes=self.d.total_nodes,
        ).SerializeToString()

    @typed
    async def get_challenge(self, raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
        request = parse(pb.ChallengeRequest, raw)
        nonce, expires_us = await self.d.auth.challenge(MemberId(request.member))
        return pb.Challenge(nonce=nonce, expires_at_us=expires_us).SerializeToString()

    @typed
    async def authenticate(self, raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
        request = parse(pb.AuthenticateRequest, raw)
        if not request.HasField("signature"):
            raise AuthenticationFailed("the challenge response carries no signature")
        token, expires_us = await self.d.auth.authenticate(
            MemberId(request.member), request.nonce, signature_from_proto(request.signature))
        return pb.AuthToken(token=token, expires_at_us=expires_us).SerializeToString()

    async def _admit(self, raw: bytes, member: MemberRecord) -> tuple[str, asyncio.Future[
            int | None]]:
        limit = self.d.limits.current.max_request_size_bytes
        if len(raw) > limit:
            raise RequestTooLarge(f"request of {len(raw)} bytes exceeds the domain's maximum "
                                  f"of {limit}")
        signed, serialized = parse_submission_envelopes(raw)
        checked = await self._validate(signed, len(raw), member.member)
        return signed.request.message_id, self.d.writer.submit(_as_bytes(checked, serialized),
                                                              len(raw))

    async def _validate(self, signed: Any, size: int, member: MemberId) -> ValidatedSubmission:
        runs = self._request_runs.get(member)
        if runs is None:
            runs = self._request_runs[member] = RunSignatureCache()

        def attempt() -> ValidatedSubmission:
            return validate_submission(signed, size, member, self.d.members.directory,
                                       self.d.limits.current, self.d.clock(), runs)
        try:
            return attempt()
        except (UnknownRecipient, UnknownSender):
            if not await self.d.members.refresh_after_miss():
                raise
            return attempt()

    @typed
    async def send(self, raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
        member, _ = await self._member(context)
        message_id, future = await self._admit(raw, member)
        return _accepted(message_id, await future)

    async def send_stream(self, requests: AsyncIterator[bytes],
                          context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
        async for responses in self._typed_stream(
                context, "SendStream", self._send_responses(requests, context, 1)):
            yield responses[0]

    async def send_stream_batched(self, requests: AsyncIterator[bytes],
                                  context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
        async for responses in self._typed_stream(
                context, "SendStreamBatched",
                self._send_responses(requests, context, MAX_PACKED_RESPONSES)):
            yield packed_messages(responses)

    async def send_stream_packed(self, packs: AsyncIterator[bytes],
                                 context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
        async for responses in self._typed_stream(
                context, "SendStreamPacked",
                self._send_responses(_unpacked(packs), context, MAX_PACKED_RESPONSES)):
            yield packed_messages(responses)

    @staticmethod
    async def _typed_stream(context: grpc.aio.ServicerContext, name: str,
                            items: AsyncGenerator[T, None]) -> AsyncIterator[T]:
        """`items` through the shared boundary (`stream_typed`), closed as soon as the
        call ends (its `finally` runs then, not whenever the generator is collected)."""
        async with contextlib.aclosing(items):
            async for item in stream_typed(context, f"Sequencer {name}", items):
                yield item

    async def _send_responses(self, requests: AsyncIterator[bytes],
                              context: grpc.aio.ServicerContext,
                              most: int) -> AsyncGenerator[list[bytes], None]:
        """Responses in request order: the next one (waiting for its write if need be), and
        after it, up to `most` in all, those already decided (one write decides many)."""
        member, _ = await self._member(context)
        # bounded: a client that does not read its responses stops being read
        pending: asyncio.Queue[_Item | None] = asyncio.Queue(MAX_PENDING_RESPONSES)
        pump = asyncio.get_running_loop().create_task(self._pump(requests, member, pending))
        backlog: collections.deque[_Item | None] = collections.deque()
        try:
            while True:
                if not backlog:
                    backlog.append(pending.get_nowait() if not pending.empty()
                                   else await pending.get())
                while not pending.empty():
                    backlog.append(pending.get_nowait())
                if backlog[0] is None:
                    if not await pump:  # ended on an error of ours (logged): not a clean end
                        await context.abort(grpc.StatusCode.INTERNAL, "internal error")
                    return
                first: _Item = backlog.popleft()  # type: ignore[assignment]
                responses = [_ready_response(first) if _decided(first)
                             else await _response(first)]
                while (backlog and backlog[0] is not None and len(responses) < most
                       and _decided(backlog[0])):
                    responses.append(_ready_response(backlog.popleft()))  # type: ignore
                yield responses
        finally:
            pump.cancel()

    async def _pump(self, requests: AsyncIterator[bytes], member: MemberRecord,
                    pending: asyncio.Queue[Any]) -> bool:
        """Admit the stream's requests; False when it broke on an untyped error (logged)."""
        try:
            async for raw in requests:
                try:
                    item: _Item = await self._admit(raw, member)
                except MinicantonError as error:
                    item = _rejected(_message_id_of(raw), error)
                if pending.full():  # the client does not read its responses: wait
                    await pending.put(item)
                else:  # what `put` does then, without a coroutine per request
                    pending.put_nowait(item)
        except Exception:
            log.exception("unexpected error on the send stream of %s", member.member)
            await pending.put(None)
            return False
        await pending.put(None)  # cancelled (the response side ended): nobody waits for it
        return True

    async def subscribe(self, raw: bytes,
                        context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
        async for run in self._typed_stream(context, "Subscribe",
                                            self._member_stream(raw, context)):
            for event in run:
                yield event

    async def subscribe_batched(self, raw: bytes,
                                context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
        async for run in self._typed_stream(context, "SubscribeBatched",
                                            self._member_stream(raw, context)):
            yield packed_messages(run)

    async def _member_stream(self, raw: bytes, context: grpc.aio.ServicerContext
                             ) -> AsyncGenerator[list[bytes], None]:
        member, expires_us = await self._member(context)
        request = parse(pb.SubscribeRequest, raw)
        if request.member != member.member:
            raise PermissionDenied(f"{member.member} may only read its own stream")
        if request.from_counter < 0:
            raise MalformedRequest("from_counter must not be negative")
        runs = member_stream(self.d.stream_context(self._liveness(member, expires_us)),
                             member, request.from_counter)
        async with contextlib.aclosing(runs):  # type: ignore[type-var]
            async for run in runs:
                yield run

    def _liveness(self, member: MemberRecord, expires_us: int) -> Callable[[], None]:
        def check() -> None:
            if self.d.stopping():
                raise SequencerUnavailable("this sequencer instance is shutting down")
            if self.d.clock() >= expires_us:
                raise AuthenticationFailed("the token expired; authenticate again")
            if self.d.members.directory.enabled(member.member) is None:
                raise MemberDisabled(f"{member.member} was disabled")
        return check

    @typed
    async def acknowledge(self, raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
        member, _ = await self._member(context)
        request = parse(pb.AcknowledgeRequest, raw)
        if request.member != member.member:
            raise PermissionDenied(f"{member.member} may only acknowledge its own events")
        if request.timestamp_us < 0:
            raise MalformedRequest("timestamp_us must not be negative")
        await self.d.store.acknowledge(member.number, request.timestamp_us)
        return pb.AcknowledgeResponse().SerializeToString()


def _as_bytes(checked: ValidatedSubmission, serialized: tuple[bytes, ...]
              ) -> ValidatedSubmission:
    """What the writer stores and members are delivered: the envelopes as the bytes they were
    checked as (codec `parse_submission_envelopes`). Nothing after admission reads the decoded
    envelopes, so the request keeps no batch (the writer's queue, bounded by the requests'
    sizes, would hold every envelope twice)."""
    request = checked.request
    return ValidatedSubmission(
        SubmissionRequest(request.domain_id, request.sender, request.message_id,
                          request.max_sequencing_time_us, Batch()),
        checked.sender_number, with_serialized(checked.envelopes, serialized))


def _accepted(message_id: str, timestamp_us: int | None) -> bytes:
    return pb.SendResponse(message_id=message_id, accepted=pb.SendAccepted(
        timestamp_us=timestamp_us or 0, duplicate=timestamp_us is None)).SerializeToString()


def _rejected(message_id: str, error: MinicantonError) -> bytes:
    return pb.SendResponse(message_id=message_id, rejected=pb.SendRejected(
        error_id=error.error_id, message=error.message)).SerializeToString()


_Item = bytes | tuple[str, "asyncio.Future[int | None]"]


async def _unpacked(packs: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The requests of each pack, one by one; a pack that does not split into requests is
    passed on whole, to be refused as a malformed request like any garbage."""
    async for pack in packs:
        try:
            requests = unpacked_messages(pack)
        except MalformedRequest:
            requests = [pack]
        for raw in requests:
            yield raw


def _decided(item: _Item) -> bool:
    return isinstance(item, bytes) or item[1].done()


async def _response(item: _Item) -> bytes:
    """A rejection already made, or the outcome of an admitted send once written."""
    if not isinstance(item, bytes):
        with contextlib.suppress(Exception):  # its outcome, error or not, is read below
            await item[1]
    return _ready_response(item)


def _ready_response(item: _Item) -> bytes:
    """The response to a `_decided` item."""
    if isinstance(item, bytes):
        return item
    message_id, future = item
    try:
        return _accepted(message_id, future.result())
    except MinicantonError as error:
        return _rejected(message_id, error)


def _message_id_of(raw: bytes) -> str:
    try:
        return pb.SignedSubmissionRequest.FromString(raw).request.message_id
    except (DecodeError, ValueError):
        return ""
