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

import pytest
import pytest_asyncio
from tests.sim.altered_submission import without_views_for
from tests.sim.byzantine import inflate_creates
from tests.sim.dvp_flow import exercise
from tests.system.participant.harness import created, eventually
from tests.system.protocol.ledger import create_in, known_everywhere, sees
from tests.system.protocol.network import Network
from tests.system.protocol.rogue import Rogue
from tests.system.protocol.rogue_checks import Setting, held_by, rejected_by_the_bank

from minicanton.codec.gen.com.daml.ledger.api.v1.value_pb2 import Value
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.entropy import SeededEntropy
from minicanton.core.ids import MemberId, PartyId
from minicanton.core.lf.value import PartyValue
from minicanton.core.protocol import validation
from minicanton.core.sequencing.batch import MemberRecipient

pytestmark = pytest.mark.system


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
        await eventually(held_by(rogue, iou))
        yield Setting(network, rogue, mallory, bank, a, iou)
    finally:
        await rogue.close()


async def test_a_view_that_does_not_match_reinterpretation_is_rejected(
        setting: Setting) -> None:
    await rejected_by_the_bank(setting, "mal-mismatch", validation.CONFORMANCE,
                                alter_result=inflate_creates)


async def test_a_view_withheld_from_an_informee_participant_is_rejected(
        setting: Setting) -> None:
    bank = MemberRecipient(MemberId(setting.network.participant_id("bank")))
    await rejected_by_the_bank(setting, "mal-withhold", validation.MISSING_VIEWS,
                                alter_batch=without_views_for(bank))


async def test_a_forged_submitter_signature_is_rejected(setting: Setting) -> None:
    forger = SigningKeyPair.generate(SeededEntropy(b"forger"))
    await rejected_by_the_bank(setting, "mal-forged", validation.AUTHENTICATION,
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
    await eventually(held_by(rogue, iou))
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
