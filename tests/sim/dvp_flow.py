"""Seed 003's DvP, step by step, through the simulated network (each step one submission)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tests.sim.harness import SimNetwork

from minicanton.core.lf.commands import CreateCommand, ExerciseCommand, template_reference
from minicanton.core.lf.value import (
    ContractIdValue,
    Int64Value,
    NumericValue,
    PartyValue,
    RecordValue,
    TextValue,
    Value,
)
from minicanton.core.protocol.submission import PreparedSubmission


def rec(**fields: Value) -> RecordValue:
    return RecordValue(None, tuple(fields.items()))


def create(template: str, **fields: Value) -> CreateCommand:
    return CreateCommand(template_reference(template), rec(**fields))


def exercise(template: str, contract_id: str, choice: str, **fields: Value) -> ExerciseCommand:
    return ExerciseCommand(template_reference(template), contract_id, choice, rec(**fields))


def created_id(prepared: PreparedSubmission, entity: str) -> str:
    (contract_id,) = [cid for cid, c in prepared.result.created_contracts.items()
                      if c.template_id.entity_name == entity]
    return contract_id


@dataclass
class DvpContracts:
    iou: str = ""
    share: str = ""
    proposal: str = ""
    dvp: str = ""
    swap: PreparedSubmission | None = None


def iou(net: SimNetwork, owner: str = "Alice", amount: str = "100",
        module: str = "dvp") -> CreateCommand:
    return create(f"{module}:Iou", issuer=PartyValue(net.domain.party("Bank")),
                  owner=PartyValue(net.domain.party(owner)),
                  amount=NumericValue(Decimal(amount)), currency=TextValue("USD"))


def share(net: SimNetwork) -> CreateCommand:
    return create("dvp:Share", registry=PartyValue(net.domain.party("SR")),
                  owner=PartyValue(net.domain.party("Bob")), company=TextValue("ACME"),
                  quantity=Int64Value(10))


def setup_until_dvp(net: SimNetwork, tag: str = "") -> DvpContracts:
    """Iou and Share issued, proposal made and accepted: the DvP contract is ready."""
    found = DvpContracts()
    found.iou = created_id(net.submit("bank", iou(net), act_as=["Bank"],
                                      command_id=f"iou{tag}"), "Iou")
    found.share = created_id(net.submit("sr", share(net), act_as=["SR"],
                                        command_id=f"share{tag}"), "Share")
    net.run()
    proposal = create("dvp:DvpProposal", buyer=PartyValue(net.domain.party("Alice")),
                      seller=PartyValue(net.domain.party("Bob")),
                      iou=ContractIdValue(found.iou), company=TextValue("ACME"),
                      quantity=Int64Value(10))
    found.proposal = created_id(net.submit("alice", proposal, act_as=["Alice"],
                                           command_id=f"proposal{tag}"), "DvpProposal")
    net.run()
    accept = exercise("dvp:DvpProposal", found.proposal, "Accept",
                      share=ContractIdValue(found.share))
    found.dvp = created_id(net.submit("bob", accept, act_as=["Bob"],
                                      command_id=f"accept{tag}"), "DvP")
    net.run()
    return found


def swap(net: SimNetwork, contracts: DvpContracts, tag: str = "") -> PreparedSubmission:
    prepared = net.submit("alice", exercise("dvp:DvP", contracts.dvp, "Swap"),
                          act_as=["Alice"], command_id=f"swap{tag}")
    contracts.swap = prepared
    return prepared
