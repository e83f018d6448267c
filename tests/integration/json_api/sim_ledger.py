"""An in-memory ledger the query store can catch up from: a list of flat transactions and the
Ledger API's read rules (a party sees the creates and archives of contracts it is a
stakeholder of; the ACS is the fold of the log). It stands in for the participant's
transaction and active-contract services so the store's concurrency can be driven hard and
deterministically; the end-to-end tests use the real participant."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from minicanton.core.lf.identifier import Identifier
from minicanton.core.protocol.offsets import LEDGER_BEGIN, Offset, offset_of
from minicanton.json_api.contracts import (
    NO_KEY,
    ActiveContract,
    ActiveContractSet,
    ArchivedContract,
    ContractEvent,
    LedgerUpdate,
)

NOTE = Identifier("feed", "notes", "Note")
OTHER = Identifier("feed", "notes", "Other")


@dataclass
class SimLedger:
    log: list[LedgerUpdate] = field(default_factory=list)
    active: dict[str, ActiveContract] = field(default_factory=dict)
    archived_at: dict[str, Offset] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    reads: int = 0

    @property
    def end(self) -> Offset:
        return self.log[-1].offset if self.log else LEDGER_BEGIN

    def commit(self, *events: ContractEvent) -> Offset:
        offset = offset_of(len(self.log) + 1)
        for event in events:
            if isinstance(event, ActiveContract):
                self.active[event.contract_id] = event
            else:
                self.active.pop(event.contract_id)
                self.archived_at[event.contract_id] = offset
        self.log.append(LedgerUpdate(offset, tuple(events)))
        return offset

    def create(self, *stakeholders: str, template: Identifier = NOTE, n: int = 0) -> str:
        contract_id = f"c{next(self._ids):06d}"
        contract = ActiveContract(
            contract_id, template, {"owner": stakeholders[0], "n": str(n)}, NO_KEY,
            (stakeholders[0],), tuple(stakeholders[1:]))
        self.commit(contract)
        return contract_id

    def archive(self, contract_id: str) -> None:
        contract = self.active[contract_id]
        self.commit(ArchivedContract(contract_id, contract.template_id))

    def visible(self, parties: frozenset[str], templates: frozenset[Identifier]) -> set[str]:
        return {c.contract_id for c in self.active.values()
                if c.template_id in templates and c.stakeholders & parties}

    def reader(self, delay_s: float = 0.0) -> SimReader:
        return SimReader(self, delay_s)


def _sees(event: ContractEvent, ledger: SimLedger, parties: frozenset[str],
          templates: frozenset[Identifier], stakeholders: dict[str, frozenset[str]]) -> bool:
    return event.template_id in templates and bool(stakeholders[event.contract_id] & parties)


@dataclass
class SimReader:
    """One caller's view, with an optional delay per read to widen race windows."""

    ledger: SimLedger
    delay_s: float = 0.0

    async def _pause(self) -> None:
        self.ledger.reads += 1
        await asyncio.sleep(self.delay_s)

    async def ledger_end(self) -> Offset:
        end = self.ledger.end
        await self._pause()
        return end

    async def active_contracts(self, parties: frozenset[str],
                               templates: frozenset[Identifier]) -> ActiveContractSet:
        offset = self.ledger.end
        contracts = tuple(c for c in self.ledger.active.values()
                          if c.template_id in templates and c.stakeholders & parties)
        await self._pause()
        return ActiveContractSet(offset, contracts)

    async def updates(self, parties: frozenset[str], templates: frozenset[Identifier],
                      begin: Offset, end: Offset) -> AsyncIterator[LedgerUpdate]:
        stakeholders: dict[str, frozenset[str]] = {}
        for update in list(self.ledger.log):
            for event in update.events:
                if isinstance(event, ActiveContract):
                    stakeholders[event.contract_id] = event.stakeholders
            if begin < update.offset <= end:
                events = tuple(e for e in update.events
                               if _sees(e, self.ledger, parties, templates, stakeholders))
                if events:
                    await self._pause()
                    yield LedgerUpdate(update.offset, events)
