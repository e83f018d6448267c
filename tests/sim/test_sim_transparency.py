"""Seed 003's transparency check ("participants who should be notified get notified"): a
submitter that leaves an informee participant out of a view's recipients must not get the
view committed elsewhere. Found by the explorer (seeds 3 and 27 at the time): the withheld
view told Carol, an observer, of a Share she received, and her participant never learnt it.

Here Alice's participant transfers the Bank's Iou to Bob and leaves Bob's participant out
of the view of the new Iou (it still gets the root-hash message). Bob is an informee of that
view but not a confirming party, so his participant's MISSING_VIEWS rejection counts for
nothing; the Bank's participant, which holds the view and confirms it, must see that the
view's envelope did not go to every participant hosting its informees and reject it (fixed
in validation by `view_recipients`)."""

from __future__ import annotations

from tests.sim.dvp_flow import created_id, exercise, iou
from tests.sim.harness import SimNetwork
from tests.sim.ledger_checks import check_invariants
from tests.sim.test_sim_malicious import malicious_submit, withhold_from

from minicanton.core.lf.value import PartyValue
from minicanton.core.protocol.submission import CommandSubmission


def test_a_view_withheld_from_an_observer_participant_is_not_committed_elsewhere() -> None:
    net = SimNetwork()
    issued = net.submit("bank", iou(net), act_as=["Bank"], command_id="iou")
    net.run()
    iou_id = created_id(issued, "Iou")
    submission = CommandSubmission(
        (exercise("dvp:Iou", iou_id, "Transfer", recipient=PartyValue(net.domain.party("Bob"))),),
        frozenset({net.domain.party("Alice")}), "sim", "evil-transfer", "evil-5")
    malicious_submit(net, submission, alter_batch=withhold_from(net, "bob"))
    net.run(advance_time=True)

    (completion,) = net.store("alice").completion_of("evil-transfer")
    assert completion.rejection is not None, "committed without Bob's participant's view"
    assert iou_id in net.store("bank").active
    check_invariants(net)
