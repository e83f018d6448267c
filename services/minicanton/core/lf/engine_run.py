"""One interpretation in progress: the actions, the ledger state they see, and Daml's rules.

Theory of operation
-------------------
An `Interpretation` is the mutable state of one run of the engine (a submission or the
re-interpretation of one view's root action). It offers the four ledger actions — `create`,
`exercise`, `fetch`, `lookup_by_key` — each of which checks Daml's rules and appends one
node (an exercise first reserves its slot, so node ids stay in pre-order):

- authorization: a create needs every signatory among the authorizers and key maintainers
  among the signatories; an exercise needs every controller; a fetch needs an authorizer
  among the stakeholders (its actors are those); a key lookup needs every maintainer. Inside
  a choice the authorizers are the contract's signatories plus the choice's controllers.
  ``authorizers=None`` (only for the root action of a re-interpretation) skips the check:
  the validator checks the root's authorization from the view itself.
- activeness: a consuming exercise archives its contract *before* its body runs; a later use
  in the same transaction is `ContractNotActive`.
- keys: resolved first against this transaction (created → id, archived → none), else once
  against the `ContractLookup`; creating a contract whose key resolves to an active one is
  `DuplicateContractKey`.

Contract-logic functions (bodies, party and key functions, ensure) run through `_call`, which
turns a Python error raised by package code into `UnhandledException` with its package line.
Its `meter` counts package calls and nested exercises against the fixed limits of
`engine_limits` (the engine reports package code to it while it runs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from minicanton.core.errors import MinicantonError
from minicanton.core.lf.contract_id import derive_contract_id
from minicanton.core.lf.engine_context import ChoiceContext
from minicanton.core.lf.engine_errors import (
    ContractNotActive,
    ContractNotFound,
    DuplicateContractKey,
    FailedAuthorization,
    InterpretationError,
    TemplateHasNoKey,
    TemplatePreconditionViolated,
    UnhandledException,
    WronglyTypedContract,
)
from minicanton.core.lf.engine_limits import InterpretationMeter
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.package import package_line_of
from minicanton.core.lf.package_types import ChoiceDef, KeyDef, TemplateDef, party_set
from minicanton.core.lf.transaction import (
    ContractInstance,
    CreateNode,
    ExerciseNode,
    FetchNode,
    KeyWithMaintainers,
    LookupByKeyNode,
    Node,
    NodeId,
)
from minicanton.core.lf.typecheck import from_python, to_python
from minicanton.core.lf.types import TypeCon
from minicanton.core.lf.value import PartyValue, RecordValue, Value

if TYPE_CHECKING:
    from minicanton.core.lf.package import PackageRegistry


class ContractLookup(Protocol):
    """The ledger as the submitting (or validating) parties see it."""

    def lookup_contract(self, contract_id: str) -> ContractInstance | None:
        """The active contract, or None if absent, archived or not visible."""
        ...

    def lookup_key(self, template_id: Identifier, key: Value) -> str | None:
        """The id of the visible active contract with this key, if any."""
        ...


KeyRef = tuple[Identifier, Value]


class Interpretation:
    def __init__(
        self, registry: PackageRegistry, contracts: ContractLookup, ledger_time_us: int
    ) -> None:
        self.registry = registry
        self.contracts = contracts
        self.ledger_time_us = ledger_time_us
        self.nodes: list[Node | None] = []
        self.node_seeds: dict[NodeId, bytes] = {}
        self.inputs: dict[str, ContractInstance] = {}
        self.created: dict[str, ContractInstance] = {}
        self.consumed: list[str] = []
        self.resolved_keys: dict[KeyRef, str | None] = {}
        self._consumed_set: set[str] = set()
        self._keys: dict[KeyRef, str | None] = {}
        self.meter = InterpretationMeter()  # engine.py reports package code to it

    # ------------------------------------------------------------------------- actions

    def create(
        self,
        seed: bytes,
        template: TemplateDef,
        argument: RecordValue,
        authorizers: frozenset[str] | None,
    ) -> tuple[NodeId, str]:
        template_id = template.identifier
        contract = to_python(argument, TypeCon(template_id), self.registry)
        what = f"create of {template_id.qualified_name}"
        if template.ensure is not None and not self._call(template.ensure, contract):
            raise TemplatePreconditionViolated(f"{what}: the template's ensure clause failed")
        signatories = self.parties(
            self._call(template.signatories, contract), f"{what}: signatories"
        )
        if not signatories:
            raise InterpretationError(f"{what}: a contract needs at least one signatory")
        observers = self.parties(self._call(template.observers, contract), f"{what}: observers")
        key = self._key_of(template, contract, what) if template.key else None
        if key is not None and not key.maintainers <= signatories:
            missing = key.maintainers - signatories
            raise FailedAuthorization(
                f"{what}: key maintainers {_show(missing)} are not signatories", missing
            )
        if authorizers is not None:
            self.authorize(signatories, authorizers, what)
        if key is not None and self.resolve_key(template_id, key.key) is not None:
            raise DuplicateContractKey(f"{what}: an active contract already has key {key.key}")
        contract_id = derive_contract_id(seed, self.ledger_time_us, template_id, argument)
        node_id = self._append(
            CreateNode(contract_id, template_id, argument, signatories, observers, key)
        )
        self.node_seeds[node_id] = seed
        self.created[contract_id] = ContractInstance(
            contract_id, template_id, argument, signatories, observers, key, self.ledger_time_us
        )
        if key is not None:
            self._keys[(template_id, key.key)] = contract_id
        return node_id, contract_id

    def exercise(
        self,
        seed: bytes,
        template: TemplateDef,
        choice: ChoiceDef,
        contract_id: str,
        argument: RecordValue,
        authorizers: frozenset[str] | None,
        by_key: bool = False,
    ) -> tuple[NodeId, Value]:
        instance = self.active_contract(contract_id, template)
        contract = to_python(instance.argument, TypeCon(template.identifier), self.registry)
        arguments = self.choice_arguments(choice, argument)
        what = f"exercise of {template.identifier.qualified_name}.{choice.info.name}"
        controllers, choice_observers = self._choice_parties(
            choice, contract, arguments, authorizers, what
        )
        node_id = self._reserve()
        if choice.info.consuming:
            self._consume(instance)
        context = ChoiceContext(self, seed, instance.signatories | controllers)
        outcome = self._run_body(choice, contract, context, arguments)
        result = from_python(outcome, choice.info.result_type, self.registry, f"{what} result")
        self.nodes[node_id] = ExerciseNode(
            contract_id=contract_id,
            template_id=template.identifier,
            choice=choice.info.name,
            choice_argument=argument,
            acting_parties=controllers,
            consuming=choice.info.consuming,
            signatories=instance.signatories,
            stakeholders=instance.stakeholders,
            choice_observers=choice_observers,
            children=context.child_nodes(),
            exercise_result=result,
            key=instance.key,
            by_key=by_key,
        )
        self.node_seeds[node_id] = seed
        return node_id, result

    def _run_body(
        self, choice: ChoiceDef, contract: Any, context: ChoiceContext, arguments: dict[str, Any]
    ) -> Any:
        self.meter.enter_exercise()
        try:
            return self._call(choice.body, contract, context, **arguments)
        finally:
            self.meter.leave_exercise()

    def _choice_parties(
        self,
        choice: ChoiceDef,
        contract: Any,
        arguments: dict[str, Any],
        authorizers: frozenset[str] | None,
        what: str,
    ) -> tuple[frozenset[str], frozenset[str]]:
        """The controllers (checked against the authorizers) and the choice observers."""
        controllers = self.parties(
            self._call(choice.controllers, contract, arguments), f"{what}: controllers"
        )
        if not controllers:
            raise InterpretationError(f"{what}: the choice has no controllers")
        if authorizers is not None:
            self.authorize(controllers, authorizers, what)
        observers = self.parties(
            self._call(choice.observers, contract, arguments), f"{what}: choice observers"
        )
        return controllers, observers

    def fetch(
        self, template: TemplateDef, contract_id: str, authorizers: frozenset[str], by_key: bool
    ) -> tuple[NodeId, ContractInstance]:
        instance = self.active_contract(contract_id, template)
        acting = authorizers & instance.stakeholders
        if not acting:
            raise FailedAuthorization(
                f"fetch of {template.identifier.qualified_name} {contract_id} needs one of its "
                f"stakeholders {_show(instance.stakeholders)} to authorize; "
                f"authorizers are {_show(authorizers)}",
                instance.stakeholders,
            )
        node = FetchNode(
            contract_id, template.identifier, acting, instance.signatories,
            instance.stakeholders, instance.key, by_key,
        )
        return self._append(node), instance

    def lookup_by_key(
        self, template: TemplateDef, key: Value, authorizers: frozenset[str] | None
    ) -> tuple[NodeId, str | None]:
        what = f"lookup by key of {template.identifier.qualified_name}"
        maintainers = self.maintainers(template, key, what)
        if authorizers is not None:
            self.authorize(maintainers, authorizers, what)
        found = self.resolve_key(template.identifier, key)
        node = LookupByKeyNode(template.identifier, KeyWithMaintainers(key, maintainers), found)
        return self._append(node), found

    # ------------------------------------------------------------------------ the rules

    def authorize(self, required: frozenset[str], authorizers: frozenset[str], what: str) -> None:
        missing = required - authorizers
        if missing:
            raise FailedAuthorization(
                f"{what} requires authorization of {_show(required)}; missing {_show(missing)} "
                f"(authorizers: {_show(authorizers)})",
                missing,
            )

    def active_contract(self, contract_id: str, template: TemplateDef) -> ContractInstance:
        if contract_id in self._consumed_set:
            raise ContractNotActive(contract_id)
        instance = self.created.get(contract_id) or self.inputs.get(contract_id)
        if instance is None:
            instance = self.contracts.lookup_contract(contract_id)
            if instance is None or instance.contract_id != contract_id:
                raise ContractNotFound(contract_id)
            self.inputs[contract_id] = instance
        if instance.template_id != template.identifier:
            raise WronglyTypedContract(
                f"contract {contract_id} is a {instance.template_id.qualified_name}, "
                f"not a {template.identifier.qualified_name}"
            )
        return instance

    def resolve_key(self, template_id: Identifier, key: Value) -> str | None:
        """The active contract with this key, as this transaction has left things."""
        ref = (template_id, key)
        if ref in self._keys:
            return self._keys[ref]
        found = self.contracts.lookup_key(template_id, key)
        self.resolved_keys[ref] = found
        if found is not None and found in self._consumed_set:
            found = None
        self._keys[ref] = found
        return found

    def maintainers(self, template: TemplateDef, key: Value, what: str) -> frozenset[str]:
        key_def = self.key_def(template)
        key_object = to_python(key, key_def.type, self.registry)
        maintainers = self.parties(self._call(key_def.maintainers, key_object),
                                   f"{what}: maintainers")
        if not maintainers:
            raise InterpretationError(f"{what}: a key needs at least one maintainer")
        return maintainers

    def key_def(self, template: TemplateDef) -> KeyDef:
        if template.key is None:
            raise TemplateHasNoKey(f"template {template.identifier.qualified_name} has no key")
        return template.key

    def choice_arguments(self, choice: ChoiceDef, argument: RecordValue) -> dict[str, Any]:
        given = dict(argument.fields)
        return {
            name: to_python(given[name], field_type, self.registry)
            for name, field_type in choice.info.argument_fields
        }

    def parties(self, spec_result: Any, what: str) -> frozenset[str]:
        found = set()
        for party in party_set(spec_result):
            if not isinstance(party, str):
                raise InterpretationError(f"{what} must be parties, got {type(party).__name__}")
            found.add(PartyValue(party).value)
        return frozenset(found)

    # ------------------------------------------------------------------------- plumbing

    def _key_of(self, template: TemplateDef, contract: Any, what: str) -> KeyWithMaintainers:
        key_def = self.key_def(template)
        key = from_python(self._call(key_def.value, contract), key_def.type, self.registry, "key")
        return KeyWithMaintainers(key, self.maintainers(template, key, what))

    def _consume(self, instance: ContractInstance) -> None:
        self.consumed.append(instance.contract_id)
        self._consumed_set.add(instance.contract_id)
        if instance.key is not None:
            self._keys[(instance.template_id, instance.key.key)] = None

    def _reserve(self) -> NodeId:
        self.nodes.append(None)
        return NodeId(len(self.nodes) - 1)

    def _append(self, node: Node) -> NodeId:
        self.nodes.append(node)
        return NodeId(len(self.nodes) - 1)

    def finished_nodes(self) -> tuple[Node, ...]:
        nodes = tuple(node for node in self.nodes if node is not None)
        assert len(nodes) == len(self.nodes), "an exercise node was left unfinished"
        return nodes

    def _call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return call_package_code(function, *args, **kwargs)


def call_package_code(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run contract logic, turning a Python error it raises into `UnhandledException`."""
    try:
        return function(*args, **kwargs)
    except MinicantonError:
        raise
    except RecursionError:
        # The counted limits (engine_limits) fire long before Python's own in any reasonable
        # caller; this is the last resort if the caller's stack was already nearly full.
        raise UnhandledException(
            "RecursionError: the host's Python stack ran out before the engine's depth limits"
        ) from None
    except Exception as error:
        message = f"{type(error).__name__}: {error}"
        raise UnhandledException(message, package_line_of(error)) from None


def _show(parties: frozenset[str] | set[str]) -> str:
    return "{" + ", ".join(sorted(parties)) + "}"
