"""What a validating participant reads out of the view trees it decrypted.

A recipient of a view gets that view in full, with every subview unblinded (`merkle.view_tree`),
so each view it holds is a self-contained subtree of the transaction: its nodes keep their
transaction node ids, and its input contracts and resolved keys are in its participant data.
The helpers here turn those into what the checks need: the view's action as a transaction of
its own (what re-interpretation must reproduce), a lookup serving exactly the view's inputs,
the core-only part (one view's activeness), and the forest of every view held (the
participant's part of the transaction, for conflict detection and the commit). Forests are
renumbered in pre-order because `Transaction` indexes nodes by position; the original ids are
kept alongside so the committed projection names every event by its transaction node id, the
same at every participant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from minicanton.core.errors import InvalidArgument
from minicanton.core.hashing import Hash
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.transaction import ContractInstance, ExerciseNode, Node, NodeId, Transaction
from minicanton.core.lf.value import Value
from minicanton.core.protocol.commit_set import ProjectedTransaction, WitnessedNode
from minicanton.core.protocol.ledger_model import forest_of
from minicanton.core.protocol.merkle import (
    FIRST_SUBVIEW,
    GenTransactionTree,
    Leaf,
    MerklePath,
    TransactionView,
    view_hash,
    views_with_paths,
)
from minicanton.core.protocol.views import ViewCommonData, ViewParticipantData

KeyRef = tuple[Identifier, Value]


@dataclass(frozen=True, slots=True)
class OpenView:
    """A view held in full: its position, contents and those of its subviews."""

    position: MerklePath
    view_hash: Hash
    common: ViewCommonData
    data: ViewParticipantData
    subviews: tuple[OpenView, ...]
    # `action_transaction`, once built: the shape check and the conformance check both ask
    # (an open view never changes, so neither does its action)
    _action: list[Transaction] = field(default_factory=list, init=False, repr=False,
                                       compare=False)

    @property
    def root_node_id(self) -> NodeId:
        return self.data.root_node_id

    def walk(self) -> Iterable[OpenView]:
        yield self
        for subview in self.subviews:
            yield from subview.walk()

    def subtree_nodes(self) -> dict[NodeId, Node]:
        return {node_id: node for view in self.walk() for node_id, node in view.data.core_nodes}

    def input_contracts(self) -> dict[str, ContractInstance]:
        """Contracts the view and its subviews use that they did not create."""
        created = {c.contract.contract_id for v in self.walk() for c in v.data.created_core}
        return {
            i.contract.contract_id: i.contract
            for view in self.walk()
            for i in view.data.core_inputs
            if i.contract.contract_id not in created
        }

    def resolved_keys(self) -> dict[KeyRef, str | None]:
        found: dict[KeyRef, str | None] = {}
        for view in self.walk():
            for key in view.data.resolved_keys:
                found.setdefault((key.template_id, key.key), key.contract_id)
        return found

    def check_shape(self) -> None:
        """Raise `InvalidArgument` unless the view is a well-formed subtree: a non-empty core
        starting at its root, every child of a core node in the core or the root of one of
        its subviews, and every subview hanging under a core node (recursively)."""
        core = dict(self.data.core_nodes)
        if not core or len(core) != len(self.data.core_nodes):
            raise InvalidArgument(f"the view at {self.position} has an empty or repeated core")
        subview_roots = [sub.root_node_id for sub in self.subviews]
        children = [c for node in core.values() if isinstance(node, ExerciseNode)
                    for c in node.children]
        outside = [c for c in children if c not in core]
        if sorted(outside) != sorted(subview_roots) or len(set(children)) != len(children):
            raise InvalidArgument(f"the view at {self.position} does not match its subviews")
        for subview in self.subviews:
            subview.check_shape()
        self.action_transaction()

    def action_transaction(self) -> Transaction:
        """The view's action with all its consequences, root at node 0."""
        if not self._action:
            self._action.append(forest_of(self.subtree_nodes(), (self.root_node_id,)))
        return self._action[0]

    def core_transaction(self) -> Transaction:
        """Only the view's own (core) nodes, with subview children cut off."""
        core = dict(self.data.core_nodes)
        trimmed = {
            node_id: _only_children_in(node, core.keys()) for node_id, node in core.items()
        }
        return forest_of(trimmed, (self.root_node_id,))


def _only_children_in(node: Node, kept: Iterable[NodeId]) -> Node:
    if not isinstance(node, ExerciseNode):
        return node
    keep = set(kept)
    return replace(node, children=tuple(c for c in node.children if c in keep))


def open_views(tree: GenTransactionTree, position: MerklePath) -> OpenView:
    """The view at `position` of a decrypted view tree, with its subviews; `InvalidArgument`
    if any of them is blinded (a well-formed view tree never blinds below its view)."""
    for path, view in views_with_paths(tree):
        if path == position:
            return _open(view, path)
    raise InvalidArgument(f"the tree holds no view at {position}")


def _open(view: TransactionView, path: MerklePath) -> OpenView:
    common, data = view.view_common_data, view.view_participant_data
    if not isinstance(common, Leaf) or not isinstance(data, Leaf):
        raise InvalidArgument(f"the view at {path} is blinded")
    subviews = []
    for index, subview in enumerate(view.subviews):
        if not isinstance(subview, TransactionView):
            raise InvalidArgument(f"a subview of the view at {path} is blinded")
        subviews.append(_open(subview, (*path, FIRST_SUBVIEW + index)))
    return OpenView(path, view_hash(view), common.content, data.content, tuple(subviews))


class ViewLedger:
    """The ledger as one view declares it: its input contracts and resolved keys, nothing
    else, so re-interpretation can only succeed with what the submitter disclosed."""

    def __init__(self, view: OpenView) -> None:
        self._contracts = view.input_contracts()
        self._keys = view.resolved_keys()

    def lookup_contract(self, contract_id: str) -> ContractInstance | None:
        return self._contracts.get(contract_id)

    def lookup_key(self, template_id: Identifier, key: Value) -> str | None:
        return self._keys.get((template_id, key))


@dataclass(frozen=True, slots=True)
class Forest:
    """Held views as one transaction, renumbered; `original[i]` is node i's transaction id."""

    transaction: Transaction
    original: tuple[NodeId, ...]

    def __init__(self, transaction: Transaction, original: tuple[NodeId, ...]) -> None:
        object.__setattr__(self, "transaction", transaction)
        object.__setattr__(self, "original", original)


def forest_of_views(views: Iterable[OpenView]) -> Forest:
    """The part of the transaction formed by `views` (nested ones count once)."""
    nodes: dict[NodeId, Node] = {}
    for view in views:
        nodes.update(view.subtree_nodes())
    children = {c for node in nodes.values() if isinstance(node, ExerciseNode)
                for c in node.children}
    roots = sorted(node_id for node_id in nodes if node_id not in children)
    transaction = forest_of(nodes, roots)
    kept = _preorder_ids(nodes, roots)
    return Forest(transaction, kept)


def _preorder_ids(nodes: Mapping[NodeId, Node], roots: Iterable[NodeId]) -> tuple[NodeId, ...]:
    out: list[NodeId] = []
    stack = list(reversed(list(roots)))
    while stack:
        node_id = stack.pop()
        out.append(node_id)
        node = nodes[node_id]
        if isinstance(node, ExerciseNode):
            stack.extend(reversed(node.children))
    return tuple(out)


def with_original_ids(projection: ProjectedTransaction, forest: Forest) -> ProjectedTransaction:
    """`projection` (of `forest.transaction`) with every node id mapped back to the
    transaction's own node ids."""

    def original(node_id: NodeId) -> NodeId:
        return forest.original[node_id]

    def node(witnessed: WitnessedNode) -> WitnessedNode:
        inner = witnessed.node
        if isinstance(inner, ExerciseNode):
            inner = replace(inner, children=tuple(original(c) for c in inner.children))
        return replace(witnessed, node_id=original(witnessed.node_id), node=inner)

    return ProjectedTransaction(
        tuple(original(r) for r in projection.roots), tuple(node(n) for n in projection.nodes)
    )
