"""Seed 003's three locking diagrams, through the real machines. Each participant locks what a
request consumes when the request is sequenced; a later request touching a locked contract is
rejected (pessimistically) even if the earlier one fails afterwards. Holding back the earlier
request's confirmation responses keeps it in flight, as in the diagrams."""

from __future__ import annotations

from tests.sim.dvp_flow import exercise
from tests.sim.ledger_checks import check_invariants
from tests.sim.paint_flow import paint_setup

from minicanton.core.lf.value import PartyValue

LOCKED = "LOCAL_VERDICT_LOCKED_CONTRACTS"
INACTIVE = "LOCAL_VERDICT_INACTIVE_CONTRACTS"


def test_diagram_1_the_later_conflicting_request_is_rejected_while_the_earlier_is_in_flight(
) -> None:
    paint = paint_setup()
    net = paint.net
    net.invariants.append(check_invariants)
    tx1 = paint.accept()
    net.hold_responses(tx1)
    net.run()
    rid1 = paint.request_id(tx1)
    assert paint.locks("a", paint.c2) == paint.locks("p", paint.c2) == (rid1,)
    assert paint.locks("a", paint.c1) == paint.locks("bank", paint.c1) == (rid1,)
    assert paint.locks("p", paint.c1) == ()  # P is no stakeholder of the Iou

    tx2 = paint.retract()
    net.run()
    (rejected,) = net.store("a").completion_of("tx2-retract")
    assert rejected.rejection is not None and rejected.rejection.error_id == LOCKED
    # the mediator decides on the first rejection; it names who rejected
    assert rejected.rejection.participants
    assert set(rejected.rejection.participants) <= {net.domain.participant_of("a"),
                                                    net.domain.participant_of("p")}
    assert paint.c2 in rejected.rejection.contract_ids

    net.release(tx1)
    net.run()
    (accepted,) = net.store("p").completion_of("tx1-accept")
    assert accepted.accepted and accepted.transaction_id == tx1.transaction_id
    assert paint.c1 in net.store("a").archived and paint.c1 in net.store("bank").archived
    assert paint.c2 in net.store("a").archived and paint.c2 in net.store("p").archived
    assert all(paint.locks(n, c) == () for n in ("a", "p", "bank") for c in (paint.c1, paint.c2))
    assert tx2.transaction_id not in {e.transaction_id for e in net.store("a").transactions}


def test_diagram_2_the_rejected_request_keeps_its_lock_until_its_verdict() -> None:
    paint = paint_setup()
    net = paint.net
    net.invariants.append(check_invariants)
    tx2 = paint.retract()
    net.hold_responses(tx2)
    net.run()
    tx1 = paint.accept()
    net.hold_responses(tx1)
    net.run()
    rid1, rid2 = paint.request_id(tx1), paint.request_id(tx2)
    # A answers tx1 view by view: approves c1's archival, rejects c2's (locked by tx2).
    # (the Bank also confirms the new Iou that the transfer creates)
    assert paint.held_verdicts(tx1) == {"a": ["APPROVE", LOCKED], "bank": ["APPROVE", "APPROVE"],
                                        "p": [LOCKED]}
    assert paint.locks("a", paint.c1) == paint.locks("bank", paint.c1) == (rid1,)
    assert paint.locks("a", paint.c2) == paint.locks("p", paint.c2) == (rid2, rid1)

    net.release(tx1)
    net.run()
    (rejected,) = net.store("p").completion_of("tx1-accept")
    assert rejected.rejection is not None and rejected.rejection.error_id == LOCKED
    assert paint.locks("a", paint.c1) == paint.locks("bank", paint.c1) == ()
    assert paint.is_active("a", paint.c1) and paint.is_active("bank", paint.c1)
    assert paint.locks("a", paint.c2) == (rid2,)

    net.release(tx2)
    net.run()
    (accepted,) = net.store("a").completion_of("tx2-retract")
    assert accepted.accepted
    assert paint.c2 in net.store("a").archived and paint.c2 in net.store("p").archived
    assert paint.is_active("a", paint.c1)


def test_diagram_3_an_incorrect_negative_the_earlier_request_fails_yet_the_later_stays_rejected(
) -> None:
    paint = paint_setup()
    net = paint.net
    net.invariants.append(check_invariants)
    # c1 is archived first (A hands the Iou back); P, who only had it divulged, never hears.
    net.submit("a", exercise("paint:Iou", paint.c1, "Transfer",
                             recipient=PartyValue(net.domain.party("Bank"))),
               act_as=["A"], command_id="spend-c1")
    net.run()
    assert paint.c1 in net.store("a").archived and paint.c1 in net.store("p").divulged

    tx1 = paint.accept()
    net.hold_responses(tx1)
    net.run()
    rid1 = paint.request_id(tx1)
    assert paint.held_verdicts(tx1) == {"a": ["APPROVE", INACTIVE],
                                        "bank": ["APPROVE", INACTIVE], "p": ["APPROVE"]}
    assert paint.locks("p", paint.c2) == paint.locks("a", paint.c2) == (rid1,)

    tx2 = paint.retract()
    net.run()
    (rejected_tx2,) = net.store("a").completion_of("tx2-retract")
    assert rejected_tx2.rejection is not None and rejected_tx2.rejection.error_id == LOCKED

    net.release(tx1)
    net.run()
    (rejected_tx1,) = net.store("p").completion_of("tx1-accept")
    assert rejected_tx1.rejection is not None
    assert rejected_tx1.rejection.error_id == INACTIVE
    assert paint.c1 in rejected_tx1.rejection.contract_ids
    # c2 is active again and unlocked, but tx2 stays rejected: the incorrect negative.
    assert paint.is_active("a", paint.c2) and paint.is_active("p", paint.c2)
    assert paint.locks("a", paint.c2) == paint.locks("p", paint.c2) == ()
    assert tx2.transaction_id not in {e.transaction_id for e in net.store("a").transactions}
