"""The mediator, as a sans-I/O machine (DESIGN.md §3 steps 2, 5, 6; §4 time and timeouts).

Theory of operation
-------------------
The machine is fed the mediator's sequenced events in order, each with the topology snapshot
at the event's timestamp: `handle_event(event, snapshot) -> list[Effect]`. It never reads a
clock. Sequencer time is the only time there is, so a request times out when an *observed
event's* timestamp reaches its deadline; when the domain is quiet, the shell's timer calls
`handle_timer(now_us)` at `next_deadline_us()`, which asks for a time proof (an empty event
to itself) so that time visibly passes.

* A batch holding an `InformeeMessage` is a confirmation request; its timestamp is its id.
  The domain parameters in force at that timestamp fix its *participant response deadline*
  (request time + confirmation response timeout), its *decision time* (+ mediator reaction
  timeout) and how long its root hash is remembered: a request with a root hash remembered
  is a replay and rejected as `DUPLICATE_REQUEST`. The root hash is kept until the request
  time + twice the ledger time tolerance, never less than the decision time: a replay
  sequenced later fails the participants' ledger time check (`replay_protection`, Canton's
  mediator deduplication timeout). The root-hash messages of the same batch (each addressed
  to one participant and this mediator) are checked against the informee tree; a malformed
  request is rejected at once. So is one whose informee message names a submitting
  participant other than the batch's sender: the sequencer authenticated the sender, while
  `submitting_participant` is a free field the submitter fills in, and the verdict goes to the
  submitter. Otherwise a `ResponseAggregation` starts, holding the request-time snapshot.
* A `ConfirmationResponse` is verified (its sender's signature, with the keys in force when
  it is sequenced) and fed to the aggregation. Responses sequenced up to and including the
  deadline count; once a request is decided anything later for it is ignored and recorded.
* After the event's messages, every request whose deadline is at or before the event's
  timestamp that is still undecided times out, naming the participants that did not answer.
  Never before: an event one microsecond earlier leaves it pending.
* A verdict goes to every informee participant (and every participant that was sent a
  root-hash message, and the authenticated submitter), each in its own envelope of one batch
  and each its own `MediatorResult` signed by the mediator (Ed25519 is deterministic): the
  submitter gets the full verdict (who rejected and why, who did not answer), every other
  recipient only what its own views showed it (`verdict_disclosure`). The batch has the
  message id ``verdict-<request ts>`` and the decision time as its max sequencing time. The
  id and the bytes are functions of the request, so a resend after a crash or by a new
  active instance is deduplicated by the sequencer.

Effects are returned in the order they must happen: the `Persist*` ones are written in the
same database transaction as the event's position, then `SendVerdict` is sent (persist
before send, as etcd raft's `Ready`). The machine's output is a function of the events and
snapshots alone: replaying the same events into a fresh machine gives the same effects, which
is how a restarted (or newly active) mediator rebuilds its pending requests and the root
hashes it must still remember (`replay_protection.replay_start_us` says from which event).
An event at or before the last one handled is ignored, so feeding an event twice changes
nothing.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TypeAlias

from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.errors import CryptoError
from minicanton.core.hashing import Hash, HashPurpose
from minicanton.core.ids import MemberId, MemberKind, ParticipantId, parse_member_id
from minicanton.core.protocol.confirmation_policy import ConfirmationPolicy
from minicanton.core.protocol.message_codec import (
    MessageDecodeError,
    UnknownMessageKind,
    decode_protocol_message,
)
from minicanton.core.protocol.messages import (
    ConfirmationResponse,
    InformeeMessage,
    MediatorResult,
    Reject,
    RejectReason,
    RootHashMessage,
    Verdict,
    encode_protocol_message,
)
from minicanton.core.protocol.replay_protection import remember_until_us
from minicanton.core.protocol.response_aggregation import (
    InvalidConfirmationResponse,
    MediatorRejectCode,
    ResponseAggregation,
    informee_participants,
    malformed_request_reasons,
    mediator_reason,
)
from minicanton.core.protocol.verdict_disclosure import (
    hides_nothing,
    informee_verdict,
    sight_of,
)
from minicanton.core.sequencing.batch import Batch, Envelope, GroupRecipient, MemberRecipient
from minicanton.core.sequencing.events import Deliver, SequencedEvent
from minicanton.core.topology.errors import MemberKeyNotValid
from minicanton.core.topology.snapshot import TopologySnapshot

# --------------------------------------------------------------------------------- effects


@dataclass(frozen=True, slots=True)
class PersistRequest:
    """A confirmation request, with the payloads it arrived in (informee message first)."""

    request_ts_us: int
    root_hash: Hash
    submitting_participant: ParticipantId
    confirmation_policy: ConfirmationPolicy
    response_deadline_us: int
    decision_time_us: int
    payloads: tuple[bytes, ...]

    def __init__(
        self,
        request_ts_us: int,
        root_hash: Hash,
        submitting_participant: ParticipantId,
        confirmation_policy: ConfirmationPolicy,
        response_deadline_us: int,
        decision_time_us: int,
        payloads: tuple[bytes, ...],
    ) -> None:
        object.__setattr__(self, "request_ts_us", request_ts_us)
        object.__setattr__(self, "root_hash", root_hash)
        object.__setattr__(self, "submitting_participant", submitting_participant)
        object.__setattr__(self, "confirmation_policy", confirmation_policy)
        object.__setattr__(self, "response_deadline_us", response_deadline_us)
        object.__setattr__(self, "decision_time_us", decision_time_us)
        object.__setattr__(self, "payloads", payloads)


class ResponseOutcome(Enum):
    COUNTED = "COUNTED"  # changed the aggregation
    NO_CHANGE = "NO_CHANGE"  # its parties had already answered
    AFTER_DECISION = "AFTER_DECISION"  # the request was already decided (or timed out)
    INVALID = "INVALID"  # ignored with an alarm (bad signature, unauthorized, unknown request)


@dataclass(frozen=True, slots=True)
class PersistResponse:
    request_ts_us: int
    response_ts_us: int
    sender: ParticipantId
    view_hash: Hash | None
    outcome: ResponseOutcome
    note: str
    payload: bytes

    def __init__(
        self,
        request_ts_us: int,
        response_ts_us: int,
        sender: ParticipantId,
        view_hash: Hash | None,
        outcome: ResponseOutcome,
        note: str,
        payload: bytes,
    ) -> None:
        object.__setattr__(self, "request_ts_us", request_ts_us)
        object.__setattr__(self, "response_ts_us", response_ts_us)
        object.__setattr__(self, "sender", sender)
        object.__setattr__(self, "view_hash", view_hash)
        object.__setattr__(self, "outcome", outcome)
        object.__setattr__(self, "note", note)
        object.__setattr__(self, "payload", payload)


@dataclass(frozen=True, slots=True)
class VerdictDelivery:
    """The signed result one recipient is sent (its own copy of the verdict)."""

    recipient: ParticipantId
    result: MediatorResult

    def __init__(self, recipient: ParticipantId, result: MediatorResult) -> None:
        object.__setattr__(self, "recipient", recipient)
        object.__setattr__(self, "result", result)


@dataclass(frozen=True, slots=True)
class PersistVerdict:
    """Written with the event that decided the request; also the send outbox. `result` is
    the full verdict (the audit log's); `deliveries` what each recipient is sent."""

    request_ts_us: int
    decided_ts_us: int
    message_id: str
    max_sequencing_time_us: int
    result: MediatorResult
    deliveries: tuple[VerdictDelivery, ...]  # sorted by recipient

    def __init__(
        self,
        request_ts_us: int,
        decided_ts_us: int,
        message_id: str,
        max_sequencing_time_us: int,
        result: MediatorResult,
        deliveries: tuple[VerdictDelivery, ...],
    ) -> None:
        object.__setattr__(self, "request_ts_us", request_ts_us)
        object.__setattr__(self, "decided_ts_us", decided_ts_us)
        object.__setattr__(self, "message_id", message_id)
        object.__setattr__(self, "max_sequencing_time_us", max_sequencing_time_us)
        object.__setattr__(self, "result", result)
        object.__setattr__(self, "deliveries", deliveries)

    @property
    def recipients(self) -> tuple[ParticipantId, ...]:
        return tuple(d.recipient for d in self.deliveries)


@dataclass(frozen=True, slots=True)
class SendVerdict:
    """Send `batch()`: each delivery in its own envelope, so no recipient learns another or
    another's copy. `result` is the full verdict, for logs: never send it to everyone."""

    message_id: str
    max_sequencing_time_us: int
    result: MediatorResult
    deliveries: tuple[VerdictDelivery, ...]  # sorted by recipient

    def __init__(
        self,
        message_id: str,
        max_sequencing_time_us: int,
        result: MediatorResult,
        deliveries: tuple[VerdictDelivery, ...],
    ) -> None:
        object.__setattr__(self, "message_id", message_id)
        object.__setattr__(self, "max_sequencing_time_us", max_sequencing_time_us)
        object.__setattr__(self, "result", result)
        object.__setattr__(self, "deliveries", deliveries)

    @property
    def recipients(self) -> tuple[ParticipantId, ...]:
        return tuple(d.recipient for d in self.deliveries)

    def batch(self) -> Batch:
        return verdict_batch(
            [(d.recipient, encode_protocol_message(d.result)) for d in self.deliveries]
        )


def verdict_batch(payloads: Iterable[tuple[ParticipantId, bytes]]) -> Batch:
    """One envelope per recipient, addressed to it alone."""
    return Batch(tuple(
        Envelope((MemberRecipient(MemberId(recipient)),), payload)
        for recipient, payload in payloads
    ))


@dataclass(frozen=True, slots=True)
class RequestTimeProof:
    """Ask the sequencer for an empty event to ourselves: a deadline at `at_us` has passed on
    our clock, and only a sequenced event can show that it has passed in the domain."""

    at_us: int


@dataclass(frozen=True, slots=True)
class RaiseAlarm:
    """Evidence of a misbehaving member; the shell logs it (and counts it)."""

    ts_us: int
    code: str
    message: str

    def __init__(self, ts_us: int, code: str, message: str) -> None:
        object.__setattr__(self, "ts_us", ts_us)
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "message", message)


Effect: TypeAlias = (
    PersistRequest | PersistResponse | PersistVerdict | SendVerdict | RequestTimeProof | RaiseAlarm
)


VERDICT_MESSAGE_ID_PREFIX = "verdict-"


def verdict_message_id(request_ts_us: int) -> str:
    return f"{VERDICT_MESSAGE_ID_PREFIX}{request_ts_us}"


# --------------------------------------------------------------------------------- machine


@dataclass(frozen=True, slots=True)
class _Pending:
    aggregation: ResponseAggregation
    snapshot: TopologySnapshot  # at the request's timestamp
    response_deadline_us: int
    decision_time_us: int
    recipients: tuple[ParticipantId, ...]
    submitter: ParticipantId | None  # authenticated as the request's sender

    def __init__(
        self,
        aggregation: ResponseAggregation,
        snapshot: TopologySnapshot,
        response_deadline_us: int,
        decision_time_us: int,
        recipients: tuple[ParticipantId, ...],
        submitter: ParticipantId | None,
    ) -> None:
        object.__setattr__(self, "aggregation", aggregation)
        object.__setattr__(self, "snapshot", snapshot)
        object.__setattr__(self, "response_deadline_us", response_deadline_us)
        object.__setattr__(self, "decision_time_us", decision_time_us)
        object.__setattr__(self, "recipients", recipients)
        object.__setattr__(self, "submitter", submitter)


@dataclass(slots=True)
class _Received:
    """One event's messages for the mediator, sorted by kind."""

    informee_messages: list[tuple[InformeeMessage, bytes]]
    root_hashes: dict[ParticipantId, frozenset[Hash]]
    root_hash_payloads: list[bytes]
    responses: list[tuple[ConfirmationResponse, bytes]]
    alarms: list[RaiseAlarm]

    def __init__(
        self,
        informee_messages: list[tuple[InformeeMessage, bytes]],
        root_hashes: dict[ParticipantId, frozenset[Hash]],
        root_hash_payloads: list[bytes],
        responses: list[tuple[ConfirmationResponse, bytes]],
        alarms: list[RaiseAlarm],
    ) -> None:
        object.__setattr__(self, "informee_messages", informee_messages)
        object.__setattr__(self, "root_hashes", root_hashes)
        object.__setattr__(self, "root_hash_payloads", root_hash_payloads)
        object.__setattr__(self, "responses", responses)
        object.__setattr__(self, "alarms", alarms)


class Mediator:
    def __init__(self, mediator_id: MemberId, signing_key: SigningKeyPair) -> None:
        self.mediator_id = mediator_id
        self._key = signing_key
        self._pending: dict[int, _Pending] = {}
        self._decided: set[int] = set()  # request ts, kept until its decision time
        self._root_hashes: dict[Hash, int] = {}  # -> until when a request with it is remembered
        # Heaps, so each event costs O(log n) however many requests are in flight: response
        # deadlines of pending requests (entries of decided ones are skipped lazily), decision
        # times of the requests decided, and until when each root hash is remembered.
        self._deadlines: list[tuple[int, int]] = []  # (response deadline, request ts)
        self._decisions: list[tuple[int, int]] = []  # (decision time, request ts)
        self._expiries: list[tuple[int, int, Hash]] = []  # (remembered until, request ts, root)
        self._last_ts_us: int | None = None

    @property
    def last_ts_us(self) -> int | None:
        """The timestamp of the last event handled (the clean position's)."""
        return self._last_ts_us

    def skip_to(self, ts_us: int) -> None:
        """Mark every event up to `ts_us` as handled: after a restart, the stored events were
        replayed from the oldest request that still matters, and the rest changed nothing."""
        if self._last_ts_us is None or ts_us > self._last_ts_us:
            self._last_ts_us = ts_us

    @property
    def pending_requests(self) -> tuple[int, ...]:
        return tuple(self._pending)

    def aggregation(self, request_ts_us: int) -> ResponseAggregation | None:
        pending = self._pending.get(request_ts_us)
        return pending.aggregation if pending else None

    def next_deadline_us(self) -> int | None:
        while self._deadlines and self._deadlines[0][1] not in self._pending:
            heapq.heappop(self._deadlines)
        return self._deadlines[0][0] if self._deadlines else None

    def handle_timer(self, now_us: int) -> list[Effect]:
        deadline = self.next_deadline_us()
        if deadline is None or now_us < deadline:
            return []
        return [RequestTimeProof(deadline)]

    def handle_event(self, event: SequencedEvent, snapshot: TopologySnapshot) -> list[Effect]:
        """The effects of one sequenced event; `snapshot` is the topology at its timestamp."""
        ts_us = event.timestamp_us
        if self._last_ts_us is not None and ts_us <= self._last_ts_us:
            return []
        self._last_ts_us = ts_us
        self._forget_before(ts_us)
        effects: list[Effect] = []
        if isinstance(event.content, Deliver):
            received = self._sort(ts_us, event.content.batch.envelopes)
            effects += received.alarms
            effects += self._on_request(ts_us, event.content.sender, received, snapshot)
            for response, payload in received.responses:
                effects += self._on_response(ts_us, response, payload, snapshot)
        effects += self._time_out(ts_us)
        return effects

    # --- sorting an event's envelopes ------------------------------------------------

    def _sort(self, ts_us: int, envelopes: Iterable[Envelope]) -> _Received:
        received = _Received([], {}, [], [], [])
        for envelope in envelopes:
            try:
                message = decode_protocol_message(envelope.content)
            except UnknownMessageKind:
                continue  # not ours to read (e.g. a topology broadcast): the shell routes it
            except MessageDecodeError as err:
                received.alarms.append(RaiseAlarm(ts_us, err.error_id, err.message))
                continue
            if isinstance(message, InformeeMessage):
                received.informee_messages.append((message, envelope.content))
            elif isinstance(message, RootHashMessage):
                self._add_root_hash(received, envelope, message)
            elif isinstance(message, ConfirmationResponse):
                received.responses.append((message, envelope.content))
            else:
                received.alarms.append(RaiseAlarm(
                    ts_us, "MEDIATOR_UNEXPECTED_MESSAGE", "a mediator result was sent to us"
                ))
        return received

    @staticmethod
    def _add_root_hash(received: _Received, envelope: Envelope, message: RootHashMessage) -> None:
        received.root_hash_payloads.append(envelope.content)
        for recipient in envelope.recipients:
            if isinstance(recipient, GroupRecipient):
                continue  # the mediator group; a participant group would hide nobody
            participant = _as_participant(recipient)
            if participant is not None:
                known = received.root_hashes.get(participant, frozenset())
                received.root_hashes[participant] = known | {message.root_hash}

    # --- requests --------------------------------------------------------------------

    def _on_request(
        self, ts_us: int, sender: MemberId | None, received: _Received,
        snapshot: TopologySnapshot,
    ) -> list[Effect]:
        if not received.informee_messages:
            if received.root_hash_payloads:
                return [RaiseAlarm(ts_us, MediatorRejectCode.MALFORMED_REQUEST.value,
                                   "root-hash messages without an informee message")]
            return []
        informee, informee_payload = received.informee_messages[0]
        submitter = _authenticated_submitter(informee, sender, snapshot)
        parameters = snapshot.parameters
        pending = _Pending(
            ResponseAggregation.start(ts_us, informee),
            snapshot,
            parameters.participant_response_deadline_us(ts_us),
            parameters.decision_deadline_us(ts_us),
            self._recipients(informee, received.root_hashes, snapshot, submitter),
            submitter,
        )
        persist = PersistRequest(
            ts_us, informee.root_hash, informee.submitting_participant,
            informee.confirmation_policy, pending.response_deadline_us, pending.decision_time_us,
            (informee_payload, *received.root_hash_payloads),
        )
        reasons = self._request_reasons(informee, sender, received, snapshot)
        self._remember(ts_us, informee.root_hash, remember_until_us(parameters, ts_us))
        heapq.heappush(self._decisions, (pending.decision_time_us, ts_us))
        if reasons:
            return [persist, *self._finish(ts_us, pending, Reject(reasons))]
        self._pending[ts_us] = pending
        heapq.heappush(self._deadlines, (pending.response_deadline_us, ts_us))
        return [persist]

    def _request_reasons(
        self,
        informee: InformeeMessage,
        sender: MemberId | None,
        received: _Received,
        snapshot: TopologySnapshot,
    ) -> tuple[RejectReason, ...]:
        """Why the request is rejected at once (malformed, forged or a replay), or ()."""
        reasons = malformed_request_reasons(
            informee, received.root_hashes, snapshot, self.mediator_id
        )
        if MemberId(informee.submitting_participant) != sender:
            reasons += (mediator_reason(
                MediatorRejectCode.MALFORMED_REQUEST,
                f"the informee message names submitting participant "
                f"{informee.submitting_participant}, but the batch was sent by "
                f"{sender or 'an undisclosed member'}",
            ),)
        if len(received.informee_messages) > 1:
            reasons += (mediator_reason(MediatorRejectCode.MALFORMED_REQUEST,
                                        "the batch holds more than one informee message"),)
        if informee.root_hash in self._root_hashes:
            reasons += (mediator_reason(
                MediatorRejectCode.DUPLICATE_REQUEST,
                f"root hash {informee.root_hash} was already used by a recent request",
            ),)
        return reasons

    @staticmethod
    def _recipients(
        informee: InformeeMessage,
        root_hashes: dict[ParticipantId, frozenset[Hash]],
        snapshot: TopologySnapshot,
        submitter: ParticipantId | None,
    ) -> tuple[ParticipantId, ...]:
        """Everyone who may hold part of the request: informee participants, whoever got a
        root-hash message, and the authenticated `submitter` (None when the request names
        one that did not send it, or one not in the topology: a bogus recipient would make
        the sequencer refuse the whole verdict)."""
        recipients = set(informee_participants(snapshot, informee.informees)) | set(root_hashes)
        if submitter is not None:
            recipients.add(submitter)
        return tuple(sorted(recipients))

    # --- responses -------------------------------------------------------------------

    def _on_response(
        self,
        ts_us: int,
        response: ConfirmationResponse,
        payload: bytes,
        snapshot: TopologySnapshot,
    ) -> list[Effect]:
        def record(outcome: ResponseOutcome, note: str) -> PersistResponse:
            return PersistResponse(response.request_ts_us, ts_us, response.sender,
                                   response.view_hash, outcome, note, payload)

        request_ts_us = response.request_ts_us
        pending = self._pending.get(request_ts_us)
        if pending is None:
            if request_ts_us in self._decided:
                return [record(ResponseOutcome.AFTER_DECISION, "the request is already decided")]
            note = f"response from {response.sender} for unknown request {request_ts_us}"
            return [record(ResponseOutcome.INVALID, note),
                    RaiseAlarm(ts_us, "MEDIATOR_UNKNOWN_REQUEST", note)]
        try:
            snapshot.verify_member_signature(
                MemberId(response.sender), response.signing_hash(),
                HashPurpose.CONFIRMATION_RESPONSE, response.signature,
            )
            aggregation = pending.aggregation.progress(response, pending.snapshot)
        except (CryptoError, MemberKeyNotValid, InvalidConfirmationResponse) as err:
            note = f"response from {response.sender} ignored: {err.message}"
            return [record(ResponseOutcome.INVALID, note), RaiseAlarm(ts_us, err.error_id, note)]
        if aggregation is pending.aggregation:
            return [record(ResponseOutcome.NO_CHANGE, "its parties had already answered")]
        effects: list[Effect] = [record(ResponseOutcome.COUNTED, "")]
        if aggregation.verdict is None:
            self._pending[request_ts_us] = _Pending(
                aggregation, pending.snapshot, pending.response_deadline_us,
                pending.decision_time_us, pending.recipients, pending.submitter)
        else:
            effects += self._finish(ts_us, pending, aggregation.verdict)
        return effects

    # --- deciding --------------------------------------------------------------------

    def _time_out(self, ts_us: int) -> list[Effect]:
        effects: list[Effect] = []
        while (deadline := self.next_deadline_us()) is not None and deadline <= ts_us:
            _, request_ts_us = heapq.heappop(self._deadlines)
            pending = self._pending[request_ts_us]
            verdict = pending.aggregation.timed_out(pending.snapshot).verdict
            assert verdict is not None
            effects += self._finish(ts_us, pending, verdict)
        return effects

    def _finish(self, ts_us: int, pending: _Pending, verdict: Verdict) -> list[Effect]:
        request_ts_us = pending.aggregation.request_ts_us
        self._pending.pop(request_ts_us, None)
        self._decided.add(request_ts_us)
        result = self._sign(pending, verdict)
        deliveries = self._deliveries(pending, result)
        message_id = verdict_message_id(request_ts_us)
        return [
            PersistVerdict(request_ts_us, ts_us, message_id, pending.decision_time_us, result,
                           deliveries),
            SendVerdict(message_id, pending.decision_time_us, result, deliveries),
        ]

    def _sign(self, pending: _Pending, verdict: Verdict) -> MediatorResult:
        return MediatorResult.create(
            request_ts_us=pending.aggregation.request_ts_us,
            root_hash=pending.aggregation.root_hash, mediator=self.mediator_id,
            verdict=verdict, signing_key=self._key,
        )

    def _deliveries(
        self, pending: _Pending, full: MediatorResult
    ) -> tuple[VerdictDelivery, ...]:
        """The submitter's copy is the full verdict; everyone else's shows only its views."""
        informee = pending.aggregation.informee_message
        deliveries = []
        # a verdict that hides nothing goes to everyone as it is, without working out what
        # each recipient saw
        everyone_sees_all = hides_nothing(full.verdict)
        for recipient in pending.recipients:
            verdict = full.verdict
            if recipient != pending.submitter and not everyone_sees_all:
                verdict = informee_verdict(
                    verdict, recipient, sight_of(recipient, informee, pending.snapshot))
            same = verdict is full.verdict or verdict == full.verdict
            result = full if same else self._sign(pending, verdict)
            deliveries.append(VerdictDelivery(recipient, result))
        return tuple(deliveries)

    def _remember(self, ts_us: int, root_hash: Hash, until_us: int) -> None:
        """Keep `root_hash` until `until_us` (a replay of it extends that, never shortens)."""
        if until_us > self._root_hashes.get(root_hash, until_us - 1):
            self._root_hashes[root_hash] = until_us
            heapq.heappush(self._expiries, (until_us, ts_us, root_hash))

    def _forget_before(self, ts_us: int) -> None:
        """Drop what only mattered until a time that has now passed: a decided request once
        its decision time passed, a root hash once no replay of it can pass the ledger time
        check (`replay_protection`)."""
        while self._decisions and self._decisions[0][0] < ts_us:
            _, request_ts_us = heapq.heappop(self._decisions)
            self._decided.discard(request_ts_us)
        while self._expiries and self._expiries[0][0] < ts_us:
            until_us, _, root_hash = heapq.heappop(self._expiries)
            if self._root_hashes.get(root_hash) == until_us:
                del self._root_hashes[root_hash]


def _authenticated_submitter(
    informee: InformeeMessage, sender: MemberId | None, snapshot: TopologySnapshot
) -> ParticipantId | None:
    """The request's submitting participant if the sequencer authenticated it as the batch's
    sender and it is a participant of the domain; else None (no one gets the full verdict).
    The sequencer always names the sender to the mediator (a domain entity); a copy without
    one authenticates nobody."""
    submitter = informee.submitting_participant
    if MemberId(submitter) != sender or snapshot.participant_attributes(submitter) is None:
        return None
    return submitter


def _as_participant(recipient: MemberRecipient) -> ParticipantId | None:
    kind, _ = parse_member_id(recipient.member)
    return ParticipantId(recipient.member) if kind is MemberKind.PARTICIPANT else None
