"""Test packages for the JSON API: one template with a field of every queryable type."""

from __future__ import annotations

from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.package import Package, load_package

ITEMS_SOURCE = '''
from minicanton.dsl import (
    Bool, ContractId, Date, Enum, Int64, Key, List, Numeric, Optional, Party, Record,
    Template, Text, TextMap, Time, Unit, Variant, choice,
)

MODULE = "items"


class Inner(Record):
    label: Text
    level: Int64


class Color(Enum):
    constructors = ("Red", "Green", "Blue")


class Shape(Variant):
    Circle: Numeric
    Square: Int64


class ItemKey(Record):
    owner: Party
    name: Text


class Item(Template):
    owner: Party
    watcher: Party
    count: Int64
    price: Numeric
    name: Text
    day: Date
    at: Time
    flag: Bool
    inner: Inner
    maybe: Optional[Int64]
    maybe_inner: Optional[Inner]
    tags: List[Text]
    color: Color
    shape: Shape

    signatories = ("owner",)
    observers = ("watcher",)
    key = Key(ItemKey, lambda self: ItemKey(owner=self.owner, name=self.name),
              maintainers=("owner",))

    @choice(controller="owner")
    def Rename(self, ctx, name: Text) -> ContractId[Item]:
        return ctx.create(self.replace(name=name))

    @choice(controller="owner", consuming=False)
    def Count(self, ctx) -> Int64:
        return self.count


class Note(Template):
    owner: Party
    text: Text
    signatories = ("owner",)
'''


def items_package() -> Package:
    return load_package(ITEMS_SOURCE)


def item_template(package: Package) -> Identifier:
    return Identifier(package.package_id, "items", "Item")
