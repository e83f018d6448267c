"""What an approved request commits at one participant (DESIGN.md §3 step 7).

A participant sees only the part of a transaction its hosted parties are entitled to (the
views it was sent). From that part and the set of parties it hosts, `commit_set_for` computes:

* ``archived`` — contracts consumed by the transaction that have a hosted stakeholder: they
  leave this participant's active contract store (ACS);
* ``created`` — contracts created with a hosted stakeholder and not consumed again within the
  same transaction (transient contracts never enter an ACS, as in Canton);
* ``divulged`` — contracts a hosted party sees used or created without being a stakeholder:
  Daml's divulgence, kept so that party can later fetch them. It is per party: a contract is
  divulged to a hosted witness even when another hosted party is its stakeholder;
* ``projection`` — the party-projected transaction for the hosted parties together, with, per
  node, the hosted parties that witness it in the transaction tree (an informee of the node or
  of an ancestor: a party sees every consequence of an action it is an informee of) and in the
  flat transaction (stakeholders of creates and consuming exercises, transient ones left out).
  ``projection_for(party)`` gives one party's projection.

Informees and witnesses come from `ledger_model`. Unlike `ledger_model.project`, the
projection here keeps the node ids of the transaction it is given, so an event id (transaction
id + node id) names the same event at every participant. Contract keys are identified by a
`GlobalKeyHash` (`global_key_hash`: the template id and the canonical bytes of the key value).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import NewType

from minicanton.core.errors import InvalidArgument
from minicanton.core.hashing import HashPurpose, hash_of
from minicanton.core.lf.binary_codec import encode_value
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.transaction import (
    ContractInstance,
    CreateNode,
    ExerciseNode,
    KeyWithMaintainers,
    LookupByKeyNode,
    Node,
    NodeId,
    Transaction,
)
from minicanton.core.lf.value import Value
from minicanton.core.protocol.ledger_model import preorder, projection_roots, witnesses

ContractId = str
Party = str
GlobalKeyHash = NewType("GlobalKeyHash", str)
KeyHasher = Callable[[Identifier, Value], GlobalKeyHash]


def global_key_hash(template_id: Identifier, key: Value) -> GlobalKeyHash:
    """Daml's global key: unique per (template, key value); canonical bytes, then SHA-256."""
    return GlobalKeyHash(
        hash_of(HashPurpose.CONTRACT_KEY, str(template_id), encode_value(key)).hex
    )


@dataclass(frozen=True, slots=True)
class CreatedContract:
    contract: ContractInstance
    key_hash: GlobalKeyHash | None = None

    def __init__(self, contract: ContractInstance, key_hash: GlobalKeyHash | None = None) -> None:
        object.__setattr__(self, "contract", contract)
        object.__setattr__(self, "key_hash", key_hash)


@dataclass(frozen=True, slots=True)
class WitnessedNode:
    node_id: NodeId
    node: Node
    tree_witnesses: frozenset[Party]
    flat_witnesses: frozenset[Party]

    def __init__(
        self,
        node_id: NodeId,
        node: Node,
        tree_witnesses: frozenset[Party],
        flat_witnesses: frozenset[Party],
    ) -> None:
        object.__setattr__(self, "node_id", node_id)
        object.__setattr__(self, "node", node)
        object.__setattr__(self, "tree_witnesses", tree_witnesses)
        object.__setattr__(self, "flat_witnesses", flat_witnesses)


@dataclass(frozen=True, slots=True)
class ProjectedTransaction:
    """A projection: its roots and nodes in pre-order, each with its hosted witnesses."""

    roots: tuple[NodeId, ...]
    nodes: tuple[WitnessedNode, ...]

    def __init__(self, roots: tuple[NodeId, ...], nodes: tuple[WitnessedNode, ...]) -> None:
        object.__setattr__(self, "roots", roots)
        object.__setattr__(self, "nodes", nodes)

    def node(self, node_id: NodeId) -> WitnessedNode:
        for witnessed in self.nodes:
            if witnessed.node_id == node_id:
                return witnessed
        raise KeyError(node_id)

    def projection_for(self, party: Party) -> ProjectedTransaction:
        """One party's projection: the maximal subtrees whose root it witnesses."""
        nodes = tuple(n for n in self.nodes if party in n.tree_witnesses)
        children = {
            child for n in nodes if isinstance(n.node, ExerciseNode) for child in n.node.children
        }
        roots = tuple(n.node_id for n in nodes if n.node_id not in children)
        return ProjectedTransaction(roots, nodes)

    @property
    def witnesses(self) -> frozenset[Party]:
        return frozenset(p for n in self.nodes for p in n.tree_witnesses)


@dataclass(frozen=True, slots=True)
class CommitSet:
    archived: frozenset[ContractId]
    created: tuple[CreatedContract, ...]
    divulged: tuple[ContractInstance, ...]
    projection: ProjectedTransaction

    def __init__(
        self,
        archived: frozenset[ContractId],
        created: tuple[CreatedContract, ...],
        divulged: tuple[ContractInstance, ...],
        projection: ProjectedTransaction,
    ) -> None:
        object.__setattr__(self, "archived", archived)
        object.__setattr__(self, "created", created)
        object.__setattr__(self, "divulged", divulged)
        object.__setattr__(self, "projection", projection)

    @property
    def created_ids(self) -> frozenset[ContractId]:
        return frozenset(c.contract.contract_id for c in self.created)

    @property
    def is_empty(self) -> bool:
        return not (self.archived or self.created or self.divulged or self.projection.nodes)


EMPTY_COMMIT_SET = CommitSet(frozenset(), (), (), ProjectedTransaction((), ()))


def project(transaction: Transaction, parties: frozenset[Party]) -> ProjectedTransaction:
    """The projection for a set of parties, original node ids kept, per-node witnesses."""
    seen = witnesses(transaction)
    transient = _transient_contracts(transaction)
    nodes: list[WitnessedNode] = []
    for node_id in preorder(transaction):
        tree = seen[node_id] & parties
        if tree:
            node = transaction.node(node_id)
            nodes.append(WitnessedNode(node_id, node, tree, _flat(node, tree, transient)))
    roots = projection_roots(transaction, parties)
    return ProjectedTransaction(roots, tuple(nodes))


def _flat(node: Node, tree: frozenset[Party], transient: frozenset[ContractId]) -> frozenset[Party]:
    if isinstance(node, CreateNode) or (isinstance(node, ExerciseNode) and node.consuming):
        if node.contract_id in transient:
            return frozenset()
        return tree & node.stakeholders
    return frozenset()


def _transient_contracts(transaction: Transaction) -> frozenset[ContractId]:
    created = {n.contract_id for n in transaction.nodes if isinstance(n, CreateNode)}
    consumed = _consumed(transaction.nodes)
    return frozenset(created & consumed)


def _consumed(nodes: Iterable[Node]) -> set[ContractId]:
    return {n.contract_id for n in nodes if isinstance(n, ExerciseNode) and n.consuming}


def commit_set_for(
    transaction: Transaction,
    hosted_parties: frozenset[Party],
    input_contracts: Mapping[ContractId, ContractInstance],
    ledger_time_us: int,
    key_hash: KeyHasher = global_key_hash,
) -> CommitSet:
    """The commit set of `transaction` (as far as this participant sees it) for its parties.

    `input_contracts` holds the instances of the contracts the transaction uses that were
    created before it (the views carry them); they are needed to store divulged contracts.
    `ledger_time_us` is the transaction's ledger effective time, stamped on what it creates.
    """
    projection = project(transaction, hosted_parties)
    visible = [w.node for w in projection.nodes]
    transient = _transient_contracts(transaction)
    archived = frozenset(
        n.contract_id
        for n in visible
        if isinstance(n, ExerciseNode)
        and n.consuming
        and n.contract_id not in transient
        and n.stakeholders & hosted_parties
    )
    created = tuple(
        CreatedContract(_instance(n, ledger_time_us), _key_hash(n.template_id, n.key, key_hash))
        for n in visible
        if isinstance(n, CreateNode) and n.stakeholders & hosted_parties
        and n.contract_id not in transient
    )
    divulged = _divulged(projection, input_contracts, ledger_time_us)
    return CommitSet(archived, created, divulged, projection)


def _divulged(
    projection: ProjectedTransaction,
    input_contracts: Mapping[ContractId, ContractInstance],
    ledger_time_us: int,
) -> tuple[ContractInstance, ...]:
    # Divulgence is per party: a node divulges its contract when some hosted witness of it is
    # no stakeholder, even if another hosted party is one (the store records it per party).
    visible = [w.node for w in projection.nodes]
    found: dict[ContractId, ContractInstance] = {}
    for witnessed in projection.nodes:
        node = witnessed.node
        if isinstance(node, LookupByKeyNode) or not witnessed.tree_witnesses - node.stakeholders:
            continue
        if isinstance(node, CreateNode):
            found[node.contract_id] = _instance(node, ledger_time_us)
        elif node.contract_id in input_contracts:
            found[node.contract_id] = input_contracts[node.contract_id]
        elif node.contract_id not in found and not _created_in(visible, node.contract_id):
            raise InvalidArgument(
                f"contract {node.contract_id} is divulged but its instance was not provided"
            )
    return tuple(found.values())


def _created_in(nodes: list[Node], contract_id: ContractId) -> bool:
    return any(isinstance(n, CreateNode) and n.contract_id == contract_id for n in nodes)


def _instance(node: CreateNode, ledger_time_us: int) -> ContractInstance:
    return ContractInstance(
        contract_id=node.contract_id,
        template_id=node.template_id,
        argument=node.argument,
        signatories=node.signatories,
        observers=node.observers,
        key=node.key,
        created_at_us=ledger_time_us,
    )


def _key_hash(
    template_id: Identifier, key: KeyWithMaintainers | None, key_hash: KeyHasher
) -> GlobalKeyHash | None:
    return None if key is None else key_hash(template_id, key.key)
