"""Daml's ledger model over a `Transaction`: informees, witnesses, projections, divulgence.

Theory of operation. Daml decides who may see which part of a transaction from the roles a
party plays on each action (the "informees" of a node):

- create: signatories + observers (the stakeholders of the new contract);
- consuming exercise: stakeholders + actors + choice observers;
- non-consuming exercise: signatories + actors + choice observers;
- fetch: signatories + actors;
- lookup-by-key: the key's maintainers.

A party sees every action it is an informee of *with all its consequences*, so it also sees
actions deeper in the tree on contracts it has no stake in: the *witnesses* of a node are
the informees of the node and of all its ancestors. The *projection* for a set of parties
keeps, for each topmost action with an informee in the set, that action and its whole
subtree; its roots are those topmost actions in transaction order. Contracts a party learns
of in its projection without being one of their stakeholders are *divulged* to it.

Everything here is a pure function of the transaction; node ids of a projection are
renumbered in pre-order so the result is again a well-formed `Transaction`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from minicanton.core.errors import InvalidArgument
from minicanton.core.hashing import Hash, HashPurpose, hash_of
from minicanton.core.ids import TransactionId
from minicanton.core.lf.transaction import (
    CreateNode,
    ExerciseNode,
    FetchNode,
    LookupByKeyNode,
    Node,
    NodeId,
    Party,
    Transaction,
)


def informees_of_node(node: Node) -> frozenset[Party]:
    """The parties Daml informs of `node` (see the table in the module docstring)."""
    if isinstance(node, CreateNode):
        return node.signatories | node.observers
    if isinstance(node, ExerciseNode):
        on_contract = node.stakeholders if node.consuming else node.signatories
        return on_contract | node.acting_parties | node.choice_observers
    if isinstance(node, FetchNode):
        return node.signatories | node.acting_parties
    return node.key.maintainers


def signatories_or_maintainers(node: Node) -> frozenset[Party]:
    """The parties bound by the contract a node acts on (maintainers for a key lookup)."""
    if isinstance(node, LookupByKeyNode):
        return node.key.maintainers
    return node.signatories


def acting_parties(node: Node) -> frozenset[Party]:
    if isinstance(node, (ExerciseNode, FetchNode)):
        return node.acting_parties
    return frozenset()


def required_authorizers(node: Node) -> frozenset[Party]:
    """The parties that must authorize `node` (Canton's `ActionDescription.authorizers`):
    a create its signatories, an exercise its controllers, a fetch its actors, a key lookup
    the key's maintainers. For a root action they must be among the submitters; for any
    other, among the authorizers its parent exercise grants (`granted_authorizers`)."""
    if isinstance(node, CreateNode):
        return node.signatories
    if isinstance(node, (ExerciseNode, FetchNode)):
        return node.acting_parties
    return node.key.maintainers


def granted_authorizers(parent: ExerciseNode) -> frozenset[Party]:
    """The authorizers an exercise grants its consequences: the signatories of the
    exercised contract and the choice's controllers (Daml's authorization rule). Every one
    of them is an informee of the exercise, so sees it."""
    return parent.signatories | parent.acting_parties


def state_known_to(node: Node) -> frozenset[Party]:
    """Parties that track the state of the contract the node is about (Canton's name)."""
    if isinstance(node, LookupByKeyNode):
        return node.key.maintainers
    return node.stakeholders


def preorder(transaction: Transaction) -> tuple[NodeId, ...]:
    """All node ids reachable from the roots, parents before children, in tree order."""
    out: list[NodeId] = []
    stack = list(reversed(transaction.roots))
    while stack:
        node_id = stack.pop()
        out.append(node_id)
        stack.extend(reversed(transaction.children(node_id)))
    return tuple(out)


def parents(transaction: Transaction) -> dict[NodeId, NodeId]:
    """Child node id -> parent node id (roots have no entry)."""
    return {
        child: node_id
        for node_id in preorder(transaction)
        for child in transaction.children(node_id)
    }


def informees(transaction: Transaction) -> dict[NodeId, frozenset[Party]]:
    """Node id -> the node's informees, for every node in the transaction."""
    return {n: informees_of_node(transaction.node(n)) for n in preorder(transaction)}


def witnesses(transaction: Transaction) -> dict[NodeId, frozenset[Party]]:
    """Informees of each node and of all its ancestors: everyone who gets to see the node."""
    out: dict[NodeId, frozenset[Party]] = {}

    def visit(node_id: NodeId, above: frozenset[Party]) -> None:
        seen = above | informees_of_node(transaction.node(node_id))
        out[node_id] = seen
        for child in transaction.children(node_id):
            visit(child, seen)

    for root in transaction.roots:
        visit(root, frozenset())
    return out


def projection_roots(transaction: Transaction, parties: Iterable[Party]) -> tuple[NodeId, ...]:
    """The topmost nodes with an informee in `parties`, in transaction order."""
    wanted = frozenset(parties)
    found: list[NodeId] = []

    def visit(node_id: NodeId) -> None:
        if informees_of_node(transaction.node(node_id)) & wanted:
            found.append(node_id)
            return
        for child in transaction.children(node_id):
            visit(child)

    for root in transaction.roots:
        visit(root)
    return tuple(found)


def project(transaction: Transaction, parties: Iterable[Party]) -> Transaction:
    """Daml's projection of `transaction` for `parties`, node ids renumbered in pre-order."""
    return subtransaction(transaction, projection_roots(transaction, parties))


def subtransaction(transaction: Transaction, roots: Iterable[NodeId]) -> Transaction:
    """The forest of the subtrees under `roots`, node ids renumbered in pre-order."""
    return forest_of({NodeId(i): node for i, node in enumerate(transaction.nodes)}, roots)


def forest_of(nodes: Mapping[NodeId, Node], roots: Iterable[NodeId]) -> Transaction:
    """A well-formed transaction of the subtrees under `roots`, taken from `nodes` (which
    may be any part of a transaction holding them), node ids renumbered in pre-order.
    Raises `InvalidArgument` if a child of a kept node is missing from `nodes`."""
    root_list = tuple(roots)
    kept: list[NodeId] = []
    stack = list(reversed(root_list))
    while stack:
        node_id = stack.pop()
        node = nodes.get(node_id)
        if node is None:
            raise InvalidArgument(f"node {node_id} of the subtree is missing")
        kept.append(node_id)
        if isinstance(node, ExerciseNode):
            stack.extend(reversed(node.children))
    renumber = {old: NodeId(new) for new, old in enumerate(kept)}
    renumbered = tuple(_renumbered(nodes[old], renumber) for old in kept)
    return Transaction(nodes=renumbered, roots=tuple(renumber[root] for root in root_list))


def _renumbered(node: Node, renumber: Mapping[NodeId, NodeId]) -> Node:
    if isinstance(node, ExerciseNode):
        return replace(node, children=tuple(renumber[child] for child in node.children))
    return node


def contract_id_of(node: Node) -> str | None:
    """The contract a node creates or uses (the found contract for a key lookup)."""
    if isinstance(node, LookupByKeyNode):
        return node.result
    return node.contract_id


def divulged_contracts(transaction: Transaction, party: Party) -> frozenset[str]:
    """Contract ids `party` witnesses a create, exercise or fetch of without being a
    stakeholder of the contract: what Daml calls divulgence."""
    seen = witnesses(transaction)
    divulged: set[str] = set()
    for node_id, witnessing in seen.items():
        node = transaction.node(node_id)
        if party not in witnessing or isinstance(node, LookupByKeyNode):
            continue  # a lookup's informees (maintainers) are always stakeholders
        if party not in node.stakeholders:
            divulged.add(node.contract_id)
    return frozenset(divulged)


def transaction_id_of(root_hash: Hash) -> TransactionId:
    """A transaction's id is derived from (and so commits to) the root hash of its tree."""
    return TransactionId(hash_of(HashPurpose.TRANSACTION_ID, root_hash.digest).hex)
