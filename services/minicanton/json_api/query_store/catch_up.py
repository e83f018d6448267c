"""Bringing the query store up to the ledger end for a set of parties and templates.

Theory of operation
-------------------
Before a query reads the store, `catch_up` makes every (party, template) pair it touches
current to (at least) the ledger end it reads first:

1. read the ledger end and the pairs' stored offsets; pairs at or past the end are done;
2. pairs never fetched start from the active contract set (its offset becomes the target if
   it is past the end read in step 1), the others from the transaction stream after their
   offset; pairs are grouped by starting offset so each group is one ledger read;
3. hand the store one `StoreUpdate` (every create and archive seen, every pair's step from
   the offset it started at to the target), which it applies only if no other instance has
   moved one of those pairs meanwhile (compare-and-set);
4. on a conflict, back off and start again: the other instance's work usually means there
   is little or nothing left to read.

Every ledger read uses the caller's token (the `LedgerReader` is bound to it), so the store
is only ever filled with what the caller's parties may see, and a bad token fails here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Protocol, TypeVar

from minicanton.core.lf.identifier import Identifier
from minicanton.core.protocol.offsets import Offset
from minicanton.json_api.contracts import (
    ActiveContract,
    ActiveContractSet,
    ArchivedContract,
    LedgerUpdate,
)
from minicanton.json_api.query_store.store import (
    OffsetStep,
    PostgresQueryStore,
    QueryStoreError,
    StoreMovedOn,
    StoreUpdate,
)
from minicanton.runtime.retry import Backoff

DEFAULT_ATTEMPTS = 20
T = TypeVar("T")


class QueryStoreBusy(QueryStoreError):
    error_id = "QUERY_STORE_CONTENTION"


class LedgerReader(Protocol):
    """The ledger as one caller may read it (implemented over the gRPC Ledger API)."""

    async def ledger_end(self) -> Offset: ...

    async def active_contracts(self, parties: frozenset[str],
                               templates: frozenset[Identifier]) -> ActiveContractSet: ...

    def updates(self, parties: frozenset[str], templates: frozenset[Identifier],
                begin: Offset, end: Offset) -> AsyncIterator[LedgerUpdate]: ...


async def catch_up(store: PostgresQueryStore, reader: LedgerReader, parties: Iterable[str],
                   templates: Iterable[Identifier], *, backoff: Backoff = Backoff(),
                   attempts: int = DEFAULT_ATTEMPTS) -> Offset:
    """Make the store current to the ledger end for every (party, template) pair; the end
    it is now current to (at least)."""
    party_set, template_set = frozenset(parties), frozenset(templates)
    for attempt in range(attempts):
        end = await reader.ledger_end()
        stored = await store.offsets(party_set, template_set)
        pending = {
            (party, template): stored.get((party, str(template)))
            for party in party_set for template in template_set
        }
        pending = {pair: start for pair, start in pending.items()
                   if start is None or start < end}
        if not pending:
            return end
        update = await _read_ledger(reader, pending, end)
        if await store.apply(update):
            return end
        await backoff.sleep(attempt)
    raise QueryStoreBusy(f"the query store stayed contended for {attempts} attempts; retry")


async def _read_ledger(reader: LedgerReader,
                       pending: dict[tuple[str, Identifier], Offset | None],
                       end: Offset) -> StoreUpdate:
    groups: dict[Offset | None, list[tuple[str, Identifier]]] = defaultdict(list)
    for pair, start in pending.items():
        groups[start].append(pair)
    creates: list[ActiveContract] = []
    archives: list[ArchivedContract] = []
    starts: dict[Offset | None, Offset] = {start: start for start in groups if start is not None}
    target = end
    if None in groups:
        parties, templates = _filter_of(groups[None])
        snapshot = await reader.active_contracts(parties, templates)
        creates.extend(snapshot.contracts)
        starts[None] = snapshot.offset
        target = max(target, snapshot.offset)
    for group_start, pairs in groups.items():
        begin = starts[group_start]
        if begin < target:
            parties, templates = _filter_of(pairs)
            async for update in reader.updates(parties, templates, begin, target):
                for event in update.events:
                    if isinstance(event, ActiveContract):
                        creates.append(event)
                    else:
                        archives.append(event)
    steps = tuple(OffsetStep(party, template, start, target)
                  for (party, template), start in pending.items())
    return StoreUpdate(steps, tuple(creates), tuple(archives))


async def read_current(store: PostgresQueryStore, reader: LedgerReader, parties: Iterable[str],
                       templates: Iterable[Identifier],
                       read: Callable[[Offset], Awaitable[T]], *, attempts: int = 5) -> T:
    """Catch up, then `read(end)` from the store; if the store was rebuilt in between
    (`StoreMovedOn`), catch up again."""
    party_set, template_set = frozenset(parties), frozenset(templates)
    for _ in range(attempts - 1):
        end = await catch_up(store, reader, party_set, template_set)
        try:
            return await read(end)
        except StoreMovedOn:
            continue
    return await read(await catch_up(store, reader, party_set, template_set))


def _filter_of(pairs: list[tuple[str, Identifier]]) -> tuple[frozenset[str], frozenset[Identifier]]:
    # A group's filter is the product of its parties and templates: it may bring contracts of
    # pairs outside the group, which is harmless (they are real) and saves ledger reads.
    return frozenset(p for p, _ in pairs), frozenset(t for _, t in pairs)
