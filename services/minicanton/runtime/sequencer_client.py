"""The sequencer client every member uses (DESIGN.md §4): sends, one subscription, failover.

Theory of operation.

* **Sends.** `send_async` signs the submission once (with the others queued in the same turn of
  the event loop, under one run signature) and offers it to a healthy sequencer over its send
  stream, round robin by run (a run travels packed to one instance, the next run to the
  next). A connection failure or an "unavailable" answer marks
  that instance unhealthy and retries the *same signed request* (same message id) on the next,
  with bounded backoff, until one accepts it or its max sequencing time has passed; a typed
  refusal (bad signature, unknown recipient, ...) is raised to the caller at once. Acceptance
  is not the outcome: the outcome comes from the member's own stream, through the pure
  `SendTracker` — delivered (the receipt), failed (a deliver-error), or not sequenced (an event
  later than the max sequencing time arrived first). Once that time has passed the client asks
  for a time proof, so the verdict never waits for unrelated traffic.
* **Subscription.** One at a time, sticky to one healthy instance. Every event is checked by
  the pure `EventChain` (trusted sequencer signature, member, domain, gapless counter, timestamp
  chain) before anything else sees it. On failure the client resumes on the next instance from
  the last event it received, and that first event must equal the one it had (else
  `SequencerFork`: an alarm, and processing stops). Verified events go through a bounded queue
  to the member's handler, in order, one at a time (`start`) or, with `start_batched`, as
  lists of whatever queued up while the previous list was handled (so a member can commit
  several events in one database transaction); the handler stores the last event's
  `position` in the same database transaction as the events' effects, and the member passes
  the stored position back as `resume_from` on restart, so each event is processed exactly
  once.
* **Acknowledgements.** After the handler returned (its effects are stored), the client tells
  the sequencers how far the member got, at most once per `acknowledge_interval_ms` and in the
  background, so every member's acknowledgement moves and the sequencers can prune. A member
  whose handler only queues events (the mediator) turns `auto_acknowledge` off and calls
  `acknowledge_processed` once it stored them.
* **Failure.** A verification failure, fork, malformed event or challenge (`MalformedRequest`),
  handler exception, or any exception escaping one of the client's tasks stops the client;
  `failure` holds it and `wait_failed()` returns it. Nothing is ever skipped, and the client
  never dies silently: every task it starts is tracked, watched by a done-callback and
  cancelled on `close`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc

from minicanton.codec.sequencer import (
    parse_signed_event,
    submission_run_bytes,
    unpacked_messages,
)
from minicanton.core.crypto.signing import SigningKeyPair, SigningPublicKey
from minicanton.core.errors import MinicantonError
from minicanton.core.ids import MemberId
from minicanton.core.sequencing.batch import (
    Batch,
    Envelope,
    MemberRecipient,
    SubmissionRequest,
    sign_submissions,
)
from minicanton.core.sequencing.chain import EventChain, VerifiedEvent
from minicanton.core.sequencing.errors import (
    MaxSequencingTimePassed,
    SequencerClientError,
    SequencerUnavailable,
)
from minicanton.core.sequencing.events import SequencerPosition
from minicanton.core.sequencing.send_tracking import (
    SendDelivered,
    SendOutcome,
    SendTracker,
)
from minicanton.runtime.clock import Clock, wall_clock_us
from minicanton.runtime.grpc_errors import error_id_of
from minicanton.runtime.retry import Backoff
from minicanton.runtime.sequencer_connection import ConnectionLost, SequencerConnection

log = logging.getLogger(__name__)

EventHandler = Callable[[VerifiedEvent], Awaitable[None]]
BatchHandler = Callable[[list[VerifiedEvent]], Awaitable[None]]
RETRYABLE = {SequencerUnavailable.error_id, "SEQUENCER_INSTANCE_FENCED",
             ConnectionLost.error_id}


class SendRejected(MinicantonError):
    """A sequencer refused the request for good (typed `rejected_error_id`)."""

    error_id = "SEQUENCER_SEND_REJECTED"

    def __init__(self, rejected_error_id: str, message: str) -> None:
        super().__init__(f"{rejected_error_id}: {message}")
        self.rejected_error_id = rejected_error_id


@dataclass(frozen=True, slots=True)
class SequencerClientConfig:
    endpoints: tuple[str, ...]
    max_sequencing_time_ms: int = 20_000  # default max sequencing time after now
    backoff: Backoff = field(default_factory=Backoff)
    rpc_timeout_ms: int = 5_000
    health_check_interval_ms: int = 250
    handler_queue_size: int = 1_000
    acknowledge_interval_ms: int = 1_000  # at most one acknowledgement per interval
    auto_acknowledge: bool = True  # False: the member calls `acknowledge_processed` itself


@dataclass(frozen=True, slots=True)
class SendHandle:
    message_id: str
    max_sequencing_time_us: int
    outcome: asyncio.Future[SendOutcome]


class SequencerClient:
    def __init__(self, *, domain_id: str, member: MemberId, signing_key: SigningKeyPair,
                 trusted_sequencer_keys: Iterable[SigningPublicKey],
                 config: SequencerClientConfig, clock: Clock = wall_clock_us) -> None:
        if not config.endpoints:
            raise SequencerClientError("a sequencer client needs at least one endpoint")
        self.domain_id = domain_id
        self.member = member
        self._key = signing_key
        self._trusted = {k.fingerprint: k for k in trusted_sequencer_keys}
        self.config = config
        self._clock = clock
        timeout_s = config.rpc_timeout_ms / 1_000
        self.connections = [SequencerConnection(e, domain_id, member, signing_key, clock,
                                                timeout_s) for e in config.endpoints]
        self._next_send = 0
        self._subscribed = hash(member) % len(self.connections)
        self._tracker = SendTracker()
        self._outcomes: dict[str, asyncio.Future[SendOutcome]] = {}
        self._unsigned: list[tuple[SubmissionRequest,
                                   asyncio.Future[tuple[bytes, SequencerConnection]]]] = []
        self._queue: asyncio.Queue[VerifiedEvent] = asyncio.Queue(config.handler_queue_size)
        self._tasks: set[asyncio.Task[None]] = set()
        self._failed = asyncio.Event()
        self._processed_us = 0
        self._to_acknowledge = asyncio.Event()
        self.failure: BaseException | None = None
        self.last_received: SequencerPosition | None = None
        self._closed = False

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self, handler: EventHandler,
                    resume_from: SequencerPosition | None = None) -> None:
        """Subscribe from after `resume_from` (the member's stored position; None: from the
        first event) and feed verified events to `handler`, in order."""
        async def one_by_one(events: list[VerifiedEvent]) -> None:
            for event in events:
                await handler(event)

        await self.start_batched(one_by_one, resume_from, max_batch=1)

    async def start_batched(self, handler: BatchHandler,
                            resume_from: SequencerPosition | None = None,
                            max_batch: int = 64) -> None:
        """Like `start`, but `handler` gets the events queued so far (1 to `max_batch`, in
        order) at once, so it can process them in one database transaction."""
        self._chain = EventChain(self.domain_id, self.member, self._trusted, resume_from)
        for coroutine in (self._subscription_loop(), self._handler_loop(handler, max_batch),
                          self._health_loop(), self._acknowledge_loop()):
            self._spawn(coroutine)

    async def close(self) -> None:
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for connection in self.connections:
            await connection.close()
        self._fail_pending(SequencerClientError("the sequencer client was closed"))

    async def wait_failed(self) -> BaseException:
        await self._failed.wait()
        assert self.failure is not None
        return self.failure

    # -- sending -------------------------------------------------------------------------

    async def send(self, batch: Batch, *, message_id: str | None = None,
                   max_sequencing_time_us: int | None = None) -> SendOutcome:
        """Send and wait for the outcome seen on our own stream."""
        handle = await self.send_async(batch, message_id=message_id,
                                       max_sequencing_time_us=max_sequencing_time_us)
        return await handle.outcome

    async def send_async(self, batch: Batch, *, message_id: str | None = None,
                         max_sequencing_time_us: int | None = None) -> SendHandle:
        """Return once a sequencer accepted the request (its outcome is `handle.outcome`);
        raise `SendRejected` if one refused it for good."""
        self._check_running()
        message_id = message_id or secrets.token_hex(16)
        deadline_us = max_sequencing_time_us or (
            self._clock() + self.config.max_sequencing_time_ms * 1_000)
        request = SubmissionRequest(self.domain_id, self.member, message_id, deadline_us, batch)
        raw, connection = await self._signed(request)
        outcome: asyncio.Future[SendOutcome] = asyncio.get_running_loop().create_future()
        self._tracker.track(message_id, deadline_us)
        self._outcomes[message_id] = outcome
        try:
            await self._offer(raw, message_id, deadline_us, outcome, connection)
        except BaseException:
            self._tracker.forget(message_id)
            self._outcomes.pop(message_id, None)
            raise
        return SendHandle(message_id, deadline_us, outcome)

    async def _signed(self, request: SubmissionRequest) -> tuple[bytes, SequencerConnection]:
        """The request signed, together with every other request queued in this turn of the
        event loop (one signature over their run root): a member sending many messages at
        once signs, and the sequencer verifies, once per run. The run goes first to one
        sequencer, the next run to the next (round robin by run), so it travels packed."""
        signed: asyncio.Future[tuple[bytes, SequencerConnection]] = \
            asyncio.get_running_loop().create_future()
        self._unsigned.append((request, signed))
        if len(self._unsigned) == 1:
            asyncio.get_running_loop().call_soon(self._sign_queued)
        return await signed

    def _sign_queued(self) -> None:
        queued, self._unsigned = self._unsigned, []
        try:
            raws = submission_run_bytes(
                sign_submissions([request for request, _ in queued], self._key))
        except Exception as error:  # a key that cannot sign, a request that cannot be
            for _, future in queued:  # written: every waiting send learns it
                if not future.done():
                    future.set_exception(error)
            return
        connection = self._pick_for_send()
        for (_, future), raw in zip(queued, raws, strict=True):
            if not future.done():
                future.set_result((raw, connection))

    async def request_time_proof(self) -> int:
        """Sequencer time now: the timestamp of an empty event sent to ourselves."""
        batch = Batch((Envelope((MemberRecipient(self.member),), b""),))
        outcome = await self.send(batch, message_id=f"tick-{secrets.token_hex(8)}")
        if not isinstance(outcome, SendDelivered):
            raise SequencerClientError(f"time proof not sequenced: {outcome}")
        return outcome.timestamp_us

    async def _offer(self, raw: bytes, message_id: str, deadline_us: int,
                     outcome: asyncio.Future[SendOutcome], first: SequencerConnection) -> None:
        attempt = 0
        while not outcome.done() and self._clock() < deadline_us:
            connection = first if attempt == 0 and first.healthy else self._pick_for_send()
            try:
                response = await connection.send(raw, message_id)
            except (ConnectionLost, grpc.aio.AioRpcError, OSError) as error:
                self._unhealthy(connection, error)
            else:
                if response.WhichOneof("outcome") == "accepted":
                    return
                error_id = response.rejected.error_id
                if error_id not in RETRYABLE:
                    if error_id == MaxSequencingTimePassed.error_id and attempt > 0:
                        break  # an earlier attempt may have been sequenced: the stream tells
                    raise SendRejected(error_id, response.rejected.message)
                self._unhealthy(connection, error_id)
            await self.config.backoff.sleep(attempt)
            attempt += 1
        if not outcome.done():
            self._after_deadline(deadline_us)

    def _after_deadline(self, deadline_us: int) -> None:
        """Retries stopped at the deadline: make sure some event after it will arrive."""
        async def prove() -> None:
            delay_s = max(0.0, (deadline_us - self._clock()) / 1e6) + 0.01
            await asyncio.sleep(delay_s)
            with contextlib.suppress(Exception):
                await self.request_time_proof()
        self._spawn(prove())

    def _pick_for_send(self) -> SequencerConnection:
        count = len(self.connections)
        for step in range(count):
            connection = self.connections[(self._next_send + step) % count]
            if connection.healthy:
                self._next_send = (self._next_send + step + 1) % count
                return connection
        self._next_send = (self._next_send + 1) % count
        return self.connections[self._next_send]

    def _unhealthy(self, connection: SequencerConnection, why: object) -> None:
        if connection.healthy:
            log.info("sequencer %s unhealthy: %s", connection.endpoint, why)
        connection.healthy = False

    async def acknowledge(self, timestamp_us: int) -> None:
        """Tell the sequencers everything up to `timestamp_us` is processed (for pruning)."""
        await self.connections[self._subscribed].acknowledge(timestamp_us)

    def acknowledge_processed(self, timestamp_us: int) -> None:
        """Everything up to `timestamp_us` is processed and stored: acknowledge it soon, in
        the background, at most once per `acknowledge_interval_ms` (the latest position)."""
        if timestamp_us > self._processed_us:
            self._processed_us = timestamp_us
            self._to_acknowledge.set()

    async def _acknowledge_loop(self) -> None:
        interval_s = self.config.acknowledge_interval_ms / 1_000
        while not self._closed:
            await self._to_acknowledge.wait()
            self._to_acknowledge.clear()
            try:
                await self.acknowledge(self._processed_us)
            except (MinicantonError, grpc.aio.AioRpcError, OSError) as error:
                log.debug("acknowledgement failed (retried): %s", error)
                self._to_acknowledge.set()
            await asyncio.sleep(interval_s)

    # -- subscription --------------------------------------------------------------------

    async def _subscription_loop(self) -> None:
        attempt, overlap = 0, True
        while not self._closed:
            connection = self._pick_for_subscription()
            call = None
            batched = connection.batched
            try:
                call = await connection.subscribe(self._chain.restart(overlap=overlap),
                                                  batched=batched)
                async for raw in call:
                    attempt, overlap = 0, True
                    for item in unpacked_messages(raw) if batched else (raw,):
                        verified = self._receive(item)
                        if verified is None:
                            continue
                        if self._queue.full():  # the handler is behind: wait for room
                            await self._queue.put(verified)
                        else:  # what `put` does then, without a coroutine per event
                            self._queue.put_nowait(verified)
            except MinicantonError as error:  # typed: verification, fork, malformed bytes
                return self._fail(error)
            except grpc.aio.AioRpcError as error:
                overlap = self._after_stream_error(connection, error)
            except Exception as error:  # a bug of ours or of a library: stop, loudly
                log.exception("sequencer subscription of %s failed", self.member)
                return self._fail(error)
            finally:
                if call is not None:
                    call.cancel()
            await self.config.backoff.sleep(attempt)
            attempt += 1

    def _after_stream_error(self, connection: SequencerConnection,
                            error: grpc.aio.AioRpcError) -> bool:
        """Whether the next attempt should compare an overlap event."""
        error_id = error_id_of(error)
        if error_id == "SEQUENCER_COUNTER_PRUNED":
            return False
        if error.code() == grpc.StatusCode.UNIMPLEMENTED and connection.batched:
            connection.batched = False  # a previous release: subscribe unbatched, same place
            return True
        if error.code() == grpc.StatusCode.UNAUTHENTICATED:
            connection.forget_token()  # the token expired: log in again, same instance
            return True
        if error.code() != grpc.StatusCode.CANCELLED:
            self._unhealthy(connection, error.code())
            self._subscribed = (self._subscribed + 1) % len(self.connections)
        return True

    def _pick_for_subscription(self) -> SequencerConnection:
        count = len(self.connections)
        for step in range(count):
            index = (self._subscribed + step) % count
            if self.connections[index].healthy:
                self._subscribed = index
                return self.connections[index]
        return self.connections[self._subscribed]

    def _receive(self, raw: bytes) -> VerifiedEvent | None:
        """The event verified and its send outcomes settled; None for the overlap event."""
        verified = self._chain.accept(parse_signed_event(raw), raw)
        if verified is None:
            return None
        self.last_received = verified.position
        for result in self._tracker.observe(verified.event):
            future = self._outcomes.pop(result.message_id, None)
            if future is not None and not future.done():
                future.set_result(result)
        return verified

    async def _handler_loop(self, handler: BatchHandler, max_batch: int) -> None:
        queue = self._queue
        while True:
            batch = [queue.get_nowait() if not queue.empty() else await queue.get()]
            while len(batch) < max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                await handler(batch)
            except Exception as error:
                self._fail(error)
                return
            if self.config.auto_acknowledge:
                self.acknowledge_processed(batch[-1].event.timestamp_us)

    async def _health_loop(self) -> None:
        while not self._closed:
            await asyncio.sleep(self.config.health_check_interval_ms / 1_000)
            for connection in self.connections:
                if not connection.healthy and await connection.check_health():
                    log.info("sequencer %s healthy again", connection.endpoint)
                    connection.healthy = True

    # -- failure -------------------------------------------------------------------------

    def _check_running(self) -> None:
        if self.failure is not None:
            raise SequencerClientError(f"the sequencer client stopped: {self.failure}")
        if self._closed:
            raise SequencerClientError("the sequencer client was closed")

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        """No task of ours may end with an exception nobody reads: it stops the client."""
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and not self._closed:
            log.error("a task of the sequencer client of %s failed", self.member,
                      exc_info=error)
            self._fail(error)

    def _fail(self, error: BaseException) -> None:
        if self.failure is None:
            self.failure = error
            log.critical("sequencer client of %s stopped: %s", self.member, error)
            self._failed.set()
            self._fail_pending(error)
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()

    def _fail_pending(self, error: BaseException) -> None:
        outcomes, self._outcomes = self._outcomes, {}
        for future in outcomes.values():
            if not future.done():
                future.set_exception(error)
                future.exception()  # an unawaited outcome is no news at shutdown: no warning


def sequencer_client(domain_id: str, member: MemberId, signing_key: SigningKeyPair,
                     endpoints: Sequence[str], trusted_sequencer_keys: Iterable[SigningPublicKey],
                     **options: object) -> SequencerClient:
    """Shorthand: `SequencerClientConfig(endpoints=..., **options)`."""
    config = SequencerClientConfig(tuple(endpoints), **options)  # type: ignore[arg-type]
    return SequencerClient(domain_id=domain_id, member=member, signing_key=signing_key,
                           trusted_sequencer_keys=trusted_sequencer_keys, config=config)
