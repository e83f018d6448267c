"""What a client gets wrong is refused clearly: at submission with a typed error (nothing
sent, nothing in flight), or, when only the domain can tell, with a completion that says why."""

from __future__ import annotations

import pytest
from tests.sim.dvp_flow import create, iou
from tests.sim.harness import SimNetwork
from tests.sim.ledger_checks import check_invariants
from tests.sim.sim_domain import DVP_PACKAGE, TOLERANCE_US, SimDomain

from minicanton.core.errors import MinicantonError
from minicanton.core.protocol.deduplication import DeduplicationDuration
from minicanton.core.protocol.participant_effects import NOT_SEQUENCED
from minicanton.core.protocol.validation import LEDGER_TIME


def refused(net: SimNetwork, error_id: str, name: str, *commands, **kwargs) -> None:
    before = (len(net.outbox), len(net.store(name).in_flight))
    with pytest.raises(MinicantonError) as raised:
        net.submit(name, *commands, **kwargs)
    assert raised.value.error_id == error_id, raised.value.message
    assert (len(net.outbox), len(net.store(name).in_flight)) == before


def test_a_command_is_deduplicated_by_application_command_id_and_act_as() -> None:
    net = SimNetwork()
    net.invariants.append(check_invariants)
    net.submit("bank", iou(net), act_as=["Bank"], command_id="pay-1")
    refused(net, "SUBMISSION_ALREADY_IN_FLIGHT", "bank", iou(net), act_as=["Bank"],
            command_id="pay-1")
    net.run()
    refused(net, "DUPLICATE_COMMAND", "bank", iou(net), act_as=["Bank"], command_id="pay-1")
    net.submit("bank", iou(net), act_as=["Bank"], command_id="pay-1", application_id="other")
    net.advance_clock(5_000_000)
    net.submit("bank", iou(net), act_as=["Bank"], command_id="pay-1",
               deduplication_period=DeduplicationDuration(1_000_000))  # the first is older
    net.run()
    assert len(net.store("bank").transactions) == 3
    assert [c.accepted for c in net.store("bank").completion_of("pay-1")] == [True] * 3


def test_a_rejected_command_may_be_resubmitted_at_once() -> None:
    net = SimNetwork()
    skewed = net.clock_us + 2 * TOLERANCE_US
    net.submit("bank", iou(net), act_as=["Bank"], command_id="c", ledger_time_us=skewed)
    net.run()
    net.submit("bank", iou(net), act_as=["Bank"], command_id="c")
    net.run()
    assert [c.accepted for c in net.store("bank").completion_of("c")] == [False, True]


def test_ledger_time_too_far_from_record_time_is_rejected_naming_the_check() -> None:
    net = SimNetwork()
    net.submit("bank", iou(net), act_as=["Bank"], command_id="skewed",
               ledger_time_us=net.clock_us + 2 * TOLERANCE_US)
    net.run()
    (completion,) = net.store("bank").completion_of("skewed")
    assert completion.rejection is not None and completion.rejection.error_id == LEDGER_TIME
    assert "tolerance" in completion.rejection.message
    assert net.store("alice").transactions == []


def test_an_unknown_template_is_refused_at_submission() -> None:
    net = SimNetwork()
    refused(net, "TEMPLATE_NOT_FOUND", "bank", create("dvp:NoSuchTemplate"), act_as=["Bank"],
            command_id="nope")


def test_acting_as_a_party_this_participant_does_not_host_is_refused() -> None:
    net = SimNetwork()
    refused(net, "SUBMITTING_PARTY_NOT_KNOWN_ON_LEDGER", "alice", iou(net), act_as=["Bank"],
            command_id="not-mine")


def test_a_package_an_informee_participant_has_not_vetted_is_refused() -> None:
    net = SimNetwork(SimDomain(vetting={"alice": [DVP_PACKAGE]}))
    refused(net, "PACKAGE_NOT_VETTED_BY_RECIPIENTS", "bank",
            iou(net, owner="Alice", module="paint"), act_as=["Bank"], command_id="paint-iou")


def test_a_request_not_sequenced_by_its_max_sequencing_time_completes_as_such_once() -> None:
    net = SimNetwork()
    net.invariants.append(check_invariants)
    net.hold("slow", lambda sender, send: send.message_id.startswith("request-"))
    prepared = net.submit("bank", iou(net), act_as=["Bank"], command_id="slow")
    net.run(advance_time=True)
    (completion,) = net.store("bank").completion_of("slow")
    assert completion.rejection is not None and completion.rejection.error_id == NOT_SEQUENCED
    net.release("slow")
    net.run(advance_time=True)
    assert len(net.store("bank").completion_of("slow")) == 1
    assert net.refused and net.refused[-1][1] == prepared.message_id
    assert net.store("bank").transactions == []
