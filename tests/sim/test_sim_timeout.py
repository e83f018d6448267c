"""A confirming participant that is down: the Swap times out and the submitter learns which
participant did not answer; nothing is committed and every lock is released."""

from __future__ import annotations

from tests.sim.dvp_flow import setup_until_dvp, swap
from tests.sim.harness import SimNetwork
from tests.sim.ledger_checks import check_invariants
from tests.sim.sim_domain import REACTION_TIMEOUT_US, RESPONSE_TIMEOUT_US

from minicanton.core.protocol.message_codec import decode_protocol_message
from minicanton.core.protocol.messages import MAGIC, MediatorResult, Timeout, Verdict
from minicanton.core.protocol.participant_effects import MEDIATOR_TIMEOUT
from minicanton.core.sequencing.events import Deliver


def _verdicts_delivered(net: SimNetwork, name: str, request_ts: int) -> list[Verdict]:
    """The verdicts on request `request_ts` in `name`'s delivered events: its own copy, as
    the mediator sends each recipient (the sim sends `SendVerdict.batch()`)."""
    found = []
    for event in net.delivered[name]:
        if isinstance(event.content, Deliver):
            for envelope in event.content.batch.envelopes:
                if envelope.content.startswith(MAGIC):
                    message = decode_protocol_message(envelope.content)
                    if isinstance(message, MediatorResult) and message.request_ts_us == request_ts:
                        found.append(message.verdict)
    return found


def test_sr_participant_down_makes_the_swap_time_out_naming_it() -> None:
    net = SimNetwork()
    net.invariants.append(check_invariants)
    contracts = setup_until_dvp(net)
    committed = {n: len(net.store(n).transactions) for n in net.participants}
    net.stop("sr")
    prepared = swap(net, contracts)
    net.run(advance_time=True)

    (completion,) = net.store("alice").completion_of("swap")
    rejection = completion.rejection
    assert rejection is not None and rejection.error_id == MEDIATOR_TIMEOUT
    sr = net.domain.participant_of("sr")
    assert rejection.participants == (sr,)
    assert [u.parties for u in rejection.unresponsive] == [{net.domain.party("SR")}]
    assert str(sr) in rejection.message
    request_ts = net.request_ts(prepared)
    assert request_ts + RESPONSE_TIMEOUT_US <= completion.record_time_us
    assert completion.record_time_us <= request_ts + RESPONSE_TIMEOUT_US + REACTION_TIMEOUT_US

    bank_copy = _verdicts_delivered(net, "bank", request_ts)
    assert bank_copy == [Timeout((), frozenset())]  # Bank answered; SR is not its to know
    assert _verdicts_delivered(net, "alice", request_ts)[0].unresponsive[0].participant == sr

    for name in ("alice", "bob", "bank"):
        assert len(net.store(name).transactions) == committed[name]
        assert net.machine(name).pending_requests() == ()
        assert net.machine(name).conflict_detector.in_flight() == ()
    assert contracts.dvp in net.store("alice").active and contracts.iou in net.store("bank").active

    net.start("sr")  # it catches up on what it missed: the request, then the timeout
    net.run(advance_time=True)
    assert net.machine("sr").pending_requests() == ()
    assert contracts.share in net.store("sr").active
    assert len(net.store("sr").transactions) == committed["sr"]
    check_invariants(net)
