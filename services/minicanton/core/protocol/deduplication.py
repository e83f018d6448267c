"""Command deduplication at the submitting participant (Daml's change-id semantics).

Theory of operation. A *change* is identified by (application id, command id, act-as parties):
the `ChangeId`. Two kinds of record decide whether a new submission of a change is a duplicate:

* an `InFlightSubmission` exists from the moment the participant accepts a submission until it
  emits that submission's completion (accepted, rejected, or timed out at its max sequencing
  time). While it exists every other submission of the same change is refused with
  ``SUBMISSION_ALREADY_IN_FLIGHT``, whatever the deduplication period: the two could otherwise
  both commit.
* an `AcceptedCommand` records the completion offset and record time of the change's last
  *accepted* completion. A submission whose deduplication period contains that completion is a
  duplicate: ``DUPLICATE_COMMAND``, naming the earlier completion. Rejected completions leave
  no record, so a rejected command may be resubmitted at once (as in Daml).

A deduplication period is either a duration (the completion's record time lies within
``[now - duration, now]``) or an offset (the completion lies after that offset). Accepted
entries older than the participant's maximum deduplication duration are pruned, so a period
reaching behind them could not be honoured and is refused with ``INVALID_DEDUPLICATION_PERIOD``
rather than silently shortened: a duration longer than the maximum, and an offset before the
*pruning horizon* — the highest completion offset of an entry pruned so far (Canton's
``latestPruning``), which the error names as ``earliest_offset``, the earliest offset still
supported (as Canton's ``DeduplicationPeriodStartsTooEarly`` does). An offset period starting
at the horizon is fine: it only counts completions after it. `check_deduplication` is the whole
decision, pure; `DeduplicationTable` is the in-memory state the simulation uses and the shape of
what the participant store keeps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from minicanton.core.errors import InvalidArgument, MinicantonError
from minicanton.core.protocol.offsets import LEDGER_BEGIN, Offset


class DuplicateCommand(MinicantonError):
    error_id = "DUPLICATE_COMMAND"


class SubmissionAlreadyInFlight(MinicantonError):
    error_id = "SUBMISSION_ALREADY_IN_FLIGHT"


class InvalidDeduplicationPeriod(MinicantonError):
    """`earliest_offset` (when set) is the earliest offset a period may start from; the Ledger
    API reports it in the error's metadata under that name, as Daml does."""

    error_id = "INVALID_DEDUPLICATION_PERIOD"

    def __init__(self, message: str, *, earliest_offset: Offset | None = None) -> None:
        super().__init__(message)
        if earliest_offset is not None:
            self.earliest_offset = earliest_offset


# json.dumps with any non-default option builds a new encoder per call; this is the same
# encoder (same output) built once.
_KEY_ENCODER = json.JSONEncoder(separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class ChangeId:
    application_id: str
    command_id: str
    act_as: frozenset[str]
    # A canonical text form, the primary key of the store's dedup rows; computed once, as
    # every event that touches a submission looks it up by this key.
    key: str = field(init=False, repr=False, compare=False)

    def __init__(self, application_id: str, command_id: str, act_as: frozenset[str]) -> None:
        object.__setattr__(self, "application_id", application_id)
        object.__setattr__(self, "command_id", command_id)
        object.__setattr__(self, "act_as", act_as)
        self.__post_init__()

    def __post_init__(self) -> None:
        if not self.application_id:
            raise InvalidArgument("application id must not be empty")
        if not self.command_id:
            raise InvalidArgument("command id must not be empty")
        if not self.act_as:
            raise InvalidArgument("a command must act as at least one party")
        object.__setattr__(self, "key", _KEY_ENCODER.encode(
            [self.application_id, self.command_id, sorted(self.act_as)]
        ))


@dataclass(frozen=True, slots=True)
class DeduplicationDuration:
    duration_us: int

    def __post_init__(self) -> None:
        if self.duration_us < 0:
            raise InvalidDeduplicationPeriod(
                f"deduplication duration must not be negative, got {self.duration_us} us"
            )


@dataclass(frozen=True, slots=True)
class DeduplicationOffset:
    """Deduplicate against completions after this offset (exclusive)."""

    offset: Offset


DeduplicationPeriod = DeduplicationDuration | DeduplicationOffset


@dataclass(frozen=True, slots=True)
class AcceptedCommand:
    change_id: ChangeId
    submission_id: str
    completion_offset: Offset
    record_time_us: int


@dataclass(frozen=True, slots=True)
class InFlightSubmission:
    """A submission not yet completed. Until it is sequenced (`sequenced_at_us` set) it times
    out when the domain's time passes its max sequencing time; after that, its verdict (or the
    mediator's timeout verdict) completes it."""

    change_id: ChangeId
    submission_id: str
    max_sequencing_time_us: int
    sequenced_at_us: int | None = None


@dataclass(frozen=True, slots=True)
class NotDuplicate:
    pass


@dataclass(frozen=True, slots=True)
class Duplicate:
    earlier: AcceptedCommand

    def error(self) -> DuplicateCommand:
        return DuplicateCommand(
            f"command {self.earlier.change_id.command_id!r} was already accepted at offset "
            f"{self.earlier.completion_offset} (submission {self.earlier.submission_id!r})"
        )


@dataclass(frozen=True, slots=True)
class AlreadyInFlight:
    in_flight: InFlightSubmission

    def error(self) -> SubmissionAlreadyInFlight:
        return SubmissionAlreadyInFlight(
            f"command {self.in_flight.change_id.command_id!r} is already in flight "
            f"(submission {self.in_flight.submission_id!r})"
        )


DeduplicationDecision = NotDuplicate | Duplicate | AlreadyInFlight


def validate_period(
    period: DeduplicationPeriod | None,
    max_deduplication_duration_us: int,
    pruned_up_to: Offset = LEDGER_BEGIN,
) -> DeduplicationPeriod:
    """The effective period; none given means the maximum duration (Daml's default).

    `pruned_up_to` is the pruning horizon: entries with a completion offset up to it may be
    gone, so an offset period must not start before it."""
    if period is None:
        return DeduplicationDuration(max_deduplication_duration_us)
    if (
        isinstance(period, DeduplicationDuration)
        and period.duration_us > max_deduplication_duration_us
    ):
        raise InvalidDeduplicationPeriod(
            f"deduplication duration {period.duration_us} us exceeds the maximum "
            f"{max_deduplication_duration_us} us"
        )
    if isinstance(period, DeduplicationOffset) and period.offset < pruned_up_to:
        raise InvalidDeduplicationPeriod(
            f"deduplication period starts too early: offset {period.offset or '(begin)'} is "
            f"before {pruned_up_to}, up to which deduplication data has been pruned; the "
            f"earliest supported offset is {pruned_up_to}",
            earliest_offset=pruned_up_to,
        )
    return period


def within_period(accepted: AcceptedCommand, period: DeduplicationPeriod, now_us: int) -> bool:
    if isinstance(period, DeduplicationOffset):
        return accepted.completion_offset > period.offset
    return accepted.record_time_us >= now_us - period.duration_us


def check_deduplication(
    period: DeduplicationPeriod | None,
    now_us: int,
    accepted: AcceptedCommand | None,
    in_flight: InFlightSubmission | None,
    max_deduplication_duration_us: int,
    pruned_up_to: Offset = LEDGER_BEGIN,
) -> DeduplicationDecision:
    """Decide a submission of a change, given what the store holds for that change id and its
    pruning horizon (read *after* `accepted`, so an entry pruned meanwhile is covered)."""
    effective = validate_period(period, max_deduplication_duration_us, pruned_up_to)
    if in_flight is not None:
        return AlreadyInFlight(in_flight)
    if accepted is not None and within_period(accepted, effective, now_us):
        return Duplicate(accepted)
    return NotDuplicate()


def raise_if_duplicate(decision: DeduplicationDecision) -> None:
    if isinstance(decision, Duplicate | AlreadyInFlight):
        raise decision.error()


def expiry_horizon_us(now_us: int, max_deduplication_duration_us: int) -> int:
    """Accepted entries with a record time below this can never be a duplicate again."""
    return now_us - max_deduplication_duration_us


class DeduplicationTable:
    """In-memory dedup state: what the participant store keeps, for the simulation."""

    def __init__(self, max_deduplication_duration_us: int) -> None:
        self.max_deduplication_duration_us = max_deduplication_duration_us
        self._accepted: dict[str, AcceptedCommand] = {}
        self._in_flight: dict[str, InFlightSubmission] = {}
        self._pruned_up_to = LEDGER_BEGIN

    def check(
        self, change_id: ChangeId, period: DeduplicationPeriod | None, now_us: int
    ) -> DeduplicationDecision:
        return check_deduplication(
            period,
            now_us,
            self._accepted.get(change_id.key),
            self._in_flight.get(change_id.key),
            self.max_deduplication_duration_us,
            self._pruned_up_to,
        )

    def submit(
        self, submission: InFlightSubmission, period: DeduplicationPeriod | None, now_us: int
    ) -> DeduplicationDecision:
        """Check and, when not a duplicate, mark the change in flight (one step, no race)."""
        decision = self.check(submission.change_id, period, now_us)
        if isinstance(decision, NotDuplicate):
            self._in_flight[submission.change_id.key] = submission
        return decision

    def complete(self, change_id: ChangeId, accepted: AcceptedCommand | None) -> None:
        """The change's completion was emitted; record it when it was an acceptance."""
        self._in_flight.pop(change_id.key, None)
        if accepted is not None:
            self._accepted[change_id.key] = accepted

    def mark_sequenced(self, change_id: ChangeId, sequenced_at_us: int) -> None:
        submission = self._in_flight.get(change_id.key)
        if submission is not None:
            self._in_flight[change_id.key] = replace(submission, sequenced_at_us=sequenced_at_us)

    def unsequenced_past(self, sequencer_time_us: int) -> tuple[InFlightSubmission, ...]:
        """Unsequenced submissions whose max sequencing time has passed: they can no longer be
        sequenced, so they are to be completed as timed out."""
        return tuple(
            s
            for s in self._in_flight.values()
            if s.sequenced_at_us is None and s.max_sequencing_time_us < sequencer_time_us
        )

    def prune(self, now_us: int) -> int:
        horizon = expiry_horizon_us(now_us, self.max_deduplication_duration_us)
        expired = [k for k, a in self._accepted.items() if a.record_time_us < horizon]
        for key in expired:
            offset = self._accepted.pop(key).completion_offset
            self._pruned_up_to = max(self._pruned_up_to, offset)
        return len(expired)

    @property
    def pruned_up_to(self) -> Offset:
        """The pruning horizon: entries completed at or before it may have been pruned."""
        return self._pruned_up_to

    def accepted(self, change_id: ChangeId) -> AcceptedCommand | None:
        return self._accepted.get(change_id.key)

    def in_flight(self, change_id: ChangeId) -> InFlightSubmission | None:
        return self._in_flight.get(change_id.key)
