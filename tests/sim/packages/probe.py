"""A template whose non-consuming choice creates and archives nothing: a transaction that
exercises it leaves activeness nothing to object to, so only replay protection refuses a
replay of it. The owner signs; the reader (on another participant) reads, so both are its
informees."""

from __future__ import annotations

from minicanton.dsl import Int64, Party, Template, choice

MODULE = "probe"


class Gauge(Template):
    owner: Party
    reader: Party
    value: Int64

    signatories = ("owner",)
    observers = ("reader",)

    @choice(controller="reader", consuming=False)
    def Read(self, ctx) -> Int64:
        return self.value
