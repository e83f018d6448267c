"""Hypothesis strategies for Daml-LF types, type environments and values of those types.

Import them from any test as ``from tests.unit.lf.strategies import typed_values`` (pytest
runs from the repository root, which `pythonpath = ["."]` in pyproject.toml puts on
``sys.path``; ``tests`` is a namespace package).

- `types_with_env()` draws ``(type, env)``: any Daml-LF type, with the records, variants and
  enums it mentions (nested in each other, in lists, optionals and maps) defined in `env`.
- `values_of(type_, env)` draws values of that type, type ids included, so that the
  type-directed JSON codec reads back exactly the value it was given.
- `typed_values()` draws ``(type, env, value)`` triples; `values()` just values.

A data type's identifier is derived from its definition, so two equal definitions drawn in
different places share one id and never conflict in `env`.
"""

from __future__ import annotations

import functools
import hashlib
from decimal import Decimal

from hypothesis import strategies as st

from minicanton.core.lf.binary_codec import numeric_value
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.types import (
    DataTypeDef,
    EnumDef,
    RecordDef,
    TBool,
    TContractId,
    TDate,
    TGenMap,
    TInt64,
    TList,
    TNumeric,
    TOptional,
    TParty,
    TText,
    TTextMap,
    TTimestamp,
    TUnit,
    Type,
    TypeCon,
    TypeEnvironment,
    VariantDef,
)
from minicanton.core.lf.value import (
    DATE_MAX_DAYS,
    DATE_MIN_DAYS,
    INT64_MAX,
    INT64_MIN,
    NUMERIC_PRECISION,
    NUMERIC_SCALE,
    TIMESTAMP_MAX_US,
    TIMESTAMP_MIN_US,
    BoolValue,
    ContractIdValue,
    DateValue,
    EnumValue,
    GenMapValue,
    Int64Value,
    ListValue,
    OptionalValue,
    PartyValue,
    RecordValue,
    TextMapValue,
    TextValue,
    TimestampValue,
    UnitValue,
    Value,
    VariantValue,
)

TEST_PACKAGE_ID = "0" * 64
TypedEnv = tuple[Type, dict[Identifier, DataTypeDef]]

_SCALAR_TYPES: tuple[Type, ...] = (
    TUnit(), TBool(), TInt64(), TNumeric(), TText(), TParty(), TContractId(), TDate(),
    TTimestamp(),
)
_names = st.from_regex(r"[a-z][a-zA-Z0-9_]{0,7}", fullmatch=True)
_constructor_names = st.from_regex(r"[A-Z][a-zA-Z0-9_]{0,7}", fullmatch=True)


# --------------------------------------------------------------------------------- values


def int64s() -> st.SearchStrategy[int]:
    return st.one_of(
        st.sampled_from([INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX - 1, INT64_MAX]),
        st.integers(INT64_MIN, INT64_MAX),
    )


def numerics() -> st.SearchStrategy[Decimal]:
    """Any Numeric 10: up to 38 digits, 10 after the point, bounds and zero included."""
    limit = 10**NUMERIC_PRECISION - 1
    unscaled = st.one_of(
        st.sampled_from([-limit, -1, 0, 1, limit, 10**NUMERIC_SCALE]),
        st.integers(-(10**14), 10**14),
        st.integers(-limit, limit),
    )
    # From text, since Decimal arithmetic would round to the context's 28 digits.
    return unscaled.map(lambda n: numeric_value(Decimal(f"{n}e-{NUMERIC_SCALE}")).value)


def _party_ids() -> st.SearchStrategy[str]:
    hint = st.text(st.characters(codec="utf-8"), min_size=1, max_size=12)
    return st.one_of(hint, st.sampled_from(["Alice::1220ab", "x" * 255]))


_TEXT = st.text(st.characters(codec="utf-8"), max_size=20)
_SCALAR_VALUES: dict[type, st.SearchStrategy[Value]] = {
    TUnit: st.just(UnitValue()),
    TBool: st.builds(BoolValue, st.booleans()),
    TInt64: st.builds(Int64Value, int64s()),
    TNumeric: numerics().map(numeric_value),
    TText: st.builds(TextValue, _TEXT),
    TParty: st.builds(PartyValue, _party_ids()),
    TContractId: st.builds(ContractIdValue, _party_ids()),
    TDate: st.builds(DateValue, st.one_of(
        st.sampled_from([DATE_MIN_DAYS, 0, DATE_MAX_DAYS]),
        st.integers(DATE_MIN_DAYS, DATE_MAX_DAYS),
    )),
    TTimestamp: st.builds(TimestampValue, st.one_of(
        st.sampled_from([TIMESTAMP_MIN_US, -1, 0, 1000, TIMESTAMP_MAX_US]),
        st.integers(TIMESTAMP_MIN_US, TIMESTAMP_MAX_US),
    )),
}
_SIZES = st.integers(0, 3)
_MAP_KEYS = st.text(st.characters(codec="utf-8"), max_size=6)


@st.composite
def values_of(draw: st.DrawFn, type_: Type, env: TypeEnvironment) -> Value:
    """Values of `type_`; records, variants and enums carry their type id."""
    return _draw_value(draw, type_, env)


def _draw_value(draw: st.DrawFn, type_: Type, env: TypeEnvironment) -> Value:
    # Drawn directly rather than by building a strategy per type: hypothesis validates every
    # new strategy, which made generation ten times slower.
    if isinstance(type_, TList):
        return ListValue(tuple(_draw_value(draw, type_.element, env) for _ in range(draw(_SIZES))))
    if isinstance(type_, TOptional):
        present = draw(st.booleans())
        return OptionalValue(_draw_value(draw, type_.element, env) if present else None)
    if isinstance(type_, TTextMap):
        keys = {draw(_MAP_KEYS) for _ in range(draw(_SIZES))}
        return TextMapValue(tuple((key, _draw_value(draw, type_.value, env)) for key in keys))
    if isinstance(type_, TGenMap):
        entries: dict[Value, Value] = {}
        for _ in range(draw(_SIZES)):
            key = _draw_value(draw, type_.key, env)
            entries.setdefault(key, _draw_value(draw, type_.value, env))
        return GenMapValue(tuple(entries.items()))
    if isinstance(type_, TypeCon):
        return _draw_data(draw, type_.identifier, env)
    return draw(_SCALAR_VALUES[type(type_)])


def _draw_data(draw: st.DrawFn, identifier: Identifier, env: TypeEnvironment) -> Value:
    definition = env[identifier]
    if isinstance(definition, EnumDef):
        return EnumValue(identifier, draw(st.sampled_from(definition.constructors)))
    if isinstance(definition, RecordDef):
        return RecordValue(identifier, tuple(
            (label, _draw_value(draw, field_type, env)) for label, field_type in definition.fields
        ))
    constructor, argument = draw(st.sampled_from(definition.constructors))
    return VariantValue(identifier, constructor, _draw_value(draw, argument, env))


# ---------------------------------------------------------------------------------- types


def _identifier_for(kind: str, definition: DataTypeDef) -> Identifier:
    digest = hashlib.sha256(repr(definition).encode()).hexdigest()[:10]
    return Identifier(TEST_PACKAGE_ID, "Generated", f"{kind}{digest}")


def _merged(*parts: TypedEnv) -> dict[Identifier, DataTypeDef]:
    env: dict[Identifier, DataTypeDef] = {}
    for _, part in parts:
        env.update(part)
    return env


@st.composite
def _record_of(draw: st.DrawFn, children: st.SearchStrategy[TypedEnv]) -> TypedEnv:
    labels = draw(st.lists(_names, max_size=4, unique=True))
    parts = [draw(children) for _ in labels]
    definition = RecordDef(tuple(zip(labels, (part[0] for part in parts), strict=True)))
    identifier = _identifier_for("Record", definition)
    return TypeCon(identifier), {**_merged(*parts), identifier: definition}


@st.composite
def _variant_of(draw: st.DrawFn, children: st.SearchStrategy[TypedEnv]) -> TypedEnv:
    names = draw(st.lists(_constructor_names, min_size=1, max_size=3, unique=True))
    parts = [draw(children) for _ in names]
    definition = VariantDef(tuple(zip(names, (part[0] for part in parts), strict=True)))
    identifier = _identifier_for("Variant", definition)
    return TypeCon(identifier), {**_merged(*parts), identifier: definition}


@st.composite
def _enum(draw: st.DrawFn) -> TypedEnv:
    names = draw(st.lists(_constructor_names, min_size=1, max_size=4, unique=True))
    definition = EnumDef(tuple(names))
    identifier = _identifier_for("Enum", definition)
    return TypeCon(identifier), {identifier: definition}


def _compound(children: st.SearchStrategy[TypedEnv]) -> st.SearchStrategy[TypedEnv]:
    return st.one_of(
        children.map(lambda part: (TList(part[0]), part[1])),
        children.map(lambda part: (TOptional(part[0]), part[1])),
        children.map(lambda part: (TOptional(TOptional(part[0])), part[1])),  # [] / [x] forms
        children.map(lambda part: (TTextMap(part[0]), part[1])),
        st.tuples(children, children).map(
            lambda pair: (TGenMap(pair[0][0], pair[1][0]), _merged(*pair))
        ),
        _record_of(children),
        _variant_of(children),
    )


@functools.cache
def types_with_env(max_leaves: int = 8) -> st.SearchStrategy[TypedEnv]:
    """A Daml-LF type and the data types it uses (nested optionals are drawn on purpose)."""
    leaves: st.SearchStrategy[TypedEnv] = st.one_of(
        *(st.just((type_, {})) for type_ in _SCALAR_TYPES), _enum()
    )
    return st.recursive(leaves, _compound, max_leaves=max_leaves)


@st.composite
def typed_values(draw: st.DrawFn, max_leaves: int = 8) -> tuple[Type, TypeEnvironment, Value]:
    """A ``(type, env, value)`` triple: `value` has type `type` under `env`."""
    type_, env = draw(types_with_env(max_leaves))
    return type_, env, _draw_value(draw, type_, env)


def values(max_leaves: int = 8) -> st.SearchStrategy[Value]:
    return typed_values(max_leaves).map(lambda triple: triple[2])

