"""The mediator's verdict log: a line for each rejection and timeout, approvals at DEBUG and
counted in a summary written at the first verdict after a window of the interval."""

from __future__ import annotations

import logging

import pytest

from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.hashing import HashPurpose, hash_of
from minicanton.core.ids import MemberKind, ParticipantId, member_id
from minicanton.core.protocol.mediator import SendVerdict, VerdictDelivery, verdict_message_id
from minicanton.core.protocol.messages import (
    Approve,
    MediatorResult,
    Reject,
    RejectReason,
    Timeout,
    Verdict,
)
from minicanton.mediator.verdict_log import SUMMARY_TEXT, VerdictLog

KEY = SigningKeyPair.from_private(bytes(range(32)))
LOGGER = "minicanton.mediator.verdict_log_test"


def _send(request_ts_us: int, verdict: Verdict) -> SendVerdict:
    result = MediatorResult.create(
        request_ts_us=request_ts_us, root_hash=hash_of(HashPurpose.VALUE, b"root"),
        mediator=member_id(MemberKind.MEDIATOR, "mediator", KEY.fingerprint), verdict=verdict,
        signing_key=KEY)
    recipient = ParticipantId(member_id(MemberKind.PARTICIPANT, "bank", KEY.fingerprint))
    return SendVerdict(verdict_message_id(request_ts_us), request_ts_us + 10, result,
                       (VerdictDelivery(recipient, result),))


def _messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level]


def test_rejections_and_timeouts_get_a_line_each_and_approvals_only_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, LOGGER)
    verdicts = VerdictLog(logging.getLogger(LOGGER), interval_s=1.0)
    verdicts.handing_over(_send(1, Approve()), 0.0)
    verdicts.handing_over(_send(2, Reject((RejectReason("CODE", "why"),))), 0.1)
    verdicts.handing_over(_send(3, Timeout(())), 0.2)
    assert _messages(caplog, logging.INFO) == [
        "verdict on request 2: reject", "verdict on request 3: timeout"]
    assert _messages(caplog, logging.DEBUG) == ["verdict on request 1: approve"]
    record = next(r for r in caplog.records if r.levelno == logging.INFO)
    assert record.fields == {"request_ts_us": 2, "message_id": "verdict-2"}  # type: ignore[attr-defined]


def test_the_summary_comes_at_the_first_verdict_after_the_interval_and_counts_the_window(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    verdicts = VerdictLog(logging.getLogger(LOGGER), interval_s=1.0)
    for i in range(5):
        verdicts.handing_over(_send(10 + i, Approve()), 0.1 * i)  # 0.0 .. 0.4
    verdicts.handing_over(_send(20, Reject((RejectReason("CODE", "why"),))), 0.9)
    assert _messages(caplog, logging.INFO) == ["verdict on request 20: reject"]
    assert not _messages(caplog, logging.DEBUG)  # not even formatted below the level
    caplog.clear()
    verdicts.handing_over(_send(21, Approve()), 1.0)  # the window has lasted 1.0 s
    assert _messages(caplog, logging.INFO) == [
        f"handed 6 {SUMMARY_TEXT} in 1.0 s: 5 approvals, 1 rejections, 0 timeouts"]
    caplog.clear()
    verdicts.handing_over(_send(22, Approve()), 1.5)
    assert not caplog.records  # a new window, started by request 21
    verdicts.handing_over(_send(23, Approve()), 9.0)  # after a pause: summary at once
    assert _messages(caplog, logging.INFO) == [
        f"handed 2 {SUMMARY_TEXT} in 8.0 s: 2 approvals, 0 rejections, 0 timeouts"]


def test_nothing_is_logged_without_a_verdict_however_long_the_silence(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What the failover test relies on: a summary line means a verdict is being handed over
    right then."""
    caplog.set_level(logging.INFO, LOGGER)
    verdicts = VerdictLog(logging.getLogger(LOGGER), interval_s=1.0)
    verdicts.handing_over(_send(1, Approve()), 0.0)
    assert not caplog.records
    verdicts.handing_over(_send(2, Approve()), 100.0)
    assert len(caplog.records) == 1 and SUMMARY_TEXT in caplog.records[0].getMessage()
