"""Daml-LF types, used to type-check arguments and to decode type-directed JSON.

A `TypeCon` names a user-defined data type (record, variant or enum) that a package declares;
its definition lives in a `TypeEnvironment` (what the packages define), so decoding a value
needs both the type and the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from minicanton.core.lf.identifier import Identifier


@dataclass(frozen=True, slots=True)
class TUnit:
    pass


@dataclass(frozen=True, slots=True)
class TBool:
    pass


@dataclass(frozen=True, slots=True)
class TInt64:
    pass


@dataclass(frozen=True, slots=True)
class TNumeric:
    scale: int = 10


@dataclass(frozen=True, slots=True)
class TText:
    pass


@dataclass(frozen=True, slots=True)
class TParty:
    pass


@dataclass(frozen=True, slots=True)
class TContractId:
    """`ContractId t`; `template` is None when the template is not statically known."""

    template: Identifier | None = None


@dataclass(frozen=True, slots=True)
class TDate:
    pass


@dataclass(frozen=True, slots=True)
class TTimestamp:
    pass


@dataclass(frozen=True, slots=True)
class TList:
    element: Type


@dataclass(frozen=True, slots=True)
class TOptional:
    element: Type


@dataclass(frozen=True, slots=True)
class TTextMap:
    value: Type


@dataclass(frozen=True, slots=True)
class TGenMap:
    key: Type
    value: Type


@dataclass(frozen=True, slots=True)
class TypeCon:
    """A reference to a record, variant or enum defined in a package."""

    identifier: Identifier

    def __init__(self, identifier: Identifier) -> None:
        object.__setattr__(self, "identifier", identifier)


Type = (
    TUnit
    | TBool
    | TInt64
    | TNumeric
    | TText
    | TParty
    | TContractId
    | TDate
    | TTimestamp
    | TList
    | TOptional
    | TTextMap
    | TGenMap
    | TypeCon
)


@dataclass(frozen=True, slots=True)
class RecordDef:
    fields: tuple[tuple[str, Type], ...]


@dataclass(frozen=True, slots=True)
class VariantDef:
    constructors: tuple[tuple[str, Type], ...]


@dataclass(frozen=True, slots=True)
class EnumDef:
    constructors: tuple[str, ...]


DataTypeDef = (
    RecordDef
    | VariantDef
    | EnumDef
)
TypeEnvironment = Mapping[Identifier, DataTypeDef]
