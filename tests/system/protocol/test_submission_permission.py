"""Submitting for a party hosted without Submission permission, against real processes
(issue 5: "the submitting participant hosts the submitting parties with Submission
permission at the request's timestamp").

1. An honest participant (alice's node) hosts a party with Confirmation permission only (the
   domain admin allocated it so, through the topology manager). A Daml application
   submitting for that party through the Ledger API gets the error id
   SUBMITTING_PARTY_NOT_KNOWN_ON_LEDGER (NOT_FOUND, Daml's category for that id: the party
   is not hosted there with Submission permission), naming the party and the participant:
   the node refuses before sending anything, and the Bank's ledger does not move. Once the
   admin grants Submission permission, the very same command commits (so the refusal was
   the permission's doing).
2. A malicious participant sends anyway: the rogue (rogue.py, the real submission steps with
   nothing altered but its own check skipped) hosts Connie for confirmation only and
   transfers the Bank's Iou to A. The Bank's participant, holding the root view, rejects
   with LOCAL_VERDICT_SUBMITTER_NOT_AUTHORIZED, the mediator's verdict (auditor API) and the
   rogue's completion name it alone, and nothing is committed anywhere (rogue_checks.py,
   shared with test_malicious.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
import pytest_asyncio
from tests.system.participant.harness import TM_ADMIN_TOKEN, created, eventually
from tests.system.protocol.ledger import create_in, failure_of, known_everywhere, sees
from tests.system.protocol.network import Network
from tests.system.protocol.rogue import Rogue
from tests.system.protocol.rogue_checks import Setting, rejected_by_the_bank

from minicanton.codec.gen.com.daml.ledger.api.v1 import commands_pb2
from minicanton.codec.gen.com.daml.ledger.api.v1.value_pb2 import Value
from minicanton.core.ids import ParticipantId, PartyId, party_id
from minicanton.core.protocol import validation
from minicanton.core.protocol.submission import (
    REQUEST_MESSAGE_ID_PREFIX,
    SubmittingPartyNotHosted,
    check_submitter,
)
from minicanton.core.sequencing.send_tracking import SendDelivered
from minicanton.core.topology.mappings import ParticipantPermission
from minicanton.runtime.clock import wall_clock_us
from minicanton.runtime.topology_admin_client import TopologyAdminClient

pytestmark = pytest.mark.system

CONFIRMATION = ParticipantPermission.CONFIRMATION
SUBMISSION = ParticipantPermission.SUBMISSION
REQUESTS = "requests"  # the rogue's hold on its confirmation requests


@pytest_asyncio.fixture(scope="module")
async def domain_admin(network: Network) -> AsyncIterator[TopologyAdminClient]:
    admin = TopologyAdminClient(network.domain.manager_endpoint, admin_token=TM_ADMIN_TOKEN,
                                timeout_s=15)
    try:
        yield admin
    finally:
        await admin.close()


async def _host_on_alice(net: Network, admin: TopologyAdminClient, party: str,
                         permission: ParticipantPermission, marker: str, bank: str,
                         a: str) -> str:
    """Host `party` on alice's node with `permission`, and return once alice's node is
    past the change: it then processed a transaction sequenced after the change took effect
    (the Bank's marker Iou to A, submitted once the wall clock, which sequencing times follow,
    passed the effective time); the marker's id."""
    change = await admin.allocate_party(party, [(net.participant_id("alice"), permission)])
    while wall_clock_us() <= change.effective_us:
        await asyncio.sleep(0.02)
    iou = created(await net.clients["bank"].submit(bank, marker, _iou(bank, a, "1.0")), "Iou")
    await eventually(lambda: sees(net.clients["alice"], a, iou))
    return iou


def _iou(issuer: str, owner: str, amount: str) -> commands_pb2.Command:
    return create_in("paint", "Iou", issuer=Value(party=issuer), owner=Value(party=owner),
                     amount=Value(numeric=amount), currency=Value(text="USD"))


async def test_a_party_hosted_for_confirmation_only_cannot_submit_through_the_ledger_api(
        network: Network, domain_admin: TopologyAdminClient) -> None:
    bank = await network.allocate("bank", "PermBank")
    a = await network.allocate("alice", "PermA")
    await known_everywhere(network, [bank, a])
    connie = party_id("PermConnie", network.participant_id("alice").split("::")[-1])
    await _host_on_alice(network, domain_admin, connie, CONFIRMATION, "perm-marker-1", bank, a)
    alice, bank_client = network.clients["alice"], network.clients["bank"]
    # the admin hosted Connie here without alice's node allocating her: still local to it
    hosted_here = {p.party: p.is_local for p in await alice.known_parties()}
    assert hosted_here.get(connie) is True, hosted_here
    assert {p.party: p.is_local for p in await bank_client.known_parties()}.get(connie) is False
    before = {x.contract_id for x in await bank_client.active_contracts(bank)}

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await alice.submit(connie, "perm-iou", _iou(connie, bank, "7.0"))
    failure = failure_of(refused.value)
    assert failure.code == grpc.StatusCode.NOT_FOUND, failure
    assert failure.error_id == "SUBMITTING_PARTY_NOT_KNOWN_ON_LEDGER", failure
    assert connie in failure.message and network.participant_id("alice") in failure.message
    assert "submission permission" in failure.message

    marker = await _host_on_alice(network, domain_admin, connie, SUBMISSION, "perm-marker-2",
                                  bank, a)
    after = {x.contract_id for x in await bank_client.active_contracts(bank)}
    assert after == before | {marker}  # nothing of the refused command reached the Bank
    iou = created(await alice.submit(connie, "perm-iou", _iou(connie, bank, "7.0")), "Iou")
    await eventually(lambda: sees(bank_client, bank, iou))


@pytest_asyncio.fixture(scope="module")
async def rogue(network: Network) -> AsyncIterator[Rogue]:
    rogue = await Rogue.join(network, "perm-node")
    try:
        yield rogue
    finally:
        await rogue.close()


async def _rogue_setting(network: Network, rogue: Rogue, hint: str,
                         permission: ParticipantPermission) -> Setting:
    """A party `hint` the rogue hosts with `permission`, holding an Iou the Bank issued."""
    party = party_id(hint, rogue.keys.namespace)
    change = await rogue.admin.allocate_party(party, [(rogue.participant_id, permission)])
    await rogue.wait_processed(change.effective_us)
    rogue.store.parties = rogue.store.parties | {party}
    bank = await network.allocate("bank", f"{hint}Bank")
    a = await network.allocate("alice", f"{hint}A")
    await known_everywhere(network, [str(party), bank, a])
    iou = created(await network.clients["bank"].submit(
        bank, f"{hint}-iou", _iou(bank, str(party), "100.0")), "Iou")
    await eventually(lambda: _held_by(rogue, iou))
    return Setting(network, rogue, str(party), bank, a, iou)


async def _held_by(rogue: Rogue, contract_id: str) -> None:
    rogue.check_running()
    assert contract_id in rogue.store.active


async def test_a_request_sent_anyway_is_rejected_by_the_other_participants(
        network: Network, rogue: Rogue) -> None:
    setting = await _rogue_setting(network, rogue, "PermRogue", CONFIRMATION)
    with pytest.raises(SubmittingPartyNotHosted):  # what an honest participant does
        rogue.submit(setting.mallory, "perm-honest", setting.transfer())
    await rejected_by_the_bank(setting, "perm-rogue", validation.SUBMITTER_NOT_AUTHORIZED)


async def test_submission_permission_withdrawn_while_the_request_waits_rejects_it(
        network: Network, rogue: Rogue, domain_admin: TopologyAdminClient) -> None:
    """The rogue had Submission permission for the party when it built the request; the
    domain admin withdraws it (Confirmation only) while the request is held back, which is
    then sequenced after the change took effect: the Bank's real participant judges it at
    its timestamp and rejects it."""
    setting = await _rogue_setting(network, rogue, "PermLate", SUBMISSION)
    rogue.hold(REQUESTS, lambda send: send.message_id.startswith(REQUEST_MESSAGE_ID_PREFIX))

    async def holding_the_request() -> None:
        assert len(rogue.held_under(REQUESTS)) == 1

    async def withdraw_then_release() -> int:
        await eventually(holding_the_request)
        check_submitter([PartyId(setting.mallory)], ParticipantId(rogue.participant_id),
                        rogue.topology.snapshot(wall_clock_us()))  # allowed when built
        change = await domain_admin.allocate_party(
            setting.mallory, [(rogue.participant_id, CONFIRMATION)])
        while wall_clock_us() <= change.effective_us:
            await asyncio.sleep(0.02)
        rogue.release(REQUESTS)
        return change.effective_us

    withdrawal = asyncio.create_task(withdraw_then_release())
    await rejected_by_the_bank(setting, "perm-late", validation.SUBMITTER_NOT_AUTHORIZED)
    effective_us = await withdrawal
    request = [s for s in rogue.sent if s.message_id.startswith(REQUEST_MESSAGE_ID_PREFIX)][-1]
    sequenced = await rogue.outcomes[request.message_id]
    assert isinstance(sequenced, SendDelivered) and sequenced.timestamp_us > effective_us
