"""Command deduplication by (application id, command id, act-as) within a period."""

from __future__ import annotations

import pytest

from minicanton.core.errors import InvalidArgument
from minicanton.core.protocol.deduplication import (
    AcceptedCommand,
    AlreadyInFlight,
    ChangeId,
    DeduplicationDuration,
    DeduplicationOffset,
    DeduplicationTable,
    Duplicate,
    DuplicateCommand,
    InFlightSubmission,
    InvalidDeduplicationPeriod,
    NotDuplicate,
    SubmissionAlreadyInFlight,
    check_deduplication,
    raise_if_duplicate,
)
from minicanton.core.protocol.offsets import LEDGER_BEGIN, offset_of

SECOND_US = 1_000_000
MAX_US = 60 * SECOND_US
CHANGE = ChangeId("app", "cmd-1", frozenset({"alice"}))


def submit(table: DeduplicationTable, change: ChangeId, now_us: int,
           period: DeduplicationDuration | DeduplicationOffset | None = None,
           submission_id: str = "s1"):
    return table.submit(InFlightSubmission(change, submission_id, now_us + 10 * SECOND_US),
                        period, now_us)


def accept(table: DeduplicationTable, change: ChangeId, counter: int, record_time_us: int,
           submission_id: str = "s1") -> None:
    table.complete(change, AcceptedCommand(change, submission_id, offset_of(counter),
                                           record_time_us))


def test_resubmission_while_in_flight_is_refused_whatever_the_period() -> None:
    table = DeduplicationTable(MAX_US)
    assert submit(table, CHANGE, 0) == NotDuplicate()
    decision = submit(table, CHANGE, 1, DeduplicationDuration(0), submission_id="s2")
    assert isinstance(decision, AlreadyInFlight)
    with pytest.raises(SubmissionAlreadyInFlight) as refused:
        raise_if_duplicate(decision)
    assert refused.value.error_id == "SUBMISSION_ALREADY_IN_FLIGHT"


def test_accepted_command_is_a_duplicate_within_its_duration() -> None:
    table = DeduplicationTable(MAX_US)
    submit(table, CHANGE, 0)
    accept(table, CHANGE, 1, record_time_us=5 * SECOND_US)
    period = DeduplicationDuration(10 * SECOND_US)
    decision = submit(table, CHANGE, 15 * SECOND_US, period)
    assert isinstance(decision, Duplicate) and decision.earlier.completion_offset == offset_of(1)
    with pytest.raises(DuplicateCommand) as refused:
        raise_if_duplicate(decision)
    assert refused.value.error_id == "DUPLICATE_COMMAND"
    assert submit(table, CHANGE, 15 * SECOND_US + 1, period) == NotDuplicate()


def test_rejected_command_may_be_resubmitted_at_once() -> None:
    table = DeduplicationTable(MAX_US)
    submit(table, CHANGE, 0)
    table.complete(CHANGE, None)
    assert submit(table, CHANGE, 1) == NotDuplicate()


def test_change_id_includes_every_part() -> None:
    table = DeduplicationTable(MAX_US)
    submit(table, CHANGE, 0)
    accept(table, CHANGE, 1, 0)
    others = [
        ChangeId("other-app", "cmd-1", frozenset({"alice"})),
        ChangeId("app", "cmd-2", frozenset({"alice"})),
        ChangeId("app", "cmd-1", frozenset({"alice", "bob"})),
    ]
    assert all(submit(table, change, 1) == NotDuplicate() for change in others)
    assert ChangeId("app", "c", frozenset({"a", "b"})).key == ChangeId(
        "app", "c", frozenset({"b", "a"})).key


def test_offset_period_counts_completions_after_the_offset() -> None:
    table = DeduplicationTable(MAX_US)
    submit(table, CHANGE, 0)
    accept(table, CHANGE, 5, 0)
    assert isinstance(submit(table, CHANGE, 1, DeduplicationOffset(offset_of(4))), Duplicate)
    assert submit(table, CHANGE, 1, DeduplicationOffset(offset_of(5))) == NotDuplicate()


def test_default_period_is_the_maximum_duration() -> None:
    table = DeduplicationTable(MAX_US)
    submit(table, CHANGE, 0)
    accept(table, CHANGE, 1, 0)
    assert isinstance(submit(table, CHANGE, MAX_US), Duplicate)
    assert submit(table, CHANGE, MAX_US + 1) == NotDuplicate()


def test_periods_longer_than_the_maximum_are_invalid() -> None:
    table = DeduplicationTable(MAX_US)
    with pytest.raises(InvalidDeduplicationPeriod) as invalid:
        submit(table, CHANGE, 0, DeduplicationDuration(MAX_US + 1))
    assert invalid.value.error_id == "INVALID_DEDUPLICATION_PERIOD"
    with pytest.raises(InvalidDeduplicationPeriod):
        DeduplicationDuration(-1)


def test_entries_expire_after_the_maximum_duration() -> None:
    table = DeduplicationTable(MAX_US)
    submit(table, CHANGE, 0)
    accept(table, CHANGE, 1, 0)
    assert table.prune(MAX_US) == 0 and table.accepted(CHANGE) is not None
    assert table.prune(MAX_US + 1) == 1 and table.accepted(CHANGE) is None


def test_offset_periods_reaching_behind_pruned_entries_are_invalid() -> None:
    table = DeduplicationTable(MAX_US)
    submit(table, CHANGE, 0)
    accept(table, CHANGE, 7, record_time_us=1)
    from_begin = DeduplicationOffset(LEDGER_BEGIN)
    assert isinstance(submit(table, CHANGE, 2, from_begin), Duplicate)
    assert table.pruned_up_to == LEDGER_BEGIN
    assert table.prune(MAX_US + 100) == 1 and table.pruned_up_to == offset_of(7)
    # The record of the acceptance at offset 7 is gone: a period from before it cannot be
    # honoured, so it is refused (naming the earliest offset supported), never accepted.
    for start in (LEDGER_BEGIN, offset_of(6)):
        with pytest.raises(InvalidDeduplicationPeriod) as invalid:
            submit(table, CHANGE, MAX_US + 100, DeduplicationOffset(start))
        assert invalid.value.error_id == "INVALID_DEDUPLICATION_PERIOD"
        assert invalid.value.earliest_offset == offset_of(7)  # type: ignore[attr-defined]
    assert table.in_flight(CHANGE) is None  # a refused submission is not in flight
    # Periods that only count completions after the horizon are fine.
    assert submit(table, CHANGE, MAX_US + 100, DeduplicationOffset(offset_of(7))) == NotDuplicate()


def test_pruning_horizon_only_moves_forward_and_durations_ignore_it() -> None:
    table = DeduplicationTable(MAX_US)
    other = ChangeId("app", "cmd-2", frozenset({"alice"}))
    submit(table, CHANGE, 0)
    submit(table, other, 0)
    accept(table, CHANGE, 9, record_time_us=10)
    accept(table, other, 4, record_time_us=20)
    table.prune(MAX_US + 15)
    assert table.pruned_up_to == offset_of(9)
    table.prune(MAX_US + 25)
    assert table.pruned_up_to == offset_of(9)  # offset 4 was pruned later, but is lower
    assert submit(table, CHANGE, MAX_US + 25, DeduplicationDuration(MAX_US)) == NotDuplicate()
    assert check_deduplication(DeduplicationOffset(offset_of(9)), 0, None, None, MAX_US,
                               pruned_up_to=offset_of(9)) == NotDuplicate()
    with pytest.raises(InvalidDeduplicationPeriod):
        check_deduplication(DeduplicationOffset(offset_of(8)), 0, None, None, MAX_US,
                            pruned_up_to=offset_of(9))


def test_unsequenced_submissions_time_out_at_max_sequencing_time() -> None:
    table = DeduplicationTable(MAX_US)
    submit(table, CHANGE, 0)  # max sequencing time 10 s
    other = ChangeId("app", "cmd-2", frozenset({"alice"}))
    submit(table, other, 0)
    table.mark_sequenced(other, 5)
    assert table.unsequenced_past(10 * SECOND_US) == ()
    assert [s.change_id for s in table.unsequenced_past(10 * SECOND_US + 1)] == [CHANGE]


@pytest.mark.parametrize("app,cmd,act_as", [("", "c", {"a"}), ("a", "", {"a"}), ("a", "c", set())])
def test_change_id_parts_must_not_be_empty(app: str, cmd: str, act_as: set[str]) -> None:
    with pytest.raises(InvalidArgument):
        ChangeId(app, cmd, frozenset(act_as))
