"""What a loaded package offers: type information (`TemplateInfo`, `ChoiceInfo`) for value
codecs and the JSON API, and the compiled declarations (`TemplateDef`, `ChoiceDef`,
`KeyDef`) the engine runs. Party functions return what the author's code returned; the
engine flattens (`party_set`) and checks it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.types import Type, TypeCon


@dataclass(frozen=True, slots=True)
class ChoiceInfo:
    name: str
    argument_type: TypeCon  # a record type named ``Template.Choice``
    argument_fields: tuple[tuple[str, Type], ...]
    result_type: Type
    consuming: bool


@dataclass(frozen=True, slots=True)
class TemplateInfo:
    identifier: Identifier
    fields: tuple[tuple[str, Type], ...]
    key_type: Type | None
    choices: tuple[ChoiceInfo, ...]

    @property
    def record_type(self) -> TypeCon:
        return TypeCon(self.identifier)

    def choice(self, name: str) -> ChoiceInfo | None:
        for info in self.choices:
            if info.name == name:
                return info
        return None


@dataclass(frozen=True, slots=True)
class KeyDef:
    type: Type
    value: Callable[[Any], Any]  # contract -> key (Python value)
    maintainers: Callable[[Any], Any]  # key -> party or parties


@dataclass(frozen=True, slots=True)
class ChoiceDef:
    info: ChoiceInfo
    body: Callable[..., Any]  # (contract, ctx, **arguments) -> result
    controllers: Callable[[Any, Mapping[str, Any]], Any]  # (contract, arguments) -> parties
    observers: Callable[[Any, Mapping[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class TemplateDef:
    info: TemplateInfo
    python_class: type
    signatories: Callable[[Any], Any]
    observers: Callable[[Any], Any]
    ensure: Callable[[Any], Any] | None
    key: KeyDef | None
    choices: Mapping[str, ChoiceDef]

    @property
    def identifier(self) -> Identifier:
        return self.info.identifier


def party_set(spec_result: Any) -> Iterable[Any]:
    """Flatten what a party spec returned: a party, None, or an iterable of those.

    Here rather than in `dsl` (interpreted, ADR 16): the engine calls it for every
    signatory, observer and maintainer spec it evaluates."""
    if spec_result is None:
        return ()
    if isinstance(spec_result, str):
        return (spec_result,)
    if isinstance(spec_result, list | tuple | frozenset | set):
        return tuple(p for item in spec_result for p in party_set(item))
    return (spec_result,)  # not a party: the caller reports it
