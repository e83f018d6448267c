"""View decomposition: splitting a transaction into the views the protocol distributes.

Theory of operation. A *view* is a subtree of the transaction whose actions share the same
confirmation parameters: informees, confirming parties with weights, and threshold (see
`confirmation_policy`). Every root action of the transaction starts a view. Walking down,
a child action whose parameters equal those of the view it is in joins that view's *core*;
a child whose parameters differ starts a *subview* (which then contains the child's whole
subtree, split the same way). This is exactly the rule of Canton's
`TransactionViewDecompositionFactory` (protocol versions before 5, `V1`/`V2`): a node is a
`SameView` when `(informees, threshold) == (view informees, view threshold)` — where Canton's
informees carry the confirming weights — and a `NewView` otherwise; Canton's `NewView`
asserts that "a subview has [not] the same informees and threshold". Comparing the weights
and threshold and not just the informee set matters: one view has one set of confirmers, so
two actions with the same informees but different confirmers cannot share it. Why views at
all: each informee must see (and check) the actions it is informed of with all their
consequences, and nothing else; a view is the unit that is encrypted, sent only to the
participants hosting its informees (and its ancestors' informees, who see it as a
consequence), and confirmed separately (seed 003: "participants approve each view
individually").

What a view holds mirrors Canton's `TransactionView`: `ViewCommonData` (the confirmation
parameters: what the mediator sees) and `ViewParticipantData` (the action: its root node,
the root's seed and the core nodes; the core's input contracts, the contracts the core
creates, and the keys the core resolved), plus its subviews. As in Canton, the ledger time
lives in the transaction's `ParticipantMetadata` and the submitter's identity in its
`SubmitterMetadata`; `merkle` assembles all of these into the Merkle tree. Contracts travel
with their salt (`ContractInstance.salt`), so every holder can authenticate their ids.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from minicanton.core.errors import MinicantonError
from minicanton.core.ids import MemberId, ParticipantId
from minicanton.core.lf.contract_id import contract_salt
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.transaction import (
    ContractInstance,
    CreateNode,
    ExerciseNode,
    FetchNode,
    LookupByKeyNode,
    Node,
    NodeId,
    Party,
    Transaction,
)
from minicanton.core.lf.value import Value
from minicanton.core.protocol.confirmation_policy import (
    ConfirmationPolicy,
    ConfirmingParty,
    ViewConfirmationParameters,
    VipPredicate,
    confirmation_parameters,
)
from minicanton.core.protocol.ledger_model import forest_of


class ViewDecompositionError(MinicantonError):
    error_id = "VIEW_DECOMPOSITION_FAILED"


@dataclass(frozen=True, slots=True)
class SubmitterMetadata:
    """Who submitted: seen by the submitter's and the root views' informees' participants.

    As Canton's, it has no read-as parties: they only widen what the submitter's own lookup
    sees, and are no informee's business."""

    act_as: frozenset[Party]
    application_id: str
    command_id: str
    submitting_participant: ParticipantId
    submission_id: str
    max_sequencing_time_us: int

    def __init__(
        self,
        act_as: frozenset[Party],
        application_id: str,
        command_id: str,
        submitting_participant: ParticipantId,
        submission_id: str,
        max_sequencing_time_us: int,
    ) -> None:
        object.__setattr__(self, "act_as", act_as)
        object.__setattr__(self, "application_id", application_id)
        object.__setattr__(self, "command_id", command_id)
        object.__setattr__(self, "submitting_participant", submitting_participant)
        object.__setattr__(self, "submission_id", submission_id)
        object.__setattr__(self, "max_sequencing_time_us", max_sequencing_time_us)


@dataclass(frozen=True, slots=True)
class CommonMetadata:
    """What every recipient, the mediator included, must agree on."""

    confirmation_policy: ConfirmationPolicy
    domain_id: str
    mediator_id: MemberId

    def __init__(
        self,
        confirmation_policy: ConfirmationPolicy,
        domain_id: str,
        mediator_id: MemberId,
    ) -> None:
        object.__setattr__(self, "confirmation_policy", confirmation_policy)
        object.__setattr__(self, "domain_id", domain_id)
        object.__setattr__(self, "mediator_id", mediator_id)


@dataclass(frozen=True, slots=True)
class ParticipantMetadata:
    """What every validating participant needs but the mediator does not."""

    ledger_time_us: int
    submission_time_us: int
    workflow_id: str

    def __init__(self, ledger_time_us: int, submission_time_us: int, workflow_id: str) -> None:
        object.__setattr__(self, "ledger_time_us", ledger_time_us)
        object.__setattr__(self, "submission_time_us", submission_time_us)
        object.__setattr__(self, "workflow_id", workflow_id)


@dataclass(frozen=True, slots=True)
class ViewCommonData:
    parameters: ViewConfirmationParameters

    def __init__(self, parameters: ViewConfirmationParameters) -> None:
        object.__setattr__(self, "parameters", parameters)

    @property
    def informees(self) -> frozenset[Party]:
        return self.parameters.informees

    @property
    def confirming_parties(self) -> tuple[ConfirmingParty, ...]:
        return self.parameters.confirming_parties

    @property
    def threshold(self) -> int:
        return self.parameters.threshold


@dataclass(frozen=True, slots=True)
class InputContract:
    """A contract the view's core uses that the view itself did not create."""

    contract: ContractInstance
    consumed: bool  # a consuming exercise in the core archives it


@dataclass(frozen=True, slots=True)
class CreatedContract:
    contract: ContractInstance
    consumed_in_core: bool

    def __init__(self, contract: ContractInstance, consumed_in_core: bool) -> None:
        object.__setattr__(self, "contract", contract)
        object.__setattr__(self, "consumed_in_core", consumed_in_core)


@dataclass(frozen=True, slots=True)
class ResolvedKey:
    """A key a core node looked up or acted by, and what it resolved to at submission."""

    template_id: Identifier
    key: Value
    contract_id: str | None


@dataclass(frozen=True, slots=True)
class ViewParticipantData:
    """The action of the view and the contract data needed to validate it.

    `core_nodes` are the view's root node and every node of its subtree outside subviews,
    with their transaction node ids, in pre-order; an exercise's children that are missing
    from it are the roots of subviews. `root_seed` is the engine's seed of the root node
    (None for fetch and lookup roots).
    """

    core_nodes: tuple[tuple[NodeId, Node], ...]
    root_seed: bytes | None
    core_inputs: tuple[InputContract, ...]  # sorted by contract id
    created_core: tuple[CreatedContract, ...]  # in creation order
    created_in_subview_archived_in_core: frozenset[str]
    resolved_keys: tuple[ResolvedKey, ...]  # in order of first use

    def __init__(
        self,
        core_nodes: tuple[tuple[NodeId, Node], ...],
        root_seed: bytes | None,
        core_inputs: tuple[InputContract, ...],
        created_core: tuple[CreatedContract, ...],
        created_in_subview_archived_in_core: frozenset[str],
        resolved_keys: tuple[ResolvedKey, ...],
    ) -> None:
        object.__setattr__(self, "core_nodes", core_nodes)
        object.__setattr__(self, "root_seed", root_seed)
        object.__setattr__(self, "core_inputs", core_inputs)
        object.__setattr__(self, "created_core", created_core)
        object.__setattr__(self, "created_in_subview_archived_in_core",
                           created_in_subview_archived_in_core)
        object.__setattr__(self, "resolved_keys", resolved_keys)

    @property
    def root_node_id(self) -> NodeId:
        return self.core_nodes[0][0]

    @property
    def root_node(self) -> Node:
        return self.core_nodes[0][1]


@dataclass(frozen=True, slots=True)
class NewView:
    """One view of the decomposition (Canton's `TransactionViewDecomposition.NewView`)."""

    common_data: ViewCommonData
    participant_data: ViewParticipantData
    subviews: tuple[NewView, ...] = field(default=())

    def subtree_nodes(self) -> dict[NodeId, Node]:
        """Every node of this view and its subviews, by transaction node id."""
        nodes = dict(self.participant_data.core_nodes)
        for subview in self.subviews:
            nodes.update(subview.subtree_nodes())
        return nodes

    def action_transaction(self) -> Transaction:
        """The view's action with all its consequences as a transaction of its own (root at
        node 0, ids renumbered in pre-order): what re-running the root from its seed must
        give, node for node (Canton's model-conformance check)."""
        return forest_of(self.subtree_nodes(), (self.participant_data.root_node_id,))

    def walk(self, path: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], NewView]]:
        """This view and all its descendants in pre-order, each with its index path."""
        yield path, self
        for index, subview in enumerate(self.subviews):
            yield from subview.walk((*path, index))


def decompose(
    transaction: Transaction,
    node_seeds: Mapping[NodeId, bytes],
    input_contracts: Mapping[str, ContractInstance],
    policy: ConfirmationPolicy,
    ledger_time_us: int,
    is_vip: VipPredicate | None = None,
) -> tuple[NewView, ...]:
    """The root views of `transaction`, one per root action.

    `input_contracts` are the contracts the transaction uses that it did not create (the
    engine looked them up); contracts created earlier in the same transaction are taken
    from their create nodes, with `ledger_time_us` as their creation time.
    """
    builder = _Builder(transaction, node_seeds, input_contracts, policy, ledger_time_us, is_vip)
    return tuple(builder.new_view(root) for root in transaction.roots)


class _Builder:
    def __init__(
        self,
        transaction: Transaction,
        node_seeds: Mapping[NodeId, bytes],
        input_contracts: Mapping[str, ContractInstance],
        policy: ConfirmationPolicy,
        ledger_time_us: int,
        is_vip: VipPredicate | None,
    ) -> None:
        self._tx = transaction
        self._seeds = node_seeds
        self._policy = policy
        self._is_vip = is_vip
        self._ledger_time_us = ledger_time_us
        self._contracts = dict(input_contracts)
        for node_id, node in enumerate(transaction.nodes):
            if isinstance(node, CreateNode):
                self._contracts[node.contract_id] = self._instance_of(NodeId(node_id), node)

    def _instance_of(self, node_id: NodeId, node: CreateNode) -> ContractInstance:
        """The created contract with its salt, which every holder needs to authenticate it."""
        seed = self._seeds.get(node_id)
        return ContractInstance(
            node.contract_id, node.template_id, node.argument, node.signatories,
            node.observers, node.key, self._ledger_time_us,
            None if seed is None else contract_salt(seed),
        )

    def parameters(self, node_id: NodeId) -> ViewConfirmationParameters:
        return confirmation_parameters(self._tx.node(node_id), self._policy, self._is_vip)

    def new_view(self, root: NodeId) -> NewView:
        parameters = self.parameters(root)
        core: list[tuple[NodeId, Node]] = []
        subviews: list[NewView] = []
        self._collect(root, parameters, core, subviews)
        data = self._participant_data(root, core, subviews)
        return NewView(ViewCommonData(parameters), data, tuple(subviews))

    def _collect(
        self,
        node_id: NodeId,
        parameters: ViewConfirmationParameters,
        core: list[tuple[NodeId, Node]],
        subviews: list[NewView],
    ) -> None:
        core.append((node_id, self._tx.node(node_id)))
        for child in self._tx.children(node_id):
            if self.parameters(child) == parameters:
                self._collect(child, parameters, core, subviews)
            else:
                subviews.append(self.new_view(child))

    def _participant_data(
        self, root: NodeId, core: list[tuple[NodeId, Node]], subviews: list[NewView]
    ) -> ViewParticipantData:
        in_subviews = {
            created.contract.contract_id
            for subview in subviews
            for _, view in subview.walk()
            for created in view.participant_data.created_core
        }
        usage = _CoreUsage.of(core)
        inputs = tuple(
            InputContract(self._contract(contract_id), contract_id in usage.consumed)
            for contract_id in sorted(usage.used - usage.created_ids - in_subviews)
        )
        created = tuple(
            CreatedContract(self._contracts[node.contract_id], node.contract_id in usage.consumed)
            for node in usage.creates
        )
        return ViewParticipantData(
            core_nodes=tuple(core),
            root_seed=self._seeds.get(root),
            core_inputs=inputs,
            created_core=created,
            created_in_subview_archived_in_core=frozenset(usage.consumed & in_subviews),
            resolved_keys=usage.resolved_keys,
        )

    def _contract(self, contract_id: str) -> ContractInstance:
        try:
            return self._contracts[contract_id]
        except KeyError:
            raise ViewDecompositionError(
                f"the transaction uses contract {contract_id} but no instance was given for it"
            ) from None


@dataclass(slots=True)
class _CoreUsage:
    """Which contracts the core nodes of one view create, use and consume."""

    creates: list[CreateNode]
    created_ids: set[str]
    used: set[str]
    consumed: set[str]
    resolved_keys: tuple[ResolvedKey, ...]

    @classmethod
    def of(cls, core: list[tuple[NodeId, Node]]) -> _CoreUsage:
        usage = cls([], set(), set(), set(), ())
        keys: dict[tuple[Identifier, Value], ResolvedKey] = {}
        for _, node in core:
            if isinstance(node, CreateNode):
                usage.creates.append(node)
                usage.created_ids.add(node.contract_id)
            elif isinstance(node, (ExerciseNode, FetchNode)):
                usage.used.add(node.contract_id)
                if isinstance(node, ExerciseNode) and node.consuming:
                    usage.consumed.add(node.contract_id)
                if node.by_key and node.key is not None:
                    resolved = ResolvedKey(node.template_id, node.key.key, node.contract_id)
                    keys.setdefault((node.template_id, node.key.key), resolved)
            elif isinstance(node, LookupByKeyNode):
                resolved = ResolvedKey(node.template_id, node.key.key, node.result)
                keys.setdefault((node.template_id, node.key.key), resolved)
        usage.resolved_keys = tuple(keys.values())
        return usage


def view_witnesses(views: tuple[NewView, ...]) -> dict[NodeId, frozenset[Party]]:
    """Root node id of every view -> the parties entitled to see the view: its informees
    and those of all its ancestor views (they see it as a consequence of their action)."""
    out: dict[NodeId, frozenset[Party]] = {}

    def visit(view: NewView, above: frozenset[Party]) -> None:
        entitled = above | view.common_data.informees
        out[view.participant_data.root_node_id] = entitled
        for subview in view.subviews:
            visit(subview, entitled)

    for view in views:
        visit(view, frozenset())
    return out
