"""Delivery versus payment (seed 003): Alice swaps Bank's Iou for SR's Share held by Bob.

1. Bank issues an `Iou` to Alice; SR registers a `Share` to Bob.
2. Alice (buyer) proposes a `DvpProposal` to Bob (seller) naming her Iou and the shares.
3. Bob accepts with his Share: the proposal fetches it (divulging it to Alice), checks it,
   and creates a `DvP` signed by both.
4. Alice exercises `Swap`: the Iou goes to Bob, the Share to Alice, atomically.

Load this file's text as a package (``load_package``); its module name is ``dvp``.
"""

from __future__ import annotations

from minicanton.dsl import ContractId, Int64, Numeric, Party, Record, Template, Text, choice

MODULE = "dvp"


class Iou(Template):
    issuer: Party
    owner: Party
    amount: Numeric
    currency: Text

    signatories = ("issuer",)
    observers = ("owner",)

    def ensure(self):
        return self.amount > 0

    @choice(controller="owner")
    def Transfer(self, ctx, recipient: Party) -> ContractId[Iou]:
        return ctx.create(self.replace(owner=recipient))


class Share(Template):
    registry: Party
    owner: Party
    company: Text
    quantity: Int64

    signatories = ("registry",)
    observers = ("owner",)

    def ensure(self):
        return self.quantity > 0

    @choice(controller="owner")
    def Transfer(self, ctx, recipient: Party) -> ContractId[Share]:
        return ctx.create(self.replace(owner=recipient))


class DvpProposal(Template):
    buyer: Party
    seller: Party
    iou: ContractId[Iou]
    company: Text
    quantity: Int64

    signatories = ("buyer",)
    observers = ("seller",)

    @choice(controller="seller")
    def Accept(self, ctx, share: ContractId[Share]) -> ContractId[DvP]:
        offered = ctx.fetch(share, Share)
        ctx.assert_(offered.company == self.company, "the share is of another company")
        ctx.assert_(offered.quantity == self.quantity, "the share quantity does not match")
        return ctx.create(
            DvP(buyer=self.buyer, seller=self.seller, iou=self.iou, share=share)
        )


class SwapResult(Record):
    iou: ContractId[Iou]
    share: ContractId[Share]


class DvP(Template):
    buyer: Party
    seller: Party
    iou: ContractId[Iou]
    share: ContractId[Share]

    signatories = ("buyer", "seller")

    @choice(controller="buyer")
    def Swap(self, ctx) -> SwapResult:
        iou = ctx.exercise(self.iou, Iou.Transfer, recipient=self.seller)
        share = ctx.exercise(self.share, Share.Transfer, recipient=self.buyer)
        return SwapResult(iou=iou, share=share)
