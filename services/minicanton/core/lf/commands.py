"""The commands a submission carries (Daml's Ledger API ``Command`` cases).

Templates are named as a user writes them (`TemplateReference`: ``module:Entity`` or
``package_id:module:Entity``); arguments are core values that the engine type-checks against
the template, so errors come back with the path of the offending field.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from minicanton.core.lf.identifier import Identifier, TemplateReference
from minicanton.core.lf.value import Value, referenced_contracts


def template_reference(template: TemplateReference | Identifier | str) -> TemplateReference:
    """Accept the ways callers name a template and return one `TemplateReference`."""
    if isinstance(template, TemplateReference):
        return template
    if isinstance(template, Identifier):
        return TemplateReference(template.package_id, template.module_name, template.entity_name)
    return TemplateReference.parse(template)


@dataclass(frozen=True, slots=True)
class CreateCommand:
    template: TemplateReference
    argument: Value  # any value: the engine checks it against the template (ValueTypeError)


@dataclass(frozen=True, slots=True)
class ExerciseCommand:
    template: TemplateReference
    contract_id: str
    choice: str
    argument: Value


@dataclass(frozen=True, slots=True)
class ExerciseByKeyCommand:
    template: TemplateReference
    key: Value
    choice: str
    argument: Value


@dataclass(frozen=True, slots=True)
class CreateAndExerciseCommand:
    """Create a contract and exercise a choice on it: two root actions in one transaction."""

    template: TemplateReference
    create_argument: Value  # checked against the template like CreateCommand.argument
    choice: str
    choice_argument: Value


Command = CreateCommand | ExerciseCommand | ExerciseByKeyCommand | CreateAndExerciseCommand


def named_contracts(commands: Iterable[Command]) -> set[str]:
    """The contracts commands name: exercise targets and contract ids in arguments."""
    named: set[str] = set()
    for command in commands:
        if isinstance(command, ExerciseCommand):
            named.add(command.contract_id)
            named |= referenced_contracts(command.argument)
        elif isinstance(command, CreateCommand):
            named |= referenced_contracts(command.argument)
        elif isinstance(command, CreateAndExerciseCommand):
            named |= referenced_contracts(command.create_argument)
            named |= referenced_contracts(command.choice_argument)
        elif isinstance(command, ExerciseByKeyCommand):
            named |= referenced_contracts(command.argument)
    return named
