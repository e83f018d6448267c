"""Participants crash and restart from their store alone (the clean position, in-flight
submissions, pending requests with their locks): no transaction is lost or duplicated."""

from __future__ import annotations

from tests.sim.dvp_flow import setup_until_dvp, swap
from tests.sim.harness import SimNetwork
from tests.sim.ledger_checks import (
    assert_ledgers_follow_the_ledger_model,
    check_invariants,
    completions_per_command,
)


def test_restart_while_the_swap_is_in_flight_keeps_locks_and_commits_once() -> None:
    net = SimNetwork()
    net.invariants.append(check_invariants)
    contracts = setup_until_dvp(net)
    prepared = swap(net, contracts)
    net.hold_responses(prepared)
    net.run()
    request_id = str(net.request_ts(prepared))
    for name in ("alice", "bank", "sr"):
        net.restart(name)
    assert net.machine("bank").conflict_detector.lock_holders(contracts.iou) == (request_id,)
    assert net.machine("alice").pending_requests() == (net.request_ts(prepared),)
    assert [s.request_ts_us for s in net.machine("alice").tracked_submissions()] == [
        net.request_ts(prepared)]
    net.release(prepared)
    net.run(advance_time=True)

    (completion,) = net.store("alice").completion_of("swap")
    assert completion.accepted
    assert set(completions_per_command(net).values()) == {1}
    assert_ledgers_follow_the_ledger_model(net, net.submitted)


def test_restart_with_a_submission_not_yet_sequenced_and_events_missed() -> None:
    net = SimNetwork()
    net.invariants.append(check_invariants)
    contracts = setup_until_dvp(net)
    net.hold("request", lambda sender, send: send.message_id.startswith("request-"))
    swap(net, contracts)
    net.stop("bob")
    net.restart("alice")  # the swap is in flight, unsequenced
    net.release("request")
    net.run()
    net.restart("bob")  # crashed while down: catches up from the store and the backlog
    net.run(advance_time=True)
    (completion,) = net.store("alice").completion_of("swap")
    assert completion.accepted
    assert set(completions_per_command(net).values()) == {1}
    assert_ledgers_follow_the_ledger_model(net, net.submitted)
