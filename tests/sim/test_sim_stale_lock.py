"""A lock held by a request whose decision time has passed must not reject a later request.

Found by the explorer (seed 107 at the time): `ParticipantMachine.process` checked and
locked the event's request before `_expire` released the requests whose decision time is
before the event's timestamp; it now expires first. A participant that was sent nothing between an
undecided request's decision time and the next request touching the same contract (its
verdict was lost, the mediator was down) answered that request LOCKED_CONTRACTS, naming a
request that can no longer commit: an unnecessary rejection, and where the party has a
second (honest) participant that had seen time pass, the two answered differently.

Here the verdict on Alice's first transfer never reaches anyone; once its decision time has
passed she transfers the same Iou again."""

from __future__ import annotations

from tests.sim.dvp_flow import created_id, exercise, iou
from tests.sim.harness import SimNetwork
from tests.sim.ledger_checks import check_invariants
from tests.sim.sim_domain import REACTION_TIMEOUT_US, RESPONSE_TIMEOUT_US

from minicanton.core.lf.value import PartyValue
from minicanton.core.protocol.mediator import VERDICT_MESSAGE_ID_PREFIX

LOST_VERDICTS = "verdicts lost"


def test_a_lock_past_its_holders_decision_time_does_not_reject_the_next_request() -> None:
    net = SimNetwork()
    net.invariants.append(check_invariants)
    issued = net.submit("bank", iou(net, owner="Alice"), act_as=["Bank"], command_id="iou")
    net.run()
    iou_id = created_id(issued, "Iou")
    transfer = exercise("dvp:Iou", iou_id, "Transfer",
                        recipient=PartyValue(net.domain.party("Bob")))

    net.hold(LOST_VERDICTS, lambda sender, send: sender == "mediator"
             and send.message_id.startswith(VERDICT_MESSAGE_ID_PREFIX))
    first = net.submit("alice", transfer, act_as=["Alice"], command_id="first")
    net.run()
    net.discard(LOST_VERDICTS)
    net.advance_clock(RESPONSE_TIMEOUT_US + REACTION_TIMEOUT_US + 1)
    assert net.clock_us > net.domain.snapshot(net.clock_us).parameters.decision_deadline_us(
        net.request_ts(first))

    net.submit("alice", transfer, act_as=["Alice"], command_id="second")
    net.run(advance_time=True)

    (second,) = net.store("alice").completion_of("second")
    assert second.rejection is None, f"rejected: {second.rejection}"
    assert iou_id in net.store("bank").archived
