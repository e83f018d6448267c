"""The contract engine: commands in, a transaction tree out.

Theory of operation
-------------------
`interpret` runs a submission's commands, in order, against a `ContractLookup` (the ledger
as the submitters see it) with the packages of a `PackageRegistry`. Each command adds one
root action (create-and-exercise adds two); the submitters (``act_as``) authorize the roots,
and inside a choice the contract's signatories plus the controllers authorize its children
(the rules are in `engine_run`). The result is a `SubmissionResult`: the `Transaction` in
pre-order, the seed of every create and exercise node, the input contracts read from the
lookup, the keys resolved against it and the contracts created and consumed.

Everything is a function of the arguments: node seeds and contract ids derive from
`transaction_seed` and the node's position (`contract_id`), ledger time comes in as
`ledger_time_us`, Decimal arithmetic runs in a fixed context (38 digits, half-even) so
the caller's decimal settings cannot change a result, and package code reports to the run's
meter, whose counted limits (`engine_limits`) fail the same way wherever the engine runs. So
every participant that re-runs an action gets the same nodes: `reinterpret` re-runs one root
action (a view's) from its seed, which Canton's model-conformance check compares node for
node with what it received.

``read_as`` parties add visibility only; the lookup passed in is expected to have been built
for ``act_as | read_as``, so the engine itself uses ``act_as`` alone (for authorization).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import localcontext as decimal_context

from minicanton.core.errors import InvalidArgument
from minicanton.core.lf.commands import (
    Command,
    CreateAndExerciseCommand,
    CreateCommand,
    ExerciseCommand,
)
from minicanton.core.lf.contract_id import root_node_seed
from minicanton.core.lf.engine_errors import ChoiceNotFound, ContractKeyNotFound
from minicanton.core.lf.engine_run import ContractLookup, Interpretation
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.metering import metered
from minicanton.core.lf.numeric import NUMERIC_CONTEXT
from minicanton.core.lf.package import PackageRegistry
from minicanton.core.lf.package_types import ChoiceDef, TemplateDef
from minicanton.core.lf.transaction import (
    ContractInstance,
    CreateNode,
    ExerciseNode,
    FetchNode,
    Node,
    NodeId,
    Transaction,
)
from minicanton.core.lf.typecheck import check_value
from minicanton.core.lf.types import TypeCon
from minicanton.core.lf.value import RecordValue, UnitValue, Value

__all__ = ["ContractLookup", "SubmissionResult", "interpret", "reinterpret"]

@dataclass(frozen=True, slots=True)
class SubmissionResult:
    transaction: Transaction
    node_seeds: Mapping[NodeId, bytes]  # every create and exercise node
    input_contracts: Mapping[str, ContractInstance]  # read from the lookup, in first-use order
    ledger_time_us: int
    resolved_keys: Mapping[tuple[Identifier, Value], str | None]  # answers of lookup_key
    created_contracts: Mapping[str, ContractInstance]  # every contract created, in order
    consumed_contracts: tuple[str, ...]  # every contract archived, inputs or created

    def __init__(
        self,
        transaction: Transaction,
        node_seeds: Mapping[NodeId, bytes],
        input_contracts: Mapping[str, ContractInstance],
        ledger_time_us: int,
        resolved_keys: Mapping[tuple[Identifier, Value], str | None],
        created_contracts: Mapping[str, ContractInstance],
        consumed_contracts: tuple[str, ...],
    ) -> None:
        object.__setattr__(self, "transaction", transaction)
        object.__setattr__(self, "node_seeds", node_seeds)
        object.__setattr__(self, "input_contracts", input_contracts)
        object.__setattr__(self, "ledger_time_us", ledger_time_us)
        object.__setattr__(self, "resolved_keys", resolved_keys)
        object.__setattr__(self, "created_contracts", created_contracts)
        object.__setattr__(self, "consumed_contracts", consumed_contracts)

    @property
    def active_created(self) -> tuple[ContractInstance, ...]:
        """Contracts created and still active at the end of the transaction."""
        consumed = set(self.consumed_contracts)
        return tuple(c for cid, c in self.created_contracts.items() if cid not in consumed)


def interpret(
    commands: Sequence[Command],
    act_as: frozenset[str],
    read_as: frozenset[str],
    ledger_time_us: int,
    transaction_seed: bytes,
    contracts: ContractLookup,
    registry: PackageRegistry,
) -> SubmissionResult:
    """Interpret a submission; raises a typed `MinicantonError` on any failure."""
    if not act_as:
        raise InvalidArgument("a submission needs at least one acting party")
    if not commands:
        raise InvalidArgument("a submission needs at least one command")
    run = Interpretation(registry, contracts, ledger_time_us)
    with decimal_context(NUMERIC_CONTEXT), metered(run.meter):
        roots: list[NodeId] = []
        for command in commands:
            _run_command(run, command, frozenset(act_as), transaction_seed, roots)
        return _result(run, tuple(roots))


def reinterpret(
    action: Node,
    node_seed: bytes,
    ledger_time_us: int,
    contracts: ContractLookup,
    registry: PackageRegistry,
    *,
    authorizers: frozenset[str] | None = None,
) -> SubmissionResult:
    """Re-run one root action from its seed; its node is node 0 of the result.

    Creates and key lookups take `authorizers` as given (None: not checked here); exercises
    and fetches default to the action's own acting parties.
    """
    run = Interpretation(registry, contracts, ledger_time_us)
    with decimal_context(NUMERIC_CONTEXT), metered(run.meter):
        template = registry.template(action.template_id)
        env = registry.type_environment()
        if isinstance(action, CreateNode):
            argument = _record(check_value(action.argument, TypeCon(template.identifier), env,
                                           "argument"))
            run.create(node_seed, template, argument, authorizers)
        elif isinstance(action, ExerciseNode):
            choice = _choice(template, action.choice)
            argument = _choice_argument(choice, action.choice_argument, registry)
            acting = action.acting_parties if authorizers is None else authorizers
            run.exercise(
                node_seed, template, choice, action.contract_id, argument, acting, action.by_key
            )
        elif isinstance(action, FetchNode):
            acting = action.acting_parties if authorizers is None else authorizers
            run.fetch(template, action.contract_id, acting, action.by_key)
        else:
            key = check_value(action.key.key, run.key_def(template).type, env, "key")
            run.lookup_by_key(template, key, authorizers)
        return _result(run, (NodeId(0),))


def _run_command(
    run: Interpretation,
    command: Command,
    act_as: frozenset[str],
    transaction_seed: bytes,
    roots: list[NodeId],
) -> None:
    registry = run.registry
    template = registry.template(registry.resolve(command.template))
    env = registry.type_environment()

    def next_seed() -> bytes:
        return root_node_seed(transaction_seed, len(roots))

    if isinstance(command, CreateCommand | CreateAndExerciseCommand):
        raw = command.argument if isinstance(command, CreateCommand) else command.create_argument
        argument = _record(check_value(raw, TypeCon(template.identifier), env, "argument"))
        node_id, contract_id = run.create(next_seed(), template, argument, act_as)
        roots.append(node_id)
        if isinstance(command, CreateCommand):
            return
        choice_name, choice_raw, by_key = command.choice, command.choice_argument, False
    elif isinstance(command, ExerciseCommand):
        contract_id, by_key = command.contract_id, False
        choice_name, choice_raw = command.choice, command.argument
    else:
        key = check_value(command.key, run.key_def(template).type, env, "key")
        found = run.resolve_key(template.identifier, key)
        if found is None:
            raise ContractKeyNotFound(
                f"no active {template.identifier.qualified_name} with key {key} is visible"
            )
        contract_id, by_key = found, True
        choice_name, choice_raw = command.choice, command.argument
    choice = _choice(template, choice_name)
    argument = _choice_argument(choice, choice_raw, registry)
    node_id, _ = run.exercise(next_seed(), template, choice, contract_id, argument, act_as, by_key)
    roots.append(node_id)


def _choice(template: TemplateDef, name: str) -> ChoiceDef:
    choice = template.choices.get(name)
    if choice is None:
        known = ", ".join(sorted(template.choices))
        raise ChoiceNotFound(
            f"template {template.identifier.qualified_name} has no choice {name!r} "
            f"(it has: {known})"
        )
    return choice


def _choice_argument(choice: ChoiceDef, raw: Value, registry: PackageRegistry) -> RecordValue:
    if isinstance(raw, UnitValue) and not choice.info.argument_fields:
        raw = RecordValue(None, ())  # `{}` or unit for a choice without arguments
    env = registry.type_environment()
    return _record(check_value(raw, choice.info.argument_type, env, "choice_argument"))


def _record(value: Value) -> RecordValue:
    assert isinstance(value, RecordValue)  # check_value against a record type returns one
    return value


def _result(run: Interpretation, roots: tuple[NodeId, ...]) -> SubmissionResult:
    return SubmissionResult(
        transaction=Transaction(run.finished_nodes(), roots),
        node_seeds=dict(sorted(run.node_seeds.items())),
        input_contracts=dict(run.inputs),
        ledger_time_us=run.ledger_time_us,
        resolved_keys=dict(run.resolved_keys),
        created_contracts=dict(run.created),
        consumed_contracts=tuple(run.consumed),
    )
