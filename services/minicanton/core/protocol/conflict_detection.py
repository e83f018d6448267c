"""Conflict detection: the activeness check and the lock table of a participant.

Theory of operation (seed 003, "Conflict Detection"; Canton's ``ConflictDetector``).

A participant processes confirmation requests strictly in sequencer-timestamp order. For each
it computes an `ActivenessSet` from the part of the transaction it sees, restricted to contracts
with a stakeholder it hosts (only those it knows authoritatively) and to keys with a maintainer
it hosts:

* ``consumed`` contracts must be known, active and not locked; they are then **locked**;
* ``used`` contracts (fetched, exercised non-consumingly) must be known, active and not locked;
  they are not locked themselves. A fetch of a contract locked for archival fails, as in Canton
  ("known and not locked and active"): the contract is *possibly archived*;
* ``created`` contract ids must be fresh; they are locked;
* ``created_keys`` must be free (unassigned, or assigned to a contract this request consumes)
  and unlocked; they are locked. The key of every consumed keyed contract is locked too, since
  its assignment changes;
* ``key_lookups`` must resolve as interpretation saw them and must not be locked.

Locks are *counted*, and a request takes its locks whether or not its own check passes: in the
seed's second diagram A's participant rejects tx1 because c2 is locked by tx2, yet, "for
consistency", locks c1 until tx1's verdict; in the third, A locks c2 although it knows tx1 will
fail because c1 is archived. That is what makes the rejection *pessimistic*: a later request
touching a locked contract is rejected even if the earlier one is rejected afterwards (the
third diagram's "incorrect negative").

`finalize` ends a request when its verdict (or timeout) arrives: on approval it applies the
`CommitSet` — archive consumed, add created, reassign keys — and on rejection it changes
nothing; in both cases it releases the request's locks.

The machine holds a cache of contract states and key assignments. The shell asks
`states_to_fetch`, loads those from its store and hands them over with `provide_states` before
`check_and_lock`; after `finalize` it persists the same commit set, and may `evict_idle` to
forget unlocked states. In ``complete_acs`` mode (simulation) the cache is the whole ACS: a
contract it does not hold is unknown. Replaying a request already checked returns the same
result without taking locks twice; `restore` rebuilds the locks of in-flight requests after a
restart from the rows the store kept (`RequestLocks`, which carry each request's result, so a
replay after a restart is answered as before: a rejected request stays rejected).

Every request carries its decision time (`DecisionTimeRequired` otherwise): a verdict that
never comes must not leave a lock behind, so the shell finalizes as rejected every request
`timed_out` names, and `next_deadline_us` tells it when to look.

Compiled with mypyc (ADR 16), whose argument and field checks would answer a decision time of
the wrong Python type (None from a store row, a float) with a TypeError, and would take a
bool as the int it equals. So what arrives from outside is admitted as `object` and checked
here: `check_and_lock` takes `decision_time_us: object`, and `RequestLocks` is a regular
Python class (`native_class=False`: its fields are not checked on assignment) whose
`__post_init__` reads the stored value untyped before checking it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from mypy_extensions import mypyc_attr

from minicanton.core.errors import MinicantonError
from minicanton.core.ids import RequestId
from minicanton.core.protocol.activeness import (
    ActivenessResult,
    ActivenessSet,
    KeyLookup,
    LocalRejection,
    activeness_set_for,
)
from minicanton.core.protocol.commit_set import (
    EMPTY_COMMIT_SET,
    CommitSet,
    ContractId,
    GlobalKeyHash,
)

_K = TypeVar("_K", bound=str)

__all__ = [
    "ActivenessResult",
    "ActivenessSet",
    "CommitSetNotLocked",
    "ConflictDetectionError",
    "ConflictDetector",
    "ContractState",
    "DecisionTimeRequired",
    "FinalizeResult",
    "KeyLookup",
    "LocalRejection",
    "RequestLocks",
    "RequestOutOfOrder",
    "ResultUnknownAfterRestart",
    "StatesNotProvided",
    "StatesToFetch",
    "UnknownRequest",
    "activeness_set_for",
]


class ConflictDetectionError(MinicantonError):
    """The detector was driven against its contract: a bug in the shell, never user input."""

    error_id = "CONFLICT_DETECTION_STATE"


class RequestOutOfOrder(ConflictDetectionError):
    pass


class UnknownRequest(ConflictDetectionError):
    pass


class StatesNotProvided(ConflictDetectionError):
    pass


class CommitSetNotLocked(ConflictDetectionError):
    pass


class DecisionTimeRequired(ConflictDetectionError):
    """A request came without a usable decision time: its locks could never time out."""


class ResultUnknownAfterRestart(ConflictDetectionError):
    """A request restored without its activeness result was replayed: rather than invent a
    result (a success would approve what may have been rejected), refuse."""


@dataclass(frozen=True, slots=True)
class ContractState:
    active: bool
    key_hash: GlobalKeyHash | None = None


@dataclass(frozen=True, slots=True)
class StatesToFetch:
    contract_ids: frozenset[ContractId]
    key_hashes: frozenset[GlobalKeyHash]

    def __init__(
        self,
        contract_ids: frozenset[ContractId],
        key_hashes: frozenset[GlobalKeyHash],
    ) -> None:
        object.__setattr__(self, "contract_ids", contract_ids)
        object.__setattr__(self, "key_hashes", key_hashes)

    @property
    def is_empty(self) -> bool:
        return not (self.contract_ids or self.key_hashes)


@mypyc_attr(native_class=False)  # the check below must see what was passed (module doc)
@dataclass(frozen=True, slots=True)
class RequestLocks:
    """What a store keeps per in-flight request to rebuild the lock table after a restart.

    `decision_time_us` is required: past it the request has timed out and its locks must go,
    so a request without one would hold its contracts for ever. `activeness_result` is the
    check's outcome (`locks_of` always sets it), kept so that a request replayed after a
    restart gets the same answer; None only for rows stored before it was kept."""

    request_id: RequestId
    request_ts_us: int
    decision_time_us: int
    contract_ids: frozenset[ContractId]
    key_hashes: frozenset[GlobalKeyHash]
    activeness_result: ActivenessResult | None = None

    def __post_init__(self) -> None:
        _decision_time(self.request_id, self.request_ts_us, _as_passed(self, "decision_time_us"))
        result = self.activeness_result
        if result is not None and result.request_id != self.request_id:
            raise ConflictDetectionError(
                f"locks of request {self.request_id} carry the result of {result.request_id}"
            )


@dataclass(frozen=True, slots=True)
class FinalizeResult:
    request_id: RequestId
    approved: bool
    commit_set: CommitSet
    double_archivals: frozenset[ContractId] = frozenset()  # archived but not active here
    replayed: bool = False


@dataclass(slots=True)
class _InFlight:
    locks: RequestLocks
    result: ActivenessResult | None  # None only when restored from a row without it


class ConflictDetector:
    """The lock table and ACS cache of one participant; see the module docstring."""

    def __init__(
        self,
        *,
        complete_acs: bool = False,
        last_request_ts_us: int | None = None,
        finished_memory: int = 4096,
    ) -> None:
        self._complete = complete_acs
        self._last_ts_us = last_request_ts_us
        self._contracts: dict[ContractId, ContractState | None] = {}
        self._keys: dict[GlobalKeyHash, ContractId | None] = {}
        self._contract_locks: dict[ContractId, list[RequestId]] = {}
        self._key_locks: dict[GlobalKeyHash, list[RequestId]] = {}
        self._in_flight: dict[RequestId, _InFlight] = {}
        self._finished: OrderedDict[RequestId, tuple[int, ActivenessResult | None, bool]] = (
            OrderedDict()
        )
        self._finished_memory = finished_memory

    # -- the ACS cache -------------------------------------------------------------------

    def states_to_fetch(self, activeness_set: ActivenessSet) -> StatesToFetch:
        if self._complete:
            return StatesToFetch(frozenset(), frozenset())
        return StatesToFetch(
            frozenset(c for c in activeness_set.contract_ids if c not in self._contracts),
            frozenset(k for k in activeness_set.key_hashes if k not in self._keys),
        )

    def provide_states(
        self,
        contracts: Mapping[ContractId, ContractState | None],
        keys: Mapping[GlobalKeyHash, ContractId | None],
    ) -> None:
        """States as the store holds them (None: no entry). The cache is newer: keep it."""
        for contract_id, state in contracts.items():
            self._contracts.setdefault(contract_id, state)
        for key_hash, assigned in keys.items():
            self._keys.setdefault(key_hash, assigned)

    def contract_state(self, contract_id: ContractId) -> ContractState | None:
        return self._contracts.get(contract_id)

    def key_assignment(self, key_hash: GlobalKeyHash) -> ContractId | None:
        return self._keys.get(key_hash)

    def evict_idle(self) -> int:
        """Forget cached states no in-flight request locks (after the store has them)."""
        if self._complete:
            return 0
        idle = [c for c in self._contracts if c not in self._contract_locks]
        idle_keys = [k for k in self._keys if k not in self._key_locks]
        for contract_id in idle:
            del self._contracts[contract_id]
        for key_hash in idle_keys:
            del self._keys[key_hash]
        return len(idle) + len(idle_keys)

    # -- checking and locking ------------------------------------------------------------

    def check_and_lock(
        self,
        request_id: RequestId,
        request_ts_us: int,
        activeness_set: ActivenessSet,
        decision_time_us: object,
    ) -> ActivenessResult:
        """Check a request and take its locks; they are held until `finalize`, which the
        shell calls with the verdict or once `timed_out` names the request (sequencer time
        past `decision_time_us`, which every request must have: an int, else
        `DecisionTimeRequired`)."""
        decision_us = _decision_time(request_id, request_ts_us, decision_time_us)
        replayed = self._replayed_result(request_id, request_ts_us)
        if replayed is not None:
            return replayed
        if self._last_ts_us is not None and request_ts_us <= self._last_ts_us:
            raise RequestOutOfOrder(
                f"request {request_id} at {request_ts_us} us is not after the last checked "
                f"request at {self._last_ts_us} us"
            )
        self._require_states(activeness_set)
        result = self._check(request_id, activeness_set)
        locks = self._lock(request_id, request_ts_us, decision_us, activeness_set, result)
        self._in_flight[request_id] = _InFlight(locks, result)
        self._last_ts_us = request_ts_us
        return result

    def _replayed_result(
        self, request_id: RequestId, request_ts_us: int
    ) -> ActivenessResult | None:
        if request_id in self._in_flight:
            entry = self._in_flight[request_id]
            seen_ts, result = entry.locks.request_ts_us, entry.result
        elif request_id in self._finished:
            seen_ts, result, _ = self._finished[request_id]
        else:
            return None
        if seen_ts != request_ts_us:
            raise RequestOutOfOrder(
                f"request {request_id} was checked at {seen_ts} us, now replayed at "
                f"{request_ts_us} us"
            )
        if result is None:
            raise ResultUnknownAfterRestart(
                f"request {request_id} was restored without its activeness result; its "
                "replay cannot be answered"
            )
        return result

    def _require_states(self, activeness_set: ActivenessSet) -> None:
        missing = self.states_to_fetch(activeness_set)
        if not missing.is_empty:
            raise StatesNotProvided(
                f"states not loaded: contracts {sorted(missing.contract_ids)}, "
                f"keys {sorted(missing.key_hashes)}"
            )

    def _check(self, request_id: RequestId, aset: ActivenessSet) -> ActivenessResult:
        unknown: set[ContractId] = set()
        inactive: set[ContractId] = set()
        locked: dict[ContractId, RequestId] = {}
        for contract_id in sorted(aset.consumed | aset.used):
            holders = self._contract_locks.get(contract_id)
            state = self._contracts.get(contract_id)
            if holders:
                locked[contract_id] = holders[0]
            elif state is None:
                unknown.add(contract_id)
            elif not state.active:
                inactive.add(contract_id)
        not_fresh = {c for c in aset.created if self._contracts.get(c) is not None}
        locked |= {
            c: self._contract_locks[c][0]
            for c in aset.created
            if c not in not_fresh and self._contract_locks.get(c)
        }
        duplicate_keys, locked_keys, inconsistent = self._check_keys(aset)
        return ActivenessResult(
            request_id,
            frozenset(unknown),
            frozenset(inactive),
            locked,
            frozenset(not_fresh),
            duplicate_keys,
            locked_keys,
            inconsistent,
        )

    def _check_keys(
        self, aset: ActivenessSet
    ) -> tuple[
        dict[GlobalKeyHash, ContractId],
        dict[GlobalKeyHash, RequestId],
        dict[GlobalKeyHash, ContractId | None],
    ]:
        duplicate: dict[GlobalKeyHash, ContractId] = {}
        locked: dict[GlobalKeyHash, RequestId] = {}
        inconsistent: dict[GlobalKeyHash, ContractId | None] = {}
        for key_hash in sorted(aset.created_keys):
            assigned = self._keys.get(key_hash)
            if self._key_locks.get(key_hash):
                locked[key_hash] = self._key_locks[key_hash][0]
            elif assigned is not None and assigned not in aset.consumed:
                duplicate[key_hash] = assigned
        for lookup in sorted(aset.key_lookups, key=lambda k: k.key_hash):
            assigned = self._keys.get(lookup.key_hash)
            if self._key_locks.get(lookup.key_hash):
                locked[lookup.key_hash] = self._key_locks[lookup.key_hash][0]
            elif assigned != lookup.expected:
                inconsistent[lookup.key_hash] = assigned
        return duplicate, locked, inconsistent

    def _lock(
        self,
        request_id: RequestId,
        request_ts_us: int,
        decision_time_us: int,
        aset: ActivenessSet,
        result: ActivenessResult,
    ) -> RequestLocks:
        contracts = aset.consumed | aset.created
        archived_keys = {
            state.key_hash
            for c in aset.consumed
            if (state := self._contracts.get(c)) is not None and state.key_hash is not None
        }
        locks = RequestLocks(
            request_id,
            request_ts_us,
            decision_time_us,
            frozenset(contracts),
            frozenset(aset.created_keys | archived_keys),
            result,
        )
        self._take(locks)
        return locks

    def _take(self, locks: RequestLocks) -> None:
        for contract_id in locks.contract_ids:
            self._contract_locks.setdefault(contract_id, []).append(locks.request_id)
        for key_hash in locks.key_hashes:
            self._key_locks.setdefault(key_hash, []).append(locks.request_id)

    def _release(self, locks: RequestLocks) -> None:
        for contract_id in locks.contract_ids:
            _drop_holder(self._contract_locks, contract_id, locks.request_id)
        for key_hash in locks.key_hashes:
            _drop_holder(self._key_locks, key_hash, locks.request_id)

    # -- finalizing ----------------------------------------------------------------------

    def finalize(
        self, request_id: RequestId, approved: bool, commit_set: CommitSet | None = None
    ) -> FinalizeResult:
        """Apply the verdict: on approval the commit set; in every case release the locks."""
        entry = self._in_flight.get(request_id)
        if entry is None:
            return self._finalize_replay(request_id, approved)
        applied = (commit_set or EMPTY_COMMIT_SET) if approved else EMPTY_COMMIT_SET
        self._require_locked(entry.locks, applied)
        double = self._apply(applied)
        self._release(entry.locks)
        del self._in_flight[request_id]
        self._remember(request_id, entry, approved)
        return FinalizeResult(request_id, approved, applied, double)

    def _finalize_replay(self, request_id: RequestId, approved: bool) -> FinalizeResult:
        finished = self._finished.get(request_id)
        if finished is None:
            raise UnknownRequest(f"request {request_id} is not in flight")
        if finished[2] != approved:
            raise ConflictDetectionError(
                f"request {request_id} was finalized with approved={finished[2]}, "
                f"now replayed with approved={approved}"
            )
        return FinalizeResult(request_id, approved, EMPTY_COMMIT_SET, replayed=True)

    def _require_locked(self, locks: RequestLocks, commit_set: CommitSet) -> None:
        unlocked = (commit_set.archived | commit_set.created_ids) - locks.contract_ids
        if unlocked:
            raise CommitSetNotLocked(
                f"request {locks.request_id} commits contracts it did not lock: {sorted(unlocked)}"
            )

    def _apply(self, commit_set: CommitSet) -> frozenset[ContractId]:
        double: set[ContractId] = set()
        for contract_id in commit_set.archived:
            state = self._contracts.get(contract_id)
            if state is None or not state.active:
                double.add(contract_id)
            key_hash = state.key_hash if state is not None else None
            self._contracts[contract_id] = ContractState(False, key_hash)
            if key_hash is not None and self._keys.get(key_hash) == contract_id:
                self._keys[key_hash] = None
        for created in commit_set.created:
            contract_id = created.contract.contract_id
            self._contracts[contract_id] = ContractState(True, created.key_hash)
            if created.key_hash is not None:
                self._keys[created.key_hash] = contract_id
        return frozenset(double)

    def _remember(self, request_id: RequestId, entry: _InFlight, approved: bool) -> None:
        self._finished[request_id] = (entry.locks.request_ts_us, entry.result, approved)
        while len(self._finished) > self._finished_memory:
            self._finished.popitem(last=False)

    # -- restart, timeouts, introspection ------------------------------------------------

    def restore(self, in_flight: Iterable[RequestLocks]) -> None:
        """Re-take the locks of requests still awaiting their verdict after a restart, with
        their activeness results, so a replayed request gets the answer it got before."""
        for locks in sorted(in_flight, key=lambda item: item.request_ts_us):
            if locks.request_id in self._in_flight:
                continue
            self._take(locks)
            self._in_flight[locks.request_id] = _InFlight(locks, locks.activeness_result)
            if self._last_ts_us is None or locks.request_ts_us > self._last_ts_us:
                self._last_ts_us = locks.request_ts_us

    def locks_of(self, request_id: RequestId) -> RequestLocks:
        entry = self._in_flight.get(request_id)
        if entry is None:
            raise UnknownRequest(f"request {request_id} is not in flight")
        return entry.locks

    def lock_holders(self, contract_id: ContractId) -> tuple[RequestId, ...]:
        return tuple(self._contract_locks.get(contract_id, ()))

    def key_lock_holders(self, key_hash: GlobalKeyHash) -> tuple[RequestId, ...]:
        return tuple(self._key_locks.get(key_hash, ()))

    def in_flight(self) -> tuple[RequestId, ...]:
        return tuple(self._in_flight)

    def timed_out(self, now_us: int) -> tuple[RequestId, ...]:
        """In-flight requests whose decision time has passed (sequencer time `now_us`)."""
        return tuple(
            request_id
            for request_id, entry in self._in_flight.items()
            if entry.locks.decision_time_us < now_us
        )

    def next_deadline_us(self) -> int | None:
        """The earliest decision time of an in-flight request: every lock has one."""
        return min((e.locks.decision_time_us for e in self._in_flight.values()), default=None)

    @property
    def last_request_ts_us(self) -> int | None:
        return self._last_ts_us


def _as_passed(instance: object, field: str) -> object:
    """A field as it was passed, before compiled code would coerce it to its declared type."""
    return getattr(instance, field)


def _decision_time(request_id: RequestId, request_ts_us: int, decision_time_us: object) -> int:
    """`decision_time_us` if it is a usable decision time, else `DecisionTimeRequired`."""
    if isinstance(decision_time_us, bool) or not isinstance(decision_time_us, int):
        raise DecisionTimeRequired(
            f"request {request_id} has no decision time (got {decision_time_us!r}): its locks "
            "would never time out"
        )
    if decision_time_us < request_ts_us:
        raise DecisionTimeRequired(
            f"request {request_id} at {request_ts_us} us has decision time "
            f"{decision_time_us} us, before the request"
        )
    return decision_time_us


def _drop_holder(table: dict[_K, list[RequestId]], item: _K, request_id: RequestId) -> None:
    holders = table.get(item)
    if holders is None or request_id not in holders:
        raise ConflictDetectionError(f"{item} is not locked by {request_id}")
    holders.remove(request_id)
    if not holders:
        del table[item]
