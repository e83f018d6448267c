"""Seed 003's counteroffer (the DA ledger model's paint example) as a package.

The painter P offers to paint A's house (`PaintOffer`). A counters with one of her Ious
(`CounterOffer`): the choice fetches the Iou, so P, a stakeholder of the offer, witnesses the
fetch and the Iou is divulged to P — which is what lets P's participant interpret the
acceptance. P accepts (`Counteroffer.Accept`): the Iou goes to P and a `PaintAgreement` is
created, consuming the counteroffer (c2) and, as a consequence, the Iou (c1). A can instead
retract (`Counteroffer.Retract`), consuming c2 only.

Load this file's text as a package; its module name is ``paint``.
"""

from __future__ import annotations

from minicanton.dsl import ContractId, Numeric, Party, Template, Text, Unit, choice

MODULE = "paint"


class Iou(Template):
    issuer: Party
    owner: Party
    amount: Numeric
    currency: Text

    signatories = ("issuer",)
    observers = ("owner",)

    @choice(controller="owner")
    def Transfer(self, ctx, recipient: Party) -> ContractId[Iou]:
        return ctx.create(self.replace(owner=recipient))


class PaintOffer(Template):
    painter: Party
    owner: Party

    signatories = ("painter",)
    observers = ("owner",)

    @choice(controller="owner")
    def CounterOffer(self, ctx, iou: ContractId[Iou]) -> ContractId[Counteroffer]:
        offered = ctx.fetch(iou, Iou)
        ctx.assert_(offered.owner == self.owner, "the Iou is not the owner's")
        return ctx.create(Counteroffer(owner=self.owner, painter=self.painter, iou=iou))


class Counteroffer(Template):
    owner: Party
    painter: Party
    iou: ContractId[Iou]

    signatories = ("owner",)
    observers = ("painter",)

    @choice(controller="painter")
    def Accept(self, ctx) -> ContractId[PaintAgreement]:
        ctx.exercise(self.iou, Iou.Transfer, recipient=self.painter)
        return ctx.create(PaintAgreement(owner=self.owner, painter=self.painter))

    @choice(controller="owner")
    def Retract(self, ctx) -> Unit:
        return None


class PaintAgreement(Template):
    owner: Party
    painter: Party

    signatories = ("owner", "painter")
