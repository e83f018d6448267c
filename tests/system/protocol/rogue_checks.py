"""What a malicious submitter's request must come to against real processes (issue 5): the
rogue (rogue.py) hosts Mallory, the Bank issued Mallory an Iou, Mallory transfers it to A;
`rejected_by_the_bank` submits the transfer with one step altered and checks that the
Bank's participant rejected it and that nothing was committed anywhere. Shared by
test_malicious.py and test_submission_permission.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.sim.dvp_flow import exercise
from tests.system.participant.harness import created, eventually
from tests.system.protocol.ledger import create_in, sees, trees_of
from tests.system.protocol.network import Network
from tests.system.protocol.rogue import Rogue, audited_request

from minicanton.codec.gen.com.daml.ledger.api.v1.value_pb2 import Value
from minicanton.core.ids import PartyId
from minicanton.core.lf.value import PartyValue
from minicanton.core.protocol.messages import Reject


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


def held_by(rogue: Rogue, contract_id: str) -> Any:
    async def check() -> None:
        rogue.check_running()
        assert contract_id in rogue.store.active

    return check


async def rejected_by_the_bank(setting: Setting, command_id: str, code: str,
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
