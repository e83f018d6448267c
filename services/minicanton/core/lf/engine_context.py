"""The `ctx` a choice body receives: the DSL's `Context`, backed by an `Interpretation`.

Each call that acts on the ledger becomes the next child action of the exercise being run:
its seed is derived from the exercise's seed and its position among the children
(`contract_id.child_node_seed`), and it is authorized by the exercise's authorizers (the
contract's signatories and the choice's controllers). Values cross the boundary through
`typecheck`: Python values from the body are checked against the declared types, values
handed back are converted to their Python form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from minicanton.core.lf.contract_id import child_node_seed
from minicanton.core.lf.dsl import ChoiceDeclaration, DataObject
from minicanton.core.lf.engine_errors import (
    AssertionFailed,
    ContractKeyNotFound,
    InterpretationError,
)
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.package_types import ChoiceDef, TemplateDef
from minicanton.core.lf.transaction import NodeId
from minicanton.core.lf.typecheck import ValueTypeError, from_python, to_python
from minicanton.core.lf.types import TypeCon
from minicanton.core.lf.value import RecordValue, Value

if TYPE_CHECKING:
    from minicanton.core.lf.engine_run import Interpretation

_ARCHIVE = "Archive"


class ChoiceContext:
    """Implements `minicanton.dsl.Context` for one running exercise."""

    __slots__ = ("_authorizers", "_children", "_run", "_seed")

    def __init__(self, run: Interpretation, seed: bytes, authorizers: frozenset[str]) -> None:
        self._run = run
        self._seed = seed
        self._authorizers = authorizers
        # Private, so package code (which may not touch `_` attributes) cannot edit the tree.
        self._children: list[NodeId] = []

    def __repr__(self) -> str:
        return "<choice context>"

    def child_nodes(self) -> tuple[NodeId, ...]:
        """The child actions added so far, in order (what the engine puts in the node)."""
        return tuple(self._children)

    def _next_seed(self) -> bytes:
        return child_node_seed(self._seed, len(self._children))

    def create(self, contract: Any) -> str:
        if not isinstance(contract, DataObject):
            raise InterpretationError(f"create needs a template instance, got {contract!r}")
        template = self._template_of(type(contract))
        argument = from_python(contract, TypeCon(template.identifier), self._run.registry,
                               "argument")
        assert isinstance(argument, RecordValue)
        node_id, contract_id = self._run.create(
            self._next_seed(), template, argument, self._authorizers
        )
        self._children.append(node_id)
        return contract_id

    def exercise(self, contract_id: str, choice: Any, /, **arguments: Any) -> Any:
        template, choice_def = self._choice_of(choice)
        return self._exercise(template, choice_def, _contract_id(contract_id), arguments, False)

    def exercise_by_key(self, choice: Any, key: Any, /, **arguments: Any) -> Any:
        template, choice_def = self._choice_of(choice)
        contract_id = self._resolve_key(template, self._key_value(template, key))
        return self._exercise(template, choice_def, contract_id, arguments, True)

    def fetch(self, contract_id: str, template: type) -> Any:
        template_def = self._template_of(template)
        node_id, instance = self._run.fetch(
            template_def, _contract_id(contract_id), self._authorizers, by_key=False
        )
        self._children.append(node_id)
        return self._python_contract(template_def, instance.argument)

    def fetch_by_key(self, template: type, key: Any) -> tuple[str, Any]:
        template_def = self._template_of(template)
        contract_id = self._resolve_key(template_def, self._key_value(template_def, key))
        node_id, instance = self._run.fetch(
            template_def, contract_id, self._authorizers, by_key=True
        )
        self._children.append(node_id)
        return contract_id, self._python_contract(template_def, instance.argument)

    def lookup_by_key(self, template: type, key: Any) -> str | None:
        template_def = self._template_of(template)
        node_id, found = self._run.lookup_by_key(
            template_def, self._key_value(template_def, key), self._authorizers
        )
        self._children.append(node_id)
        return found

    def archive(self, contract_id: str, template: type) -> None:
        template_def = self._template_of(template)
        self._exercise(
            template_def, template_def.choices[_ARCHIVE], _contract_id(contract_id), {}, False
        )

    def assert_(self, condition: Any, message: str = "") -> None:
        if not condition:
            raise AssertionFailed(str(message) or "assertion failed")

    def get_time(self) -> int:
        return self._run.ledger_time_us

    # ------------------------------------------------------------------------- helpers

    def _exercise(
        self,
        template: TemplateDef,
        choice: ChoiceDef,
        contract_id: str,
        arguments: dict[str, Any],
        by_key: bool,
    ) -> Any:
        argument = self._choice_argument(template, choice, arguments)
        node_id, result = self._run.exercise(
            self._next_seed(), template, choice, contract_id, argument, self._authorizers, by_key
        )
        self._children.append(node_id)
        return to_python(result, choice.info.result_type, self._run.registry)

    def _choice_argument(
        self, template: TemplateDef, choice: ChoiceDef, arguments: dict[str, Any]
    ) -> RecordValue:
        path = f"{template.identifier.qualified_name}.{choice.info.name} argument"
        declared = dict(choice.info.argument_fields)
        unknown = sorted(set(arguments) - set(declared))
        if unknown:
            raise ValueTypeError(f"{path}.{unknown[0]}", "unknown choice argument")
        fields: list[tuple[str, Value]] = []
        for name, field_type in choice.info.argument_fields:
            if name not in arguments:
                raise ValueTypeError(f"{path}.{name}", "missing choice argument")
            value = from_python(arguments[name], field_type, self._run.registry, f"{path}.{name}")
            fields.append((name, value))
        return RecordValue(choice.info.argument_type.identifier, tuple(fields))

    def _template_of(self, template: Any) -> TemplateDef:
        identifier = getattr(template, "_mc_identifier", None)
        if not isinstance(identifier, Identifier):
            raise InterpretationError(f"{template!r} is not a template of a loaded package")
        return self._run.registry.template(identifier)

    def _choice_of(self, choice: Any) -> tuple[TemplateDef, ChoiceDef]:
        if not isinstance(choice, ChoiceDeclaration) or choice.owner is None:
            raise InterpretationError(
                f"exercise needs a choice such as Iou.Transfer, got {choice!r}"
            )
        template = self._template_of(choice.owner)
        return template, template.choices[choice.name]

    def _key_value(self, template: TemplateDef, key: Any) -> Value:
        key_def = self._run.key_def(template)
        return from_python(key, key_def.type, self._run.registry, "key")

    def _resolve_key(self, template: TemplateDef, key: Value) -> str:
        contract_id = self._run.resolve_key(template.identifier, key)
        if contract_id is None:
            raise ContractKeyNotFound(
                f"no active {template.identifier.qualified_name} with key {key} is visible"
            )
        return contract_id

    def _python_contract(self, template: TemplateDef, argument: RecordValue) -> Any:
        return to_python(argument, TypeCon(template.identifier), self._run.registry)


def _contract_id(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueTypeError("contract_id", f"expected a contract id, got {value!r}")
    return value
