"""Send outcomes learnt from the stream, and challenge-response signatures."""

from __future__ import annotations

import pytest

from minicanton.core.errors import InvalidArgument
from minicanton.core.sequencing.auth import sign_challenge, verify_challenge
from minicanton.core.sequencing.batch import Batch
from minicanton.core.sequencing.errors import AuthenticationFailed
from minicanton.core.sequencing.events import Deliver, DeliverError, SequencedEvent
from minicanton.core.sequencing.send_tracking import (
    SendDelivered,
    SendFailed,
    SendNotSequenced,
    SendTracker,
)
from minicanton.core.sequencing.submission import SEQUENCING_TIME_EXCEEDED

from .helpers import ALICE, BOB, DOMAIN, KEYS


def event(ts: int, content) -> SequencedEvent:
    return SequencedEvent(DOMAIN, ALICE, 0, ts, None, content)


def test_a_receipt_resolves_the_send() -> None:
    tracker = SendTracker()
    tracker.track("m1", 100)
    assert tracker.observe(event(50, Deliver(ALICE, "m1", Batch()))) == [
        SendDelivered("m1", 50, 0)]
    assert not tracker.is_pending("m1")


def test_a_later_event_without_receipt_means_not_sequenced() -> None:
    tracker = SendTracker()
    tracker.track("m1", 100)
    tracker.track("m2", 300)
    assert tracker.observe(event(100, Deliver(BOB, None, Batch()))) == []
    assert tracker.observe(event(101, Deliver(BOB, None, Batch()))) == [
        SendNotSequenced("m1", 100, 101)]
    assert tracker.is_pending("m2")


def test_deliver_errors_resolve_as_failed_or_not_sequenced() -> None:
    tracker = SendTracker()
    tracker.track("m1", 100)
    tracker.track("m2", 100)
    (late,) = tracker.observe(event(90, DeliverError("m1", SEQUENCING_TIME_EXCEEDED, "late")))
    assert late == SendNotSequenced("m1", 100, 90)
    (failed,) = tracker.observe(event(95, DeliverError("m2", "OTHER", "why")))
    assert isinstance(failed, SendFailed)


def test_tracking_a_pending_message_id_twice_is_refused() -> None:
    tracker = SendTracker()
    tracker.track("m1", 100)
    with pytest.raises(InvalidArgument):
        tracker.track("m1", 100)
    tracker.forget("m1")
    tracker.track("m1", 200)


def test_challenge_signatures_bind_member_domain_and_nonce() -> None:
    signature = sign_challenge(DOMAIN, ALICE, b"n" * 32, KEYS[ALICE])
    verify_challenge(DOMAIN, ALICE, b"n" * 32, signature, KEYS[ALICE].public)
    for domain, member, nonce in [("d::1220bb", ALICE, b"n" * 32), (DOMAIN, BOB, b"n" * 32),
                                  (DOMAIN, ALICE, b"x" * 32)]:
        with pytest.raises(AuthenticationFailed):
            verify_challenge(domain, member, nonce, signature, KEYS[ALICE].public)
