"""Transaction trees, as the engine produces them (Daml's ledger model).

A transaction is a forest of action nodes. Nodes are stored in one tuple indexed by `NodeId`
(pre-order position), children refer to node ids, and `roots` lists the top-level actions.
Each node carries the contract metadata (signatories, stakeholders, key) that the ledger
model needs to compute informees without looking anything up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NewType

from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.value import RecordValue, Value

NodeId = NewType("NodeId", int)
Party = str


@dataclass(frozen=True, slots=True)
class KeyWithMaintainers:
    key: Value
    maintainers: frozenset[Party]


@dataclass(frozen=True, slots=True)
class ContractInstance:
    """An active contract as stored: what a fetch or exercise needs of it."""

    contract_id: str
    template_id: Identifier
    argument: RecordValue
    signatories: frozenset[Party]
    observers: frozenset[Party]
    key: KeyWithMaintainers | None = None
    created_at_us: int = 0  # ledger time of the creating transaction
    # what the contract id commits to besides the contents (`contract_id.contract_salt`);
    # None only for a contract not (yet) known with it, which cannot be authenticated
    salt: bytes | None = None

    def __init__(
        self,
        contract_id: str,
        template_id: Identifier,
        argument: RecordValue,
        signatories: frozenset[Party],
        observers: frozenset[Party],
        key: KeyWithMaintainers | None = None,
        created_at_us: int = 0,
        salt: bytes | None = None,
    ) -> None:
        object.__setattr__(self, "contract_id", contract_id)
        object.__setattr__(self, "template_id", template_id)
        object.__setattr__(self, "argument", argument)
        object.__setattr__(self, "signatories", signatories)
        object.__setattr__(self, "observers", observers)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "created_at_us", created_at_us)
        object.__setattr__(self, "salt", salt)

    @property
    def stakeholders(self) -> frozenset[Party]:
        return self.signatories | self.observers


@dataclass(frozen=True, slots=True)
class CreateNode:
    contract_id: str
    template_id: Identifier
    argument: RecordValue
    signatories: frozenset[Party]
    observers: frozenset[Party]
    key: KeyWithMaintainers | None = None

    def __init__(
        self,
        contract_id: str,
        template_id: Identifier,
        argument: RecordValue,
        signatories: frozenset[Party],
        observers: frozenset[Party],
        key: KeyWithMaintainers | None = None,
    ) -> None:
        object.__setattr__(self, "contract_id", contract_id)
        object.__setattr__(self, "template_id", template_id)
        object.__setattr__(self, "argument", argument)
        object.__setattr__(self, "signatories", signatories)
        object.__setattr__(self, "observers", observers)
        object.__setattr__(self, "key", key)

    @property
    def stakeholders(self) -> frozenset[Party]:
        return self.signatories | self.observers


@dataclass(frozen=True, slots=True)
class ExerciseNode:
    contract_id: str
    template_id: Identifier
    choice: str
    choice_argument: Value
    acting_parties: frozenset[Party]
    consuming: bool
    signatories: frozenset[Party]
    stakeholders: frozenset[Party]
    choice_observers: frozenset[Party]
    children: tuple[NodeId, ...]
    exercise_result: Value | None
    key: KeyWithMaintainers | None = None
    by_key: bool = False

    def __init__(
        self,
        contract_id: str,
        template_id: Identifier,
        choice: str,
        choice_argument: Value,
        acting_parties: frozenset[Party],
        consuming: bool,
        signatories: frozenset[Party],
        stakeholders: frozenset[Party],
        choice_observers: frozenset[Party],
        children: tuple[NodeId, ...],
        exercise_result: Value | None,
        key: KeyWithMaintainers | None = None,
        by_key: bool = False,
    ) -> None:
        object.__setattr__(self, "contract_id", contract_id)
        object.__setattr__(self, "template_id", template_id)
        object.__setattr__(self, "choice", choice)
        object.__setattr__(self, "choice_argument", choice_argument)
        object.__setattr__(self, "acting_parties", acting_parties)
        object.__setattr__(self, "consuming", consuming)
        object.__setattr__(self, "signatories", signatories)
        object.__setattr__(self, "stakeholders", stakeholders)
        object.__setattr__(self, "choice_observers", choice_observers)
        object.__setattr__(self, "children", children)
        object.__setattr__(self, "exercise_result", exercise_result)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "by_key", by_key)


@dataclass(frozen=True, slots=True)
class FetchNode:
    contract_id: str
    template_id: Identifier
    acting_parties: frozenset[Party]
    signatories: frozenset[Party]
    stakeholders: frozenset[Party]
    key: KeyWithMaintainers | None = None
    by_key: bool = False

    def __init__(
        self,
        contract_id: str,
        template_id: Identifier,
        acting_parties: frozenset[Party],
        signatories: frozenset[Party],
        stakeholders: frozenset[Party],
        key: KeyWithMaintainers | None = None,
        by_key: bool = False,
    ) -> None:
        object.__setattr__(self, "contract_id", contract_id)
        object.__setattr__(self, "template_id", template_id)
        object.__setattr__(self, "acting_parties", acting_parties)
        object.__setattr__(self, "signatories", signatories)
        object.__setattr__(self, "stakeholders", stakeholders)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "by_key", by_key)


@dataclass(frozen=True, slots=True)
class LookupByKeyNode:
    template_id: Identifier
    key: KeyWithMaintainers
    result: str | None  # the contract id found, or None


Node = (
    CreateNode
    | ExerciseNode
    | FetchNode
    | LookupByKeyNode
)


@dataclass(frozen=True, slots=True)
class Transaction:
    nodes: tuple[Node, ...]
    roots: tuple[NodeId, ...]

    def __init__(self, nodes: tuple[Node, ...], roots: tuple[NodeId, ...]) -> None:
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "roots", roots)

    def node(self, node_id: NodeId) -> Node:
        return self.nodes[node_id]

    def children(self, node_id: NodeId) -> tuple[NodeId, ...]:
        node = self.nodes[node_id]
        return node.children if isinstance(node, ExerciseNode) else ()
