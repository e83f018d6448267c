"""Seed 003's counteroffer set up through the simulated network: A (Alice), Bank and P (the
painter), each on their own participant. c1 is the Iou between the Bank and A, c2 A's
Counteroffer to P; tx1 is P's acceptance (consumes c2 and, as a consequence, c1), tx2 A's
retraction (consumes c2)."""

from __future__ import annotations

from dataclasses import dataclass

from tests.sim.dvp_flow import create, created_id, exercise, iou
from tests.sim.harness import SimNetwork
from tests.sim.sim_domain import PAINT_HOSTING, SimDomain

from minicanton.core.ids import RequestId
from minicanton.core.lf.value import ContractIdValue, PartyValue
from minicanton.core.protocol.message_codec import decode_protocol_message
from minicanton.core.protocol.messages import ConfirmationResponse, LocalReject
from minicanton.core.protocol.submission import PreparedSubmission
from minicanton.core.protocol.validation import request_id_of


@dataclass
class Paint:
    net: SimNetwork
    c1: str
    c2: str

    def accept(self) -> PreparedSubmission:
        """tx1: P accepts the counteroffer."""
        return self.net.submit("p", exercise("paint:Counteroffer", self.c2, "Accept"),
                               act_as=["P"], command_id="tx1-accept")

    def retract(self) -> PreparedSubmission:
        """tx2: A retracts it."""
        return self.net.submit("a", exercise("paint:Counteroffer", self.c2, "Retract"),
                               act_as=["A"], command_id="tx2-retract")

    def locks(self, name: str, contract_id: str) -> tuple[RequestId, ...]:
        return self.net.machine(name).conflict_detector.lock_holders(contract_id)

    def request_id(self, tx: PreparedSubmission) -> RequestId:
        return request_id_of(self.net.request_ts(tx))

    def is_active(self, name: str, contract_id: str) -> bool:
        return contract_id in self.net.store(name).active

    def held_verdicts(self, tx: PreparedSubmission) -> dict[str, list[str]]:
        """Participant -> the local verdicts of its held responses (view by view)."""
        found: dict[str, list[str]] = {}
        for send in self.net.held_sends(tx):
            for envelope in send.signed.request.batch.envelopes:
                response = decode_protocol_message(envelope.content)
                assert isinstance(response, ConfirmationResponse)
                verdict = response.local_verdict
                code = verdict.code if isinstance(verdict, LocalReject) else "APPROVE"
                found.setdefault(send.sender, []).append(code)
        return {name: sorted(codes) for name, codes in found.items()}


def paint_setup(seed: int = 0) -> Paint:
    net = SimNetwork(SimDomain(PAINT_HOSTING), seed=seed)
    c1 = created_id(net.submit("bank", iou(net, owner="A", module="paint"), act_as=["Bank"],
                               command_id="c1"), "Iou")
    offer = create("paint:PaintOffer", painter=PartyValue(net.domain.party("P")),
                   owner=PartyValue(net.domain.party("A")))
    offer_id = created_id(net.submit("p", offer, act_as=["P"], command_id="offer"),
                          "PaintOffer")
    net.run()
    counter = exercise("paint:PaintOffer", offer_id, "CounterOffer", iou=ContractIdValue(c1))
    c2 = created_id(net.submit("a", counter, act_as=["A"], command_id="counter"),
                    "Counteroffer")
    net.run()
    return Paint(net, c1, c2)
