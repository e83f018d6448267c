"""What a request must find and will lock: activeness sets, their results, and the builder.

`activeness_set_for` reads (a participant's part of) a transaction and lists, for the contracts
with a stakeholder the participant hosts and the keys with a maintainer it hosts, what the
`ConflictDetector` must check: consumed and used inputs, created contract ids and keys, key
lookups. `ActivenessResult` is the detector's answer; `restricted_to` cuts it down to one view
so the participant can answer each view on its own (seed 003: A approves tx1's view on c1 and
rejects its view on c2). Error ids are Canton's local-verdict codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from minicanton.core.errors import InvalidArgument
from minicanton.core.ids import RequestId
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.transaction import (
    CreateNode,
    ExerciseNode,
    KeyWithMaintainers,
    LookupByKeyNode,
    Node,
    Transaction,
)
from minicanton.core.protocol.commit_set import (
    ContractId,
    GlobalKeyHash,
    KeyHasher,
    Party,
    global_key_hash,
)
from minicanton.core.protocol.ledger_model import preorder, state_known_to

_K = TypeVar("_K", bound=str)


@dataclass(frozen=True, slots=True)
class KeyLookup:
    key_hash: GlobalKeyHash
    expected: ContractId | None  # what interpretation resolved the key to (None: no contract)


@dataclass(frozen=True, slots=True)
class ActivenessSet:
    consumed: frozenset[ContractId] = frozenset()
    used: frozenset[ContractId] = frozenset()
    created: frozenset[ContractId] = frozenset()
    created_keys: frozenset[GlobalKeyHash] = frozenset()
    key_lookups: frozenset[KeyLookup] = frozenset()

    def __init__(
        self,
        consumed: frozenset[ContractId] = frozenset(),
        used: frozenset[ContractId] = frozenset(),
        created: frozenset[ContractId] = frozenset(),
        created_keys: frozenset[GlobalKeyHash] = frozenset(),
        key_lookups: frozenset[KeyLookup] = frozenset(),
    ) -> None:
        object.__setattr__(self, "consumed", consumed)
        object.__setattr__(self, "used", used)
        object.__setattr__(self, "created", created)
        object.__setattr__(self, "created_keys", created_keys)
        object.__setattr__(self, "key_lookups", key_lookups)
        self.__post_init__()

    def __post_init__(self) -> None:
        object.__setattr__(self, "used", self.used - self.consumed)
        clash = self.created & (self.consumed | self.used)
        if clash:
            raise InvalidArgument(f"contracts both created and input: {sorted(clash)}")

    @property
    def contract_ids(self) -> frozenset[ContractId]:
        return self.consumed | self.used | self.created

    @property
    def key_hashes(self) -> frozenset[GlobalKeyHash]:
        return self.created_keys | {lookup.key_hash for lookup in self.key_lookups}


@dataclass(frozen=True, slots=True)
class LocalRejection:
    """One reason to reject, with Canton's local-verdict error id."""

    error_id: str
    message: str


@dataclass(frozen=True, slots=True)
class ActivenessResult:
    request_id: RequestId
    unknown: frozenset[ContractId] = frozenset()
    inactive: frozenset[ContractId] = frozenset()
    locked: Mapping[ContractId, RequestId] = field(default_factory=dict)
    not_fresh: frozenset[ContractId] = frozenset()
    duplicate_keys: Mapping[GlobalKeyHash, ContractId] = field(default_factory=dict)
    locked_keys: Mapping[GlobalKeyHash, RequestId] = field(default_factory=dict)
    inconsistent_keys: Mapping[GlobalKeyHash, ContractId | None] = field(default_factory=dict)

    @property
    def is_successful(self) -> bool:
        return not self.rejections()

    def restricted_to(self, activeness_set: ActivenessSet) -> ActivenessResult:
        """The part of the result about one view's inputs (one response per view)."""
        ids, keys = activeness_set.contract_ids, activeness_set.key_hashes
        return ActivenessResult(
            self.request_id,
            self.unknown & ids,
            self.inactive & ids,
            {c: r for c, r in self.locked.items() if c in ids},
            self.not_fresh & ids,
            {k: c for k, c in self.duplicate_keys.items() if k in keys},
            {k: r for k, r in self.locked_keys.items() if k in keys},
            {k: c for k, c in self.inconsistent_keys.items() if k in keys},
        )

    def rejections(self) -> tuple[LocalRejection, ...]:
        found: list[LocalRejection] = []
        if self.locked:
            found.append(_rejection("LOCAL_VERDICT_LOCKED_CONTRACTS", "locked by", self.locked))
        if self.unknown or self.inactive:
            names = ", ".join(sorted(self.unknown | self.inactive))
            found.append(LocalRejection("LOCAL_VERDICT_INACTIVE_CONTRACTS", f"inactive: {names}"))
        if self.not_fresh:
            names = ", ".join(sorted(self.not_fresh))
            found.append(LocalRejection("LOCAL_VERDICT_CREATES_EXISTING_CONTRACTS", names))
        if self.locked_keys:
            found.append(_rejection("LOCAL_VERDICT_LOCKED_KEYS", "locked by", self.locked_keys))
        if self.duplicate_keys:
            found.append(
                _rejection("LOCAL_VERDICT_DUPLICATE_KEY", "assigned to", self.duplicate_keys)
            )
        if self.inconsistent_keys:
            found.append(
                _rejection("LOCAL_VERDICT_INCONSISTENT_KEY", "resolves to", self.inconsistent_keys)
            )
        return tuple(found)


def _rejection(error_id: str, verb: str, items: Mapping[_K, str | None]) -> LocalRejection:
    text = "; ".join(f"{k} {verb} {v}" for k, v in sorted(items.items()))
    return LocalRejection(error_id, text)


def activeness_set_for(
    transaction: Transaction,
    hosted_parties: frozenset[Party],
    key_hash: KeyHasher = global_key_hash,
) -> ActivenessSet:
    """The activeness set of (this participant's part of) a transaction.

    Contracts count only with a hosted stakeholder, keys only with a hosted maintainer. Key
    lookups are checked against the state before the transaction, so a lookup of a key the
    transaction already created or archived earlier (pre-order) is not checked.
    """
    builder = _ActivenessBuilder(hosted_parties, key_hash)
    created_in_tx = {n.contract_id for n in transaction.nodes if isinstance(n, CreateNode)}
    for node_id in preorder(transaction):
        node = transaction.node(node_id)
        if state_known_to(node) & hosted_parties:
            builder.add(node, created_in_tx)
    return builder.build()


class _ActivenessBuilder:
    def __init__(self, hosted: frozenset[Party], key_hash: KeyHasher) -> None:
        self.hosted, self.key_hash = hosted, key_hash
        self.consumed: set[ContractId] = set()
        self.used: set[ContractId] = set()
        self.created: set[ContractId] = set()
        self.created_keys: set[GlobalKeyHash] = set()
        self.lookups: set[KeyLookup] = set()
        self.touched: set[GlobalKeyHash] = set()

    def add(self, node: Node, created_in_tx: set[ContractId]) -> None:
        if isinstance(node, LookupByKeyNode):
            self._lookup(node.template_id, node.key, node.result)
            return
        if isinstance(node, CreateNode):
            self.created.add(node.contract_id)
            kh = self._maintained_key(node.template_id, node.key)
            if kh is not None:
                self.created_keys.add(kh)
                self.touched.add(kh)
            return
        if node.by_key and node.key is not None:
            self._lookup(node.template_id, node.key, node.contract_id)
        if node.contract_id not in created_in_tx:
            consuming = isinstance(node, ExerciseNode) and node.consuming
            (self.consumed if consuming else self.used).add(node.contract_id)
        if isinstance(node, ExerciseNode) and node.consuming:
            kh = self._maintained_key(node.template_id, node.key)
            if kh is not None:
                self.touched.add(kh)

    def _lookup(
        self, template_id: Identifier, key: KeyWithMaintainers, expected: ContractId | None
    ) -> None:
        kh = self._maintained_key(template_id, key)
        if kh is not None and kh not in self.touched:
            self.lookups.add(KeyLookup(kh, expected))

    def _maintained_key(
        self, template_id: Identifier, key: KeyWithMaintainers | None
    ) -> GlobalKeyHash | None:
        if key is None or not key.maintainers & self.hosted:
            return None
        return self.key_hash(template_id, key.key)

    def build(self) -> ActivenessSet:
        return ActivenessSet(
            frozenset(self.consumed),
            frozenset(self.used),
            frozenset(self.created),
            frozenset(self.created_keys),
            frozenset(self.lookups),
        )
