"""Shared by the engine tests: the DvP package source, values, and a small in-memory ledger.

The ledger commits `SubmissionResult`s (archives consumed, adds created contracts) and
answers `ContractLookup` for a set of reading parties: a contract is visible to its
stakeholders and to every party that witnessed an action on it (Daml's divulgence: a witness
of a node is an informee of it or of any ancestor).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from minicanton.core.lf.binary_codec import numeric_value
from minicanton.core.lf.commands import template_reference
from minicanton.core.lf.engine import SubmissionResult, interpret
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.package import PackageRegistry, load_package
from minicanton.core.lf.transaction import (
    ContractInstance,
    CreateNode,
    ExerciseNode,
    FetchNode,
    Node,
    NodeId,
    Transaction,
)
from minicanton.core.lf.value import (
    ContractIdValue,
    Int64Value,
    NumericValue,
    PartyValue,
    RecordValue,
    TextValue,
    Value,
)

REPO = Path(__file__).resolve().parents[3]
DVP_SOURCE = (REPO / "examples" / "dvp.py").read_text()
LEDGER_TIME_US = 1_700_000_000_000_000
BANK, SR, ALICE, BOB = "Bank::1220aa", "SR::1220bb", "Alice::1220cc", "Bob::1220dd"


def dvp_registry(source: str = DVP_SOURCE) -> PackageRegistry:
    return PackageRegistry([load_package(source)])


def record(**fields: Value) -> RecordValue:
    return RecordValue(None, tuple(fields.items()))


def party(name: str) -> PartyValue:
    return PartyValue(name)


def text(value: str) -> TextValue:
    return TextValue(value)


def numeric(value: str) -> NumericValue:
    return numeric_value(Decimal(value))  # a context wide enough for all 38 digits


def int64(value: int) -> Int64Value:
    return Int64Value(value)


def cid(value: str) -> ContractIdValue:
    return ContractIdValue(value)


def ref(text_ref: str):  # type: ignore[no-untyped-def]
    return template_reference(text_ref)


def informees(node: Node) -> frozenset[str]:
    if isinstance(node, CreateNode):
        return node.stakeholders
    if isinstance(node, ExerciseNode):
        on_contract = node.stakeholders if node.consuming else node.signatories
        return on_contract | node.acting_parties | node.choice_observers
    if isinstance(node, FetchNode):
        return node.signatories | node.acting_parties
    return node.key.maintainers


class InMemoryLedger:
    def __init__(self) -> None:
        self.active: dict[str, ContractInstance] = {}
        self.seen_by: dict[str, set[str]] = {}
        self.transactions = 0

    def commit(self, result: SubmissionResult) -> None:
        tx = result.transaction
        for root in tx.roots:
            self._witness(tx, root, frozenset())
        for contract_id in result.consumed_contracts:
            self.active.pop(contract_id, None)
        for contract in result.active_created:
            self.active[contract.contract_id] = contract
        self.transactions += 1

    def _witness(self, tx: Transaction, node_id: NodeId, above: frozenset[str]) -> None:
        node = tx.node(node_id)
        witnesses = above | informees(node)
        contract_id = getattr(node, "contract_id", None)
        if contract_id is not None:
            self.seen_by.setdefault(contract_id, set()).update(witnesses)
        for child in tx.children(node_id):
            self._witness(tx, child, witnesses)

    def view(self, readers: Iterable[str]) -> LedgerView:
        return LedgerView(self, frozenset(readers))

    def submit(
        self,
        registry: PackageRegistry,
        commands: list,  # type: ignore[type-arg]
        act_as: Iterable[str],
        seed: bytes = b"seed",
        commit: bool = True,
    ) -> SubmissionResult:
        readers = frozenset(act_as)
        seed_bytes = seed + self.transactions.to_bytes(4, "big")
        result = interpret(
            commands,
            readers,
            frozenset(),
            LEDGER_TIME_US,
            seed_bytes,
            self.view(readers),
            registry,
        )
        if commit:
            self.commit(result)
        return result


class LedgerView:
    def __init__(self, ledger: InMemoryLedger, readers: frozenset[str]) -> None:
        self.ledger = ledger
        self.readers = readers

    def _visible(self, contract: ContractInstance) -> bool:
        seen = self.ledger.seen_by.get(contract.contract_id, set())
        return bool(self.readers & (contract.stakeholders | seen))

    def lookup_contract(self, contract_id: str) -> ContractInstance | None:
        contract = self.ledger.active.get(contract_id)
        return contract if contract is not None and self._visible(contract) else None

    def lookup_key(self, template_id: Identifier, key: Value) -> str | None:
        for contract in self.ledger.active.values():
            if (
                contract.template_id == template_id
                and contract.key is not None
                and contract.key.key == key
                and self._visible(contract)
            ):
                return contract.contract_id
        return None


# A package exercising every DSL feature the DvP example does not: keys, non-consuming
# choices, choice observers, every field type, archive, ledger time, failing bodies.
BANK_SOURCE = """
from minicanton.dsl import (
    Bool, ContractId, Date, Decimal, Enum, Int64, Key, List, Numeric, Optional, Party,
    Record, Template, Text, TextMap, Time, Unit, Variant, choice,
)

MODULE = "bank"


class AccountKey(Record):
    bank: Party
    number: Text


class Status(Enum):
    constructors = ("Open", "Frozen")


class Limit(Variant):
    Unlimited: Unit
    Daily: Numeric


class Profile(Record):
    vip: Bool
    born: Date
    seen: Time
    tags: List[Text]
    nickname: Optional[Text]
    scores: TextMap[Int64]
    limit: Limit
    status: Status
    friends: List[Party]


class Account(Template):
    bank: Party
    holder: Party
    number: Text
    balance: Numeric
    status: Status

    signatories = ("bank",)
    observers = ("holder",)
    key = Key(
        AccountKey,
        lambda self: AccountKey(bank=self.bank, number=self.number),
        maintainers=("bank",),
    )

    def ensure(self):
        return self.balance >= 0

    @choice(controller="holder", consuming=False)
    def Balance(self, ctx) -> Numeric:
        return self.balance

    @choice(controller="holder")
    def Withdraw(self, ctx, amount: Numeric) -> ContractId[Account]:
        ctx.assert_(amount > 0, "amount must be positive")
        return ctx.create(self.replace(balance=self.balance - amount))

    @choice(controller="bank")
    def Freeze(self, ctx) -> ContractId[Account]:
        return ctx.create(self.replace(status="Frozen"))

    @choice(controller="holder", consuming=False, observers=("auditor",))
    def Report(self, ctx, auditor: Party) -> Time:
        return ctx.get_time()

    @choice(controller=lambda self, args: [self.holder, args.cosigner])
    def CloseJointly(self, ctx, cosigner: Party) -> Unit:
        return None


class Teller(Template):
    bank: Party
    signatories = "bank"

    @choice(controller="bank", consuming=False)
    def Open(self, ctx, holder: Party, number: Text) -> ContractId[Account]:
        return ctx.create(
            Account(bank=self.bank, holder=holder, number=number, balance=Decimal("0"),
                    status="Open")
        )

    @choice(controller="bank", consuming=False)
    def OpenTwice(self, ctx, holder: Party, number: Text) -> Unit:
        self.Open_(ctx, holder, number)
        self.Open_(ctx, holder, number)

    def Open_(self, ctx, holder, number):
        return ctx.create(
            Account(bank=self.bank, holder=holder, number=number, balance=Decimal("0"),
                    status="Open")
        )

    @choice(controller="bank", consuming=False)
    def OpenFor(self, ctx, other: Party, number: Text) -> ContractId[Account]:
        return ctx.create(
            Account(bank=other, holder=self.bank, number=number, balance=Decimal("0"),
                    status="Open")
        )

    @choice(controller="bank", consuming=False)
    def Find(self, ctx, number: Text) -> Optional[ContractId[Account]]:
        return ctx.lookup_by_key(Account, AccountKey(bank=self.bank, number=number))

    @choice(controller="bank", consuming=False)
    def FindAt(self, ctx, other: Party, number: Text) -> Optional[ContractId[Account]]:
        return ctx.lookup_by_key(Account, AccountKey(bank=other, number=number))

    @choice(controller="bank", consuming=False)
    def Peek(self, ctx, number: Text) -> Numeric:
        found, account = ctx.fetch_by_key(Account, AccountKey(bank=self.bank, number=number))
        return account.balance

    @choice(controller="bank", consuming=False)
    def FreezeByKey(self, ctx, number: Text) -> ContractId[Account]:
        return ctx.exercise_by_key(Account.Freeze, AccountKey(bank=self.bank, number=number))

    @choice(controller="bank", consuming=False)
    def Close(self, ctx, account: ContractId[Account]) -> Unit:
        ctx.archive(account, Account)

    @choice(controller="bank", consuming=False)
    def Reopen(self, ctx, account: ContractId[Account]) -> ContractId[Account]:
        old = ctx.fetch(account, Account)
        ctx.archive(account, Account)
        return ctx.create(old.replace(balance=Decimal("0")))

    @choice(controller="bank", consuming=False)
    def CloseAndPeek(self, ctx, account: ContractId[Account]) -> Numeric:
        ctx.archive(account, Account)
        return ctx.fetch(account, Account).balance

    @choice(controller="bank", consuming=False)
    def FetchAny(self, ctx, target: ContractId) -> Unit:
        ctx.fetch(target, Account)

    @choice(controller="bank", consuming=False)
    def Divide(self, ctx, by: Int64) -> Int64:
        return 10 // by

    @choice(controller="bank", consuming=False)
    def Third(self, ctx, amount: Numeric) -> Numeric:
        return amount / 3

    @choice(controller="bank", consuming=False)
    def Wrong(self, ctx) -> Numeric:
        return "ten"


class Holder(Template):
    owner: Party
    profile: Profile
    signatories = ("owner",)

    @choice(controller="owner", consuming=False)
    def Echo(self, ctx, profile: Profile) -> Profile:
        return profile

    @choice(controller="owner", consuming=False)
    def NextDay(self, ctx, day: Date) -> Date:
        return day.add_days(1)
"""
