"""Hypothesis draws of participant store writes that a real participant could make: a small
model of the ledger (active and archived contracts, the keys they hold, pending requests,
transaction ids) keeps each drawn batch valid, so both write paths get real work rather than
a constraint violation on the first statement.

Each event may hold several transactions (archiving contracts from earlier in the batch or
before, archiving one already archived, passing a key from an archived contract to a new one
in the same or a later transaction), divulgences (one contract to the same party again, with
a different payload so that which one is kept shows), accepted completions (with or without a
change key, so with or without a dedup entry), rejections, pending requests added and
removed, submissions found sequenced and topology rows; rarely a transaction id already in the
ledger or earlier in the batch (which the one-statement path declines).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from hypothesis import strategies as st

from minicanton.core.ids import RequestId
from minicanton.core.lf.identifier import Identifier
from minicanton.core.protocol.commit_set import GlobalKeyHash
from minicanton.core.protocol.conflict_detection import ActivenessResult, RequestLocks
from minicanton.core.protocol.deduplication import (
    ChangeId,
    DeduplicationDuration,
    DeduplicationOffset,
    DeduplicationPeriod,
)
from minicanton.core.protocol.offsets import LEDGER_BEGIN, offset_of
from minicanton.store.participant_store import (
    CleanPosition,
    CompletionEntry,
    DivulgedContract,
    EventEffects,
    EventKind,
    PendingRequest,
    StoredContract,
    StoredEvent,
    SubmissionEntry,
    SubmissionSequenced,
    TopologyRow,
    TransactionEntry,
)

ALICE, BOB, CAROL, BANK = "alice", "bob", "carol", "bank"
TEMPLATE = Identifier("d" * 64, "Main", "Iou")
CHANGES = tuple(ChangeId("app", f"cmd-{i}", frozenset({ALICE, BANK} if i else {ALICE}))
                for i in range(3))
KEYS = tuple(GlobalKeyHash(letter * 64) for letter in "abc")
FOREIGN = ("x1", "x2")  # contracts only ever divulged here
WITNESSES = (frozenset({BOB}), frozenset({CAROL}), frozenset({BOB, CAROL}))
MAX_DEDUPLICATION_US = 100
_T = TypeVar("_T")


@dataclass
class LedgerModel:
    """What the drawn writes have done so far (all of them are valid, so both sides did it)."""

    counter: int = 0  # the sequencer counter of the last event
    clock_us: int = 1_000
    active: dict[str, GlobalKeyHash | None] = field(default_factory=dict)
    archived: set[str] = field(default_factory=set)
    pending: set[str] = field(default_factory=set)
    transaction_ids: list[str] = field(default_factory=list)
    names: itertools.count[int] = field(default_factory=itertools.count)
    last_effects: EventEffects | None = None  # to replay

    def name(self, prefix: str) -> str:
        return f"{prefix}{next(self.names)}"

    def tick(self, data: st.DataObject, most_us: int) -> int:
        self.clock_us += data.draw(st.integers(1, most_us), label="time passes")
        return self.clock_us


def up_to(data: st.DataObject, most: int, label: str) -> int:
    """0..most, about evenly (st.integers leans to its bounds)."""
    return int(data.draw(st.sampled_from(range(most + 1)), label=label))


def some(data: st.DataObject, choices: Sequence[_T], most: int, label: str, *,
         unique: bool = True) -> list[_T]:
    """Up to `most` of `choices` (none if there are none), with repeats unless `unique`."""
    picked: list[_T] = []
    for _ in range(up_to(data, most, label) if choices else 0):
        left = [c for c in choices if c not in picked] if unique else list(choices)
        if left:
            picked.append(data.draw(st.sampled_from(left), label=label))
    return picked


def draw_event(data: st.DataObject, model: LedgerModel) -> EventEffects:
    model.counter += 1
    now_us = model.tick(data, 40)
    # st.integers leans to its bounds, and half the events had no transaction: 0 goes last
    transactions = tuple(draw_transaction(data, model) for _ in range(
        data.draw(st.sampled_from((1, 2, 3, 0)), label="transactions")))
    rejections = tuple(draw_completion(data, model, rejected=True)
                       for _ in range(up_to(data, 2, "rejections")))
    added = tuple(draw_pending(data, model) for _ in range(up_to(data, 2, "pending added")))
    removed = some(data, [*sorted(model.pending), "r-unknown"], 2, "pending removed")
    model.pending = (model.pending | {p.locks.request_id for p in added}) - set(removed)
    sequenced = tuple(
        SubmissionSequenced(change.key, RequestId(model.name("r")), now_us)
        for change in some(data, CHANGES, 2, "sequenced", unique=False))
    topology = tuple(TopologyRow(now_us, i, now_us + 1, f"topo-{now_us}-{i}".encode())
                     for i in range(up_to(data, 2, "topology")))
    return EventEffects(CleanPosition(model.counter, now_us), transactions, rejections, added,
                        tuple(RequestId(r) for r in removed), sequenced, topology)


def draw_transaction(data: st.DataObject, model: LedgerModel) -> TransactionEntry:
    """A new transaction (its contract changes applied to the model), or rarely one whose id
    is in the ledger already: that one is skipped, so it changes no contracts."""
    if model.transaction_ids and data.draw(st.sampled_from(range(10)), label="reuse?") == 9:
        tid = data.draw(st.sampled_from(model.transaction_ids), label="reused id")
        return _transaction(data, model, tid, frozenset(), (), ())
    tid = model.name("t")
    model.transaction_ids.append(tid)
    choices = sorted(model.active) + sorted(model.archived)[:1]
    archived = frozenset(some(data, choices, 2, "archived"))
    for contract_id in archived & set(model.active):
        del model.active[contract_id]
        model.archived.add(contract_id)
    created = tuple(_create(data, model) for _ in range(up_to(data, 2, "created")))
    divulged = tuple(
        DivulgedContract(_contract(cid, None, f"{cid}@{tid}", model.clock_us),
                         data.draw(st.sampled_from(WITNESSES), label="divulged to"))
        for cid in some(data, FOREIGN + tuple(sorted(model.active))[:1], 2, "divulged",
                        unique=False))
    return _transaction(data, model, tid, archived, created, divulged)


def _transaction(data: st.DataObject, model: LedgerModel, tid: str, archived: frozenset[str],
                 created: tuple[StoredContract, ...], divulged: tuple[DivulgedContract, ...]
                 ) -> TransactionEntry:
    completion = (draw_completion(data, model, rejected=False)
                  if data.draw(st.sampled_from((True, True, False)), label="completed?")
                  else None)
    touched: list[tuple[EventKind, str]] = [("exercise", cid) for cid in sorted(archived)]
    touched += [("create", c.contract_id) for c in created]
    touched += [("fetch", d.contract.contract_id) for d in divulged]
    events = tuple(
        StoredEvent(node, None, kind, cid, TEMPLATE, kind == "exercise", f"{tid}/{node}".encode(),
                    frozenset({ALICE, BANK, BOB} if kind == "fetch" else {ALICE, BANK}),
                    frozenset() if kind == "fetch" else frozenset({BANK}))
        for node, (kind, cid) in enumerate(touched))
    return TransactionEntry(tid, model.clock_us, model.clock_us, events, archived, created,
                            divulged, f"cmd-{tid}", "", "app", frozenset({ALICE}), completion)


def _create(data: st.DataObject, model: LedgerModel) -> StoredContract:
    free = [k for k in KEYS if k not in model.active.values()]
    key = data.draw(st.none() | st.sampled_from(free), label="key") if free else None
    contract_id = model.name("c")
    model.active[contract_id] = key
    return _contract(contract_id, key, contract_id, model.clock_us)


def _contract(contract_id: str, key: GlobalKeyHash | None, payload: str, ledger_time_us: int
              ) -> StoredContract:
    return StoredContract(contract_id, TEMPLATE, frozenset({BANK}), frozenset({BANK, ALICE}),
                          key, payload.encode(), ledger_time_us)


def draw_completion(data: st.DataObject, model: LedgerModel, *, rejected: bool
                    ) -> CompletionEntry:
    """A completion of one of the changes, naming its in-flight submission or not."""
    change = data.draw(st.sampled_from(CHANGES), label="completed change")
    change_key = data.draw(st.sampled_from((change.key, change.key, None)), label="change key")
    if rejected:
        return CompletionEntry(change.application_id, change.act_as, change.command_id,
                               model.name("s"), change_key, model.clock_us, 6,
                               "LOCAL_VERDICT_LOCKED_CONTRACTS", "locked")
    return CompletionEntry(change.application_id, change.act_as, change.command_id,
                           model.name("s"), change_key, model.clock_us)


def draw_pending(data: st.DataObject, model: LedgerModel) -> PendingRequest:
    request_id = RequestId(model.name("r"))
    contracts = frozenset(some(data, sorted(model.active), 2, "locked contracts"))
    keys = frozenset(some(data, KEYS, 1, "locked keys"))
    result = data.draw(st.sampled_from((None, ActivenessResult(request_id),
                                        ActivenessResult(request_id, inactive=contracts))),
                       label="activeness result")
    return PendingRequest(RequestLocks(request_id, model.clock_us, model.clock_us + 50,
                                       contracts, keys, result), f"verdict-{request_id}".encode())


def draw_submission(data: st.DataObject, model: LedgerModel, ledger_end: int
                    ) -> tuple[SubmissionEntry, DeduplicationPeriod | None, int]:
    """A submission of one of the changes with any kind of deduplication period (some
    invalid: longer than the maximum, or an offset behind the pruning horizon)."""
    change = data.draw(st.sampled_from(CHANGES), label="submitted change")
    now_us = model.tick(data, 30)
    periods: list[DeduplicationPeriod | None] = [
        None, DeduplicationDuration(1), DeduplicationDuration(MAX_DEDUPLICATION_US // 2),
        DeduplicationDuration(MAX_DEDUPLICATION_US + 1), DeduplicationOffset(LEDGER_BEGIN),
        *(DeduplicationOffset(offset_of(n)) for n in range(max(0, ledger_end - 2),
                                                           ledger_end + 1))]
    period = data.draw(st.sampled_from(periods), label="period")
    entry = SubmissionEntry(change, model.name("s"), model.name("m"), now_us + 50,
                            f"payload-{now_us}".encode())
    return entry, period, now_us
