"""A malicious submitter against real processes (issue 5, "Tests (real processes)").

The rogue participant (rogue.py: real keys, onboarded with the real topology manager,
subscribed to the real sequencers, the real core machine inside the test) hosts Mallory.
The Bank (on bank's participant) issued Mallory an Iou; Mallory transfers it to A (on
alice's participant). The transfer's informees are the Bank (signatory of both Ious: the
one confirmer besides Mallory), Mallory and A (observer of the new Iou), so two honest
participants receive views of it.

Each request is built by the real submission steps with one step altered (the
simulation's `altered_submission`, as tests/sim/test_sim_malicious.py):

1. the new Iou's amount inflated to a million (under the id such an Iou would have), so the
   view no longer matches its re-interpretation;
2. the views withheld from the Bank's participant (it still gets the root-hash message);
3. the root hash signed with a key that is not the rogue's.

The rogue never answers its own requests, so a rejection can only come from the honest
participants (without one, the request would time out naming the rogue). Each time: the
Bank's participant rejected with the expected code (the mediator's verdict through its
auditor API, and the rogue's own completion, the submitter's full copy, naming the Bank's
participant alone); nothing was committed anywhere — the Bank's and A's ledgers (Ledger
API) moved only by a later transaction of the test's own, the rogue's store holds nothing
new, and the Iou is still active everywhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from tests.sim.altered_submission import without_views_for
from tests.sim.byzantine import inflate_creates
from tests.sim.dvp_flow import exercise
from tests.system.participant.harness import created, eventually
from tests.system.protocol.ledger import create_in, known_everywhere, sees, trees_of
from tests.system.protocol.network import Network
from tests.system.protocol.rogue import Rogue, audited_request

from minicanton.codec.gen.com.daml.ledger.api.v1.value_pb2 import Value
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.entropy import SeededEntropy
from minicanton.core.ids import MemberId, PartyId
from minicanton.core.lf.value import PartyValue
from minicanton.core.protocol import validation
from minicanton.core.protocol.messages import Reject
from minicanton.core.sequencing.batch import MemberRecipient

pytestmark = pytest.mark.system


@dataclass
class Setting:
    network: Network
    rogue: Rogue
    mallory: str  # on the rogue
    bank: str  # on bank's participant
    a: str  # on alice's participant
    iou: str  # issued by the Bank to Mallory

    def transfer(self) -> Any:
        return exercise("paint:Iou", self.iou, "Transfer",
                        recipient=PartyValue(PartyId(self.a)))


@pytest_asyncio.fixture(scope="module")
async def setting(network: Network) -> AsyncIterator[Setting]:
    rogue = await Rogue.join(network, "mallory-node")
    try:
        mallory = await rogue.allocate("Mallory")
        bank = await network.allocate("bank", "MalBank")
        a = await network.allocate("alice", "MalA")
        await known_everywhere(network, [mallory, bank, a])
        iou = created(await network.clients["bank"].submit(bank, "mal-iou", create_in(
            "paint", "Iou", issuer=Value(party=bank), owner=Value(party=mallory),
            amount=Value(numeric="100.0"), currency=Value(text="USD"))), "Iou")
        await eventually(_in(rogue, iou))
        yield Setting(network, rogue, mallory, bank, a, iou)
    finally:
        await rogue.close()


def _in(rogue: Rogue, contract_id: str) -> Any:
    async def check() -> None:
        rogue.check_running()
        assert contract_id in rogue.store.active

    return check


async def _rejected_by_the_bank(setting: Setting, command_id: str, code: str,
                                **alteration: Any) -> None:
    net, rogue = setting.network, setting.rogue
    before = await _ledgers(setting)
    committed = len(rogue.store.transactions)
    prepared = rogue.submit_altered(setting.mallory, command_id, setting.transfer(),
                                    **alteration)
    rogue.hold(command_id, Rogue.responses_to(prepared.root_hash))  # before it is sequenced
    request_ts_us = await rogue.request_ts(prepared)

    completion = await rogue.completion(command_id)
    assert completion.rejection is not None, completion
    assert completion.rejection.error_id == code, completion.rejection
    assert completion.rejection.participants == (net.participant_id("bank"),)
    result, _ = await audited_request(net, request_ts_us)
    assert isinstance(result.verdict, Reject), result.verdict
    assert {(r.code, r.participant) for r in result.verdict.reasons} <= {
        (code, net.participant_id("bank")), (code, None)}
    assert rogue.discard(command_id), "the rogue's machine answered its own request"

    await _nothing_committed(setting, before, command_id)
    assert len(rogue.store.transactions) == committed
    assert setting.iou in rogue.store.active
    assert rogue.machine.conflict_detector.in_flight() == ()
    assert not rogue.alarms


Ledgers = dict[str, tuple[list[str], set[str]]]  # name -> (transaction ids, active contracts)


async def _ledgers(setting: Setting) -> Ledgers:
    """The Bank's ledger at bank's participant and A's at alice's, through the Ledger API."""
    found = {}
    for name, party in (("bank", setting.bank), ("alice", setting.a)):
        client = setting.network.clients[name]
        found[name] = ([t.transaction_id for t in await trees_of(client, party)],
                       {x.contract_id for x in await client.active_contracts(party)})
    return found


async def _nothing_committed(setting: Setting, before: Ledgers, command_id: str) -> None:
    """A later transaction both honest participants see (the Bank issues A an Iou) is the
    only one added to either ledger since the rogue's request: both had processed its
    verdict by then, and committed nothing of it."""
    c = setting.network.clients
    marker = created(await c["bank"].submit(setting.bank, f"{command_id}-marker", create_in(
        "paint", "Iou", issuer=Value(party=setting.bank), owner=Value(party=setting.a),
        amount=Value(numeric="1.0"), currency=Value(text="EUR"))), "Iou")
    await eventually(lambda: sees(c["alice"], setting.a, marker))
    after = await _ledgers(setting)
    for name, (transactions, active) in before.items():
        assert after[name][0][:-1] == transactions, name  # the marker is the last
        assert after[name][1] == active | {marker}, name
    assert setting.iou in after["bank"][1]


async def test_a_view_that_does_not_match_reinterpretation_is_rejected(
        setting: Setting) -> None:
    await _rejected_by_the_bank(setting, "mal-mismatch", validation.CONFORMANCE,
                                alter_result=inflate_creates)


async def test_a_view_withheld_from_an_informee_participant_is_rejected(
        setting: Setting) -> None:
    bank = MemberRecipient(MemberId(setting.network.participant_id("bank")))
    await _rejected_by_the_bank(setting, "mal-withhold", validation.MISSING_VIEWS,
                                alter_batch=without_views_for(bank))


async def test_a_forged_submitter_signature_is_rejected(setting: Setting) -> None:
    forger = SigningKeyPair.generate(SeededEntropy(b"forger"))
    await _rejected_by_the_bank(setting, "mal-forged", validation.AUTHENTICATION,
                                forge_with=forger)


async def test_the_same_transfer_unaltered_commits(setting: Setting) -> None:
    """The control: what the rogue sends when no step is altered passes every check, so
    the rejections above are the alterations' doing (on an Iou of its own; the checks
    above compare ledgers before and after, so the order of the tests does not matter)."""
    net, rogue = setting.network, setting.rogue
    c = net.clients
    iou = created(await c["bank"].submit(setting.bank, "mal-control-iou", create_in(
        "paint", "Iou", issuer=Value(party=setting.bank), owner=Value(party=setting.mallory),
        amount=Value(numeric="100.0"), currency=Value(text="USD"))), "Iou")
    await eventually(_in(rogue, iou))
    prepared = rogue.submit(setting.mallory, "mal-control", exercise(
        "paint:Iou", iou, "Transfer", recipient=PartyValue(PartyId(setting.a))))
    completion = await rogue.completion("mal-control")
    assert completion.accepted, completion
    (new_iou,) = [cid for cid, x in prepared.result.created_contracts.items()
                  if x.template_id.entity_name == "Iou"]
    await eventually(lambda: sees(c["alice"], setting.a, new_iou))
    await eventually(lambda: sees(c["bank"], setting.bank, new_iou))
    assert iou in rogue.store.archived and not await _bank_holds(setting, iou)


async def _bank_holds(setting: Setting, contract_id: str) -> bool:
    active = await setting.network.clients["bank"].active_contracts(setting.bank)
    return contract_id in {x.contract_id for x in active}
