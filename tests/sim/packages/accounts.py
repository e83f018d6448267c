"""Bank accounts with a contract key (bank, number), maintained by the bank: a package for
the key-uniqueness scenarios. Load this file's text as a package; its module name is
``accounts``.
"""

from __future__ import annotations

from minicanton.dsl import ContractId, Key, Numeric, Party, Record, Template, Text, choice

MODULE = "accounts"


class AccountKey(Record):
    bank: Party
    number: Text


class Account(Template):
    bank: Party
    holder: Party
    number: Text
    balance: Numeric

    signatories = ("bank",)
    observers = ("holder",)
    key = Key(
        AccountKey,
        lambda self: AccountKey(bank=self.bank, number=self.number),
        maintainers=("bank",),
    )

    def ensure(self):
        return self.balance >= 0

    @choice(controller="holder")
    def Withdraw(self, ctx, amount: Numeric) -> ContractId[Account]:
        ctx.assert_(amount > 0, "amount must be positive")
        return ctx.create(self.replace(balance=self.balance - amount))
