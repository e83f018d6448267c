"""What every route needs, wired once per process: the ledger client, the type cache, the
optional query store, the authenticator; and per caller, the ledger as that caller sees it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from minicanton.core.lf.identifier import Identifier
from minicanton.core.protocol.offsets import Offset
from minicanton.json_api.caller import Authenticator, Caller
from minicanton.json_api.config import JsonApiConfig
from minicanton.json_api.contracts import ActiveContractSet, LedgerUpdate
from minicanton.json_api.ledger_client import BoundLedger, LedgerClient, party_filter
from minicanton.json_api.query_store.store import PostgresQueryStore
from minicanton.json_api.translate import Translator
from minicanton.json_api.type_cache import TypeCache


class CallerLedger:
    """The ledger as one caller reads it, in JSON API terms (a `catch_up.LedgerReader`)."""

    def __init__(self, ledger: BoundLedger, translator: Translator) -> None:
        self.ledger = ledger
        self.translator = translator

    async def ledger_end(self) -> Offset:
        return await self.ledger.ledger_end()

    async def active_contracts(self, parties: frozenset[str],
                               templates: frozenset[Identifier] | None) -> ActiveContractSet:
        offset, created = await self.ledger.active_contracts(party_filter(parties, templates))
        contracts = [await self.translator.contract(event) for event in created]
        return ActiveContractSet(offset, tuple(contracts))

    async def updates(self, parties: frozenset[str], templates: frozenset[Identifier] | None,
                      begin: Offset, end: Offset | None) -> AsyncIterator[LedgerUpdate]:
        async for transaction in self.ledger.transactions(party_filter(parties, templates),
                                                          begin, end):
            yield await self.translator.update(transaction)


@dataclass
class JsonApiServices:
    config: JsonApiConfig
    ledger: LedgerClient
    types: TypeCache
    store: PostgresQueryStore | None
    authenticator: Authenticator
    internal_token: str | None = field(default=None, repr=False)  # a credential

    def bound(self, caller: Caller) -> BoundLedger:
        return self.ledger.bound(caller.token)

    def translator(self, caller: Caller) -> Translator:
        # Type questions need no party rights: the JSON API's own token when it has one,
        # else the caller's (any valid token may read packages).
        return Translator(self.types, self.ledger.bound(self.internal_token or caller.token))

    def reader(self, caller: Caller) -> CallerLedger:
        return CallerLedger(self.bound(caller), self.translator(caller))
