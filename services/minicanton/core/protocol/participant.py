"""The participant, as a sans-I/O machine (DESIGN.md §3 steps 1-7 at one participant).

Theory of operation
-------------------
*Submitting.* `prepare_submission` interprets a command and builds its confirmation request
(`submission`); it raises a typed error for anything the client must fix. The shell then
deduplicates the change and records it in flight (the store's `start_submission`, atomically),
and calls `submit`, which tracks the submission and returns the `SendBatch`. Our own receipt
(the event of our send, carrying its message id) tells which request is ours; its verdict
completes the submission. A submission still unsequenced when sequencer time passes its max
sequencing time completes as `NOT_SEQUENCED_TIMEOUT`; a deliver-error completes it at once,
and so does a sequencer's refusal of the send (`send_refused`: e.g. a request larger than the
sequencer takes will never be sequenced, and the client learns why at once, not as a timeout).

*Validating.* Each sequenced event is handled in two steps: `prepare_event` (decrypt and
validate a request: pure, independent of our state, so it may run ahead) and `process`
(strictly in timestamp order: timeouts of what the event's timestamp has passed, then
conflict detection, responses, verdicts). With a partial ACS cache the shell asks
`states_to_fetch(prepared)` in between and hands the store's answer to `provide_states`;
`handle_event` does both steps when the cache is the whole ACS. A request takes its locks
whatever its checks say (seed 003's pessimism); we answer each view we hold that has a
confirming party we may confirm for with one signed response for those parties: a
request-wide rejection first, then the view's own, then its activeness.

*Replays.* A request whose root hash we still remember is a replay and is rejected
(`LOCAL_VERDICT_DUPLICATE_REQUEST`): the sequencer deduplicates only (sender, message id), so
anyone holding the batch can have it sequenced again under a fresh one. A root hash is
remembered until its request's record time + twice the ledger time tolerance in force then,
never less than its decision time (`replay_protection.remember_until_us`): the original passed
the ledger time check, so its ledger time is at most record time + tolerance, and a replay
sequenced after the window fails that check, which runs against the replay's own record time.
This is Canton's replay protection, its mediator deduplication timeout being at least twice
`ledgerTimeRecordTimeTolerance`. Forgetting at the decision time let a replay of a
transaction that creates and archives nothing, which activeness cannot object to, commit a
second time. We remember by transaction id (a hash of the root hash), so that `restore`
rebuilds the memory from the transactions we committed within the window.

*Committing.* On the mediator's verdict (signature checked with the keys in force when it is
sequenced) an approval applies the commit set of the views that passed our checks (archive
consumed, add created, keep divulged), a rejection or timeout only releases the locks. A
request whose verdict has not come by its decision time is released as timed out. Sequencer
time is the only time: when the domain is quiet, `handle_timer(now)` asks for a time proof at
`next_deadline_us()`.

Determinism: the effects are a function of the events, the snapshots, the registry and the
entropy given to `prepare_submission`. An event at or before the last one processed is
ignored. `restore` rebuilds in-flight submissions, pending requests (with their locks) and the
remembered root hashes (of pending requests, and of the transactions committed since
`replay_protection.remembered_since_us`) from what the effects persisted, and returns the
responses to resend.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from minicanton.core.crypto.encryption import SessionKeys
from minicanton.core.entropy import Entropy
from minicanton.core.errors import CryptoError
from minicanton.core.hashing import HashPurpose
from minicanton.core.ids import TransactionId
from minicanton.core.lf.engine import ContractLookup
from minicanton.core.lf.package import PackageRegistry
from minicanton.core.protocol.commit_set import (
    CommitSet,
    GlobalKeyHash,
)
from minicanton.core.protocol.conflict_detection import (
    ActivenessResult,
    ConflictDetectionError,
    ConflictDetector,
    ContractState,
    RequestLocks,
    StatesToFetch,
)
from minicanton.core.protocol.deduplication import SubmissionAlreadyInFlight
from minicanton.core.protocol.ledger_model import transaction_id_of
from minicanton.core.protocol.messages import (
    Approve,
    LocalReject,
    MediatorResult,
)
from minicanton.core.protocol.participant_effects import (
    Effect,
    EmitCompletion,
    MarkSubmissionSequenced,
    PendingPayload,
    PersistCommit,
    PersistPendingRequest,
    RaiseAlarm,
    RemovePendingRequest,
    RequestTimeProof,
    SendBatch,
    TrackedSubmission,
    decode_pending_payload,
    encode_pending_payload,
)
from minicanton.core.protocol.participant_outcomes import (
    DUPLICATE_REQUEST,
    commit_set_of,
    deliver_error_completion,
    local_timeout_completion,
    not_sequenced_completion,
    refused_completion,
    responses_for,
    sends_last,
    verdict_completion,
)
from minicanton.core.protocol.replay_protection import remember_until_us
from minicanton.core.protocol.request_envelopes import sort_envelopes
from minicanton.core.protocol.submission import (
    CommandSubmission,
    ParticipantIdentity,
    PreparedSubmission,
    prepare_submission,
)
from minicanton.core.protocol.submission_tracking import DeadlineIndex, SubmissionIndex
from minicanton.core.protocol.validation import (
    IgnoredRequest,
    ValidatedRequest,
    request_id_of,
    validate_payload,
)
from minicanton.core.sequencing.events import Deliver, DeliverError, SequencedEvent
from minicanton.core.topology.errors import MemberKeyNotValid, TopologyDecodeError
from minicanton.core.topology.snapshot import TopologySnapshot

DEFAULT_SUBMISSION_TTL_US = 60_000_000


@dataclass(frozen=True, slots=True)
class ParticipantConfig:
    identity: ParticipantIdentity
    submission_ttl_us: int = DEFAULT_SUBMISSION_TTL_US  # max sequencing time = now + this
    complete_acs: bool = False  # the simulation: the conflict detector's cache is the ACS


@dataclass(frozen=True, slots=True)
class PreparedEvent:
    """An event read and validated, ready for `process`."""

    event: SequencedEvent
    snapshot: TopologySnapshot
    request: ValidatedRequest | IgnoredRequest | None
    received: PendingPayload | None
    results: tuple[MediatorResult, ...]
    alarms: tuple[RaiseAlarm, ...]

    def __init__(
        self,
        event: SequencedEvent,
        snapshot: TopologySnapshot,
        request: ValidatedRequest | IgnoredRequest | None,
        received: PendingPayload | None,
        results: tuple[MediatorResult, ...],
        alarms: tuple[RaiseAlarm, ...],
    ) -> None:
        object.__setattr__(self, "event", event)
        object.__setattr__(self, "snapshot", snapshot)
        object.__setattr__(self, "request", request)
        object.__setattr__(self, "received", received)
        object.__setattr__(self, "results", results)
        object.__setattr__(self, "alarms", alarms)


@dataclass(frozen=True, slots=True)
class _Pending:
    request: ValidatedRequest
    payload: PendingPayload


class ParticipantMachine:
    def __init__(
        self,
        config: ParticipantConfig,
        registry: PackageRegistry,
        *,
        last_event_ts_us: int | None = None,
    ) -> None:
        self.config = config
        self.registry = registry  # the shell replaces it when packages are uploaded
        self._detector = ConflictDetector(
            complete_acs=config.complete_acs, last_request_ts_us=last_event_ts_us
        )
        self._submissions = SubmissionIndex()
        self._pending: DeadlineIndex[_Pending] = DeadlineIndex()  # by request timestamp
        # replay protection: the transaction id of each recent root hash -> until when it is
        # remembered, and a heap of those times so that forgetting costs O(log n)
        self._recent: dict[TransactionId, int] = {}
        self._recent_expiries: list[tuple[int, TransactionId]] = []
        self._last_ts_us = last_event_ts_us
        # the session keys its views are sealed under (ADR 18): this participant's alone
        self._session_keys = SessionKeys()

    @property
    def participant_id(self) -> str:
        return self.config.identity.participant_id

    @property
    def conflict_detector(self) -> ConflictDetector:
        return self._detector

    @property
    def last_ts_us(self) -> int | None:
        return self._last_ts_us

    def pending_requests(self) -> tuple[int, ...]:
        return tuple(self._pending.timestamps())

    def tracked_submissions(self) -> tuple[TrackedSubmission, ...]:
        return tuple(self._submissions)

    # --- submitting -----------------------------------------------------------------------

    def prepare_submission(
        self,
        submission: CommandSubmission,
        contracts: ContractLookup,
        snapshot: TopologySnapshot,
        now_us: int,
        entropy: Entropy,
    ) -> PreparedSubmission:
        return prepare_submission(
            submission, identity=self.config.identity, contracts=contracts,
            registry=self.registry, snapshot=snapshot, now_us=now_us,
            max_sequencing_time_us=now_us + self.config.submission_ttl_us, entropy=entropy,
            sessions=self._session_keys,
        )

    def submit(self, prepared: PreparedSubmission) -> list[Effect]:
        """Track a deduplicated submission; raises if the change is already in flight here."""
        change_id = prepared.change_id  # a property that builds it anew on each read
        if change_id.key in self._submissions:
            raise SubmissionAlreadyInFlight(
                f"command {change_id.command_id!r} is already in flight"
            )
        self._submissions.add(TrackedSubmission(
            change_id, prepared.submission.submission_id, prepared.message_id,
            prepared.max_sequencing_time_us,
        ))
        return [SendBatch(prepared.message_id, prepared.batch, prepared.max_sequencing_time_us)]

    def send_refused(self, message_id: str, error_id: str, reason: str) -> list[Effect]:
        """A sequencer refused our request for good: complete its submission with the
        sequencer's error (at the last sequencer time we saw). Nothing if it is not an
        unsequenced submission of ours (a response, or completed meanwhile)."""
        tracked = self._submissions.by_message_id(message_id)
        if tracked is None or tracked.request_ts_us is not None:
            return []
        self._submissions.remove(tracked.change_id.key)
        completion = refused_completion(tracked, error_id, reason, self._last_ts_us or 0)
        return [EmitCompletion(completion)]

    # --- events ---------------------------------------------------------------------------

    def handle_event(self, event: SequencedEvent, snapshot: TopologySnapshot) -> list[Effect]:
        """Both steps at once (for a complete ACS cache, or states already provided)."""
        return self.process(self.prepare_event(event, snapshot))

    def prepare_event(self, event: SequencedEvent, snapshot: TopologySnapshot) -> PreparedEvent:
        """Read and validate `event` (`snapshot` is the topology at its timestamp)."""
        content = event.content
        if not isinstance(content, Deliver):
            return PreparedEvent(event, snapshot, None, None, (), ())
        arrived = sort_envelopes(event.timestamp_us, content.batch.envelopes)
        alarms = tuple(RaiseAlarm(ts, code, text) for ts, code, text in arrived.alarms)
        if not arrived.view_messages and not arrived.root_hash_messages:
            return PreparedEvent(event, snapshot, None, None, arrived.results, alarms)
        payload = PendingPayload(arrived.view_messages, arrived.root_hash_messages, None,
                                 arrived.view_recipients)
        request = self._validate(event.timestamp_us, payload, snapshot)
        return PreparedEvent(event, snapshot, request, payload, arrived.results, alarms)

    def _validate(
        self, ts_us: int, payload: PendingPayload, snapshot: TopologySnapshot
    ) -> ValidatedRequest | IgnoredRequest:
        return validate_payload(ts_us, payload.view_messages, payload.root_hash_messages,
                                self.config.identity, self.registry, snapshot,
                                payload.view_recipients)

    def states_to_fetch(self, prepared: PreparedEvent) -> StatesToFetch:
        if isinstance(prepared.request, ValidatedRequest):
            return self._detector.states_to_fetch(prepared.request.activeness)
        return StatesToFetch(frozenset(), frozenset())

    def provide_states(
        self,
        contracts: Mapping[str, ContractState | None],
        keys: Mapping[GlobalKeyHash, str | None],
    ) -> None:
        self._detector.provide_states(contracts, keys)

    def process(self, prepared: PreparedEvent) -> list[Effect]:
        """The effects of one prepared event, strictly in timestamp order."""
        event = prepared.event
        ts_us = event.timestamp_us
        if self._last_ts_us is not None and ts_us <= self._last_ts_us:
            return []
        effects: list[Effect] = list(prepared.alarms)
        # what timed out before this event goes first: its locks must not reject this
        # event's request (a verdict in this event is for a request not yet timed out)
        effects += self._expire(ts_us)
        effects += self._on_receipt(event)
        if isinstance(prepared.request, IgnoredRequest):
            effects.append(RaiseAlarm(ts_us, "PARTICIPANT_IGNORED_REQUEST",
                                      prepared.request.reason))
        elif prepared.request is not None and prepared.received is not None:
            effects += self._on_request(prepared.request, prepared.received)
        for result in prepared.results:
            effects += self._on_result(ts_us, result, prepared.snapshot)
        self._last_ts_us = ts_us
        return sends_last(effects)

    # --- our submissions ------------------------------------------------------------------

    def _on_receipt(self, event: SequencedEvent) -> list[Effect]:
        content = event.content
        tracked = self._submissions.by_message_id(content.message_id)
        if tracked is None or tracked.request_ts_us is not None:
            return []  # not ours, a response or time proof, or a replay of a sequenced one
        ts_us = event.timestamp_us
        if isinstance(content, DeliverError):
            self._submissions.remove(tracked.change_id.key)
            return [EmitCompletion(deliver_error_completion(tracked, content, ts_us))]
        self._submissions.mark_sequenced(tracked, ts_us)
        return [MarkSubmissionSequenced(tracked.change_id, tracked.message_id,
                                        request_id_of(ts_us), ts_us)]

    # --- requests -------------------------------------------------------------------------

    def _on_request(self, request: ValidatedRequest, received: PendingPayload) -> list[Effect]:
        ts_us = request.request_ts_us
        transaction_id = transaction_id_of(request.root_hash)
        seen_until = self._recent.get(transaction_id)
        if seen_until is not None and seen_until >= ts_us and request.rejection is None:
            request = replace(request, rejection=LocalReject(
                DUPLICATE_REQUEST, f"root hash {request.root_hash} was already requested"))
        self._remember(transaction_id, request.replay_protected_until_us)
        result = self._detector.check_and_lock(
            request.request_id, ts_us, request.activeness, request.decision_time_us
        )
        return self._track_request(request, received, result)

    def _track_request(
        self, request: ValidatedRequest, received: PendingPayload, result: ActivenessResult
    ) -> list[Effect]:
        responses = responses_for(request, result, self.config.identity)
        payload = replace(received, responses=responses)
        self._pending.put(request.request_ts_us, request.decision_time_us,
                          _Pending(request, payload))
        locks = self._detector.locks_of(request.request_id)
        effects: list[Effect] = [PersistPendingRequest(locks, encode_pending_payload(payload))]
        if responses is not None:
            effects.append(responses)
        return effects

    # --- verdicts -------------------------------------------------------------------------

    def _on_result(
        self, ts_us: int, result: MediatorResult, snapshot: TopologySnapshot
    ) -> list[Effect]:
        pending = self._pending.get(result.request_ts_us)
        problem = self._result_problem(result, pending, snapshot)
        if problem:
            return [RaiseAlarm(ts_us, "PARTICIPANT_INVALID_VERDICT", problem)]
        tracked = self._submissions.take_by_request(result.request_ts_us)
        if pending is None:
            if tracked is None:
                return []  # a verdict for a request we were never part of (or forgot)
            return [EmitCompletion(verdict_completion(tracked, result, ts_us, None))]
        self._pending.pop(result.request_ts_us)
        return self._finish(ts_us, pending.request, result, tracked)

    def _result_problem(
        self, result: MediatorResult, pending: _Pending | None, snapshot: TopologySnapshot
    ) -> str:
        try:
            snapshot.verify_member_signature(
                result.mediator, result.signing_hash(), HashPurpose.MEDIATOR_VERDICT,
                result.signature,
            )
        except (CryptoError, MemberKeyNotValid) as err:
            return f"verdict for {result.request_ts_us} by {result.mediator}: {err.message}"
        if pending is None:
            return ""
        expected = pending.request.mediator
        if expected is not None and result.mediator != expected:
            return f"verdict for {result.request_ts_us} by {result.mediator}, not {expected}"
        if result.root_hash != pending.request.root_hash:
            return f"verdict for {result.request_ts_us} names another root hash"
        return ""

    def _finish(
        self,
        ts_us: int,
        request: ValidatedRequest,
        result: MediatorResult,
        tracked: TrackedSubmission | None,
    ) -> list[Effect]:
        effects: list[Effect] = [RemovePendingRequest(request.request_id)]
        if not isinstance(result.verdict, Approve):
            self._detector.finalize(request.request_id, approved=False)
            if tracked is not None:
                effects.append(EmitCompletion(verdict_completion(tracked, result, ts_us, None)))
            return effects
        commit_set, alarm = self._commit(request)
        if alarm:
            effects.append(RaiseAlarm(ts_us, "PARTICIPANT_COMMIT_REFUSED", alarm))
        transaction_id = transaction_id_of(request.root_hash)
        completion = (None if tracked is None
                      else verdict_completion(tracked, result, ts_us, transaction_id))
        if commit_set.is_empty:
            if completion is not None:
                effects.append(EmitCompletion(completion))
            return effects
        assert request.metadata is not None  # a request with valid views has its metadata
        effects.append(PersistCommit(
            request.request_id, transaction_id, request.root_hash, request.request_ts_us,
            request.metadata.ledger_time_us, request.metadata.workflow_id, commit_set,
            request.submitter, completion,
        ))
        return effects

    def _commit(self, request: ValidatedRequest) -> tuple[CommitSet, str]:
        commit_set = commit_set_of(request)
        try:
            self._detector.finalize(request.request_id, approved=True, commit_set=commit_set)
        except ConflictDetectionError as err:
            empty = commit_set_of(replace(request, views=()))
            self._detector.finalize(request.request_id, approved=True, commit_set=empty)
            return empty, err.message
        return commit_set, ""

    # --- time -----------------------------------------------------------------------------

    def _expire(self, ts_us: int) -> list[Effect]:
        effects: list[Effect] = []
        for request_ts_us, pending in self._pending.take_before(ts_us):
            request_id = pending.request.request_id
            self._detector.finalize(request_id, approved=False)
            effects.append(RemovePendingRequest(request_id))
            tracked = self._submissions.take_by_request(request_ts_us)
            if tracked is not None:
                effects.append(EmitCompletion(local_timeout_completion(tracked, ts_us)))
        for tracked in self._submissions.take_unsequenced_before(ts_us):
            effects.append(EmitCompletion(not_sequenced_completion(tracked, ts_us)))
        while self._recent_expiries and self._recent_expiries[0][0] < ts_us:
            until_us, transaction_id = heapq.heappop(self._recent_expiries)
            if self._recent.get(transaction_id) == until_us:
                del self._recent[transaction_id]
        return effects

    def _remember(self, transaction_id: TransactionId, until_us: int) -> None:
        """Remember a root hash until `until_us` (a later sighting extends it, never shortens)."""
        if until_us > self._recent.get(transaction_id, until_us - 1):
            self._recent[transaction_id] = until_us
            heapq.heappush(self._recent_expiries, (until_us, transaction_id))

    def next_deadline_us(self) -> int | None:
        """When sequencer time must pass for a timeout of ours (a time proof shows it)."""
        deadlines = (self._pending.next_deadline_us(), self._submissions.next_deadline_us())
        return min((d for d in deadlines if d is not None), default=None)

    def handle_timer(self, now_us: int) -> list[Effect]:
        deadline = self.next_deadline_us()
        if deadline is None or now_us <= deadline:
            return []
        return [RequestTimeProof(deadline)]

    # --- restart --------------------------------------------------------------------------

    def restore(
        self,
        submissions: Iterable[TrackedSubmission],
        pending: Iterable[tuple[RequestLocks, bytes]],
        snapshot_at: Callable[[int], TopologySnapshot],
        recent_transactions: Iterable[tuple[str, int]] = (),
    ) -> list[Effect]:
        """Rebuild from what was persisted; returns the responses to send again.

        `recent_transactions`: (transaction id, record time) of every transaction committed
        at or after `replay_protection.remembered_since_us(clean ts, every parameters set)`,
        so that a replay of one of them is still recognised after the restart."""
        for tracked in submissions:
            self._submissions.add(tracked)
        for transaction_id, record_time_us in recent_transactions:
            parameters = snapshot_at(record_time_us).parameters
            self._remember(TransactionId(transaction_id),
                           remember_until_us(parameters, record_time_us))
        effects: list[Effect] = []
        locks_to_restore = []
        for locks, raw in sorted(pending, key=lambda item: item[0].request_ts_us):
            effects += self._restore_one(locks, raw, snapshot_at(locks.request_ts_us))
            locks_to_restore.append(locks)
        self._detector.restore(locks_to_restore)
        return effects

    def _restore_one(
        self, locks: RequestLocks, raw: bytes, snapshot: TopologySnapshot
    ) -> list[Effect]:
        try:
            payload = decode_pending_payload(raw)
        except (TopologyDecodeError, ValueError) as err:
            raise ConflictDetectionError(f"pending request {locks.request_id}: {err}") from None
        request = self._validate(locks.request_ts_us, payload, snapshot)
        if not isinstance(request, ValidatedRequest):
            raise ConflictDetectionError(f"pending request {locks.request_id} is not a request")
        self._pending.put(locks.request_ts_us, request.decision_time_us, _Pending(request, payload))
        self._remember(transaction_id_of(request.root_hash), request.replay_protected_until_us)
        return [payload.responses] if payload.responses is not None else []
