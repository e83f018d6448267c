"""Confirmation policies end to end: who answers the mediator under VIP, signatory and full."""

from __future__ import annotations

from dataclasses import replace

import pytest
from tests.sim.dvp_flow import iou
from tests.sim.harness import SimNetwork
from tests.sim.ledger_checks import check_invariants
from tests.sim.sim_domain import DVP_HOSTING, SimDomain, default_parameters

from minicanton.core.errors import MinicantonError
from minicanton.core.protocol.confirmation_policy import ConfirmationPolicy
from minicanton.core.protocol.message_codec import decode_protocol_message
from minicanton.core.protocol.messages import MAGIC, ConfirmationResponse
from minicanton.core.sequencing.events import Deliver
from minicanton.core.topology.mappings import ParticipantPermission


def responders(net: SimNetwork) -> set[str]:
    found = set()
    for event in net.delivered["mediator"]:
        if isinstance(event.content, Deliver):
            for envelope in event.content.batch.envelopes:
                if envelope.content.startswith(MAGIC):
                    message = decode_protocol_message(envelope.content)
                    if isinstance(message, ConfirmationResponse):
                        found.add(net.domain.name_of(message.sender))
    return found


@pytest.mark.parametrize(("policy", "expected"), [
    (ConfirmationPolicy.VIP, {"bank"}),
    (ConfirmationPolicy.SIGNATORY, {"bank"}),
    (ConfirmationPolicy.FULL, {"bank", "alice"}),
])
def test_an_iou_issue_is_confirmed_by_the_policy_s_confirmers(
        policy: ConfirmationPolicy, expected: set[str]) -> None:
    parameters = replace(default_parameters(), default_confirmation_policy=policy)
    domain = SimDomain(DVP_HOSTING, parameters=parameters, vip=["bank"])
    net = SimNetwork(domain)
    net.invariants.append(check_invariants)
    net.submit("bank", iou(net), act_as=["Bank"], command_id="issue")
    net.run(advance_time=True)
    (completion,) = net.store("bank").completion_of("issue")
    assert completion.accepted
    assert responders(net) == expected
    assert len(net.store("alice").active) == 1


def test_vip_is_refused_when_an_action_has_no_vip_informee() -> None:
    parameters = replace(default_parameters(), default_confirmation_policy=ConfirmationPolicy.VIP)
    net = SimNetwork(SimDomain(DVP_HOSTING, parameters=parameters))
    with pytest.raises(MinicantonError) as raised:
        net.submit("bank", iou(net), act_as=["Bank"], command_id="issue")
    assert raised.value.error_id == "CONFIRMATION_POLICY_NOT_APPLICABLE"


def test_a_party_hosted_twice_is_served_by_both_and_confirmed_where_permitted() -> None:
    hosting = {**DVP_HOSTING, "alice-replica": ()}
    domain = SimDomain(hosting, parameters=replace(
        default_parameters(), default_confirmation_policy=ConfirmationPolicy.FULL))
    domain.host("Alice", {"alice": ParticipantPermission.SUBMISSION,
                          "alice-replica": ParticipantPermission.OBSERVATION})
    net = SimNetwork(domain)
    net.invariants.append(check_invariants)
    net.submit("bank", iou(net), act_as=["Bank"], command_id="issue")
    net.run(advance_time=True)
    assert responders(net) == {"bank", "alice"}  # the observer replica may not confirm
    replica, primary = net.store("alice-replica"), net.store("alice")
    assert replica.active.keys() == primary.active.keys() and len(replica.active) == 1
    assert [e.commit.commit_set.projection for e in replica.transactions] == [
        e.commit.commit_set.projection for e in primary.transactions]
