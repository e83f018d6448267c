"""The submitting participant's permission is judged at the request's timestamp, not when the
command was submitted (issue 5): a change of Alice's hosting sequenced while her transfer
waits to be sequenced decides the transfer's fate, through the whole network of machines."""

from __future__ import annotations

from tests.sim.harness import SimNetwork
from tests.sim.ledger_checks import check_invariants
from tests.sim.permission_flow import (
    hosting_alice_with,
    issue_iou_to_alice,
    rehost,
    submit_regardless,
    transfer_to_bob,
)
from tests.sim.sim_domain import SimDomain

from minicanton.core.protocol import validation
from minicanton.core.protocol.submission import PreparedSubmission
from minicanton.core.topology.mappings import ParticipantPermission

HELD = "requests"


def holding_requests(domain: SimDomain) -> tuple[SimNetwork, str]:
    """The network with the Bank's Iou issued to Alice; requests are held from now on."""
    net = SimNetwork(domain)
    net.invariants.append(check_invariants)
    iou_id = issue_iou_to_alice(net)
    net.hold(HELD, lambda _sender, send: send.message_id.startswith("request-"))
    return net, iou_id


def sequenced_after_rehosting(net: SimNetwork, prepared: PreparedSubmission,
                              permission: ParticipantPermission) -> int:
    """Rehost Alice on alice's participant with `permission`, then let the held request be
    sequenced once the change is in force; the request's timestamp."""
    assert [s.message_id for s in net.held_sends(HELD)] == [prepared.message_id]
    effective_us = rehost(net, "Alice", {"alice": permission}, net.clock_us)
    net.advance_clock(effective_us - net.clock_us)
    net.release(HELD)
    net.run(advance_time=True)
    request_ts_us = net.request_ts(prepared)
    assert request_ts_us > effective_us
    return request_ts_us


def test_submission_permission_withdrawn_before_sequencing_rejects_the_request() -> None:
    """Alice's participant checked her permission when it submitted (it had it); by the
    request's timestamp it hosts her for confirmation only, so the Bank's participant
    rejects, and nothing is committed anywhere."""
    net, iou_id = holding_requests(SimDomain())
    prepared = net.submit("alice", transfer_to_bob(net, iou_id), act_as=["Alice"],
                          command_id="transfer")
    request_ts_us = sequenced_after_rehosting(net, prepared, ParticipantPermission.CONFIRMATION)
    (completion,) = net.store("alice").completion_of("transfer")
    assert completion.rejection is not None
    assert completion.rejection.error_id == validation.SUBMITTER_NOT_AUTHORIZED
    assert net.domain.participant_of("bank") in completion.rejection.participants
    assert str(net.domain.party("Alice")) in completion.rejection.message
    assert str(request_ts_us) in completion.rejection.message
    assert [len(net.store(n).transactions) for n in ("bank", "alice", "bob")] == [1, 1, 0]
    assert iou_id in net.store("bank").active and iou_id in net.store("alice").active


def test_submission_permission_granted_before_sequencing_accepts_the_request() -> None:
    """The other way round: sent while Alice's participant hosted her for confirmation only
    (its own check skipped), sequenced once it hosts her with Submission: committed."""
    net, iou_id = holding_requests(hosting_alice_with(ParticipantPermission.CONFIRMATION))
    prepared = submit_regardless(net, "alice", "Alice", transfer_to_bob(net, iou_id),
                                 "transfer")
    sequenced_after_rehosting(net, prepared, ParticipantPermission.SUBMISSION)
    (completion,) = net.store("alice").completion_of("transfer")
    assert completion.accepted, completion
    assert [len(net.store(n).transactions) for n in ("bank", "alice", "bob")] == [2, 2, 1]
    assert iou_id in net.store("bank").archived
