"""Writing Daml-LF values as JSON, the way Daml's HTTP JSON API (v1) does.

The rules are those `minicanton.core.lf.json_codec` reads (see its docstring); this is the
output half: Int64 and Numeric as strings, records always as objects with every field (a None
field is ``null``, never left out), Timestamps in UTC. Encoding checks that the value really
has the type it is written as, so a mismatch is a `JsonEncodeError` naming the path rather
than JSON that a client would misread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from minicanton.core.errors import InvalidArgument
from minicanton.core.lf.binary_codec import MAX_NESTING
from minicanton.core.lf.types import (
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
    BoolValue,
    ContractIdValue,
    DateValue,
    EnumValue,
    GenMapValue,
    Int64Value,
    ListValue,
    NumericValue,
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
from minicanton.core.lf.value_text import (
    describe_type,
    field_path,
    format_date,
    format_numeric,
    format_timestamp,
    index_path,
)


class JsonEncodeError(InvalidArgument):
    """A value that does not have the type it was to be written as; `path` says where."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


@dataclass(frozen=True, slots=True)
class _Context:
    env: TypeEnvironment
    path: str = ""
    depth: int = 0

    def field(self, name: str) -> _Context:
        return replace(self, path=field_path(self.path, name))

    def index(self, position: int) -> _Context:
        return replace(self, path=index_path(self.path, position))

    def nested(self) -> _Context:
        if self.depth >= MAX_NESTING:
            raise self.error(f"value nests deeper than {MAX_NESTING} levels")
        return replace(self, depth=self.depth + 1)

    def error(self, message: str) -> JsonEncodeError:
        return JsonEncodeError(self.path, message)


def encode_json(value: Value, type_: Type, env: TypeEnvironment) -> object:
    """The JSON (plain Python: dict, list, str, bool, None) of `value`, read as `type_`."""
    return _encode(value, type_, _Context(env))


def _encode(value: Value, type_: Type, ctx: _Context) -> object:
    scalar = _SCALAR_ENCODERS.get(type(type_))
    if scalar is not None:
        value_class, render = scalar
        if not isinstance(value, value_class):
            raise _mismatch(value, type_, ctx)
        return render(value)
    if isinstance(type_, TList):
        if not isinstance(value, ListValue):
            raise _mismatch(value, type_, ctx)
        inner = ctx.nested()
        return [_encode(item, type_.element, inner.index(i)) for i, item in enumerate(value.items)]
    if isinstance(type_, TOptional):
        if not isinstance(value, OptionalValue):
            raise _mismatch(value, type_, ctx)
        if value.value is None:
            return None
        return _encode_some(value.value, type_.element, ctx.nested())
    return _encode_map_or_data(value, type_, ctx)


def _encode_some(value: Value, element: Type, ctx: _Context) -> object:
    if not isinstance(element, TOptional):
        return _encode(value, element, ctx)
    if not isinstance(value, OptionalValue):
        raise _mismatch(value, element, ctx)
    if value.value is None:
        return []
    return [_encode_some(value.value, element.element, ctx.index(0).nested())]


def _encode_map_or_data(value: Value, type_: Type, ctx: _Context) -> object:
    if isinstance(type_, TTextMap):
        if not isinstance(value, TextMapValue):
            raise _mismatch(value, type_, ctx)
        inner = ctx.nested()
        return {key: _encode(item, type_.value, inner.field(key)) for key, item in value.entries}
    if isinstance(type_, TGenMap):
        if not isinstance(value, GenMapValue):
            raise _mismatch(value, type_, ctx)
        inner = ctx.nested()
        return [
            [
                _encode(key, type_.key, inner.index(i).index(0)),
                _encode(item, type_.value, inner.index(i).index(1)),
            ]
            for i, (key, item) in enumerate(value.entries)
        ]
    if isinstance(type_, TypeCon):
        return _encode_data(value, type_, ctx)
    raise ctx.error(f"{type_!r} is not a Daml-LF type")


def _encode_data(value: Value, type_: TypeCon, ctx: _Context) -> object:
    definition = ctx.env.get(type_.identifier)
    if definition is None:
        raise ctx.error(f"type {type_.identifier} is not defined in any known package")
    type_id = getattr(value, "type_id", None)
    if type_id is not None and type_id != type_.identifier:
        raise ctx.error(f"expected a value of {type_.identifier}, found one of {type_id}")
    if isinstance(definition, EnumDef) and isinstance(value, EnumValue):
        if value.constructor not in definition.constructors:
            raise ctx.error(f"{value.constructor!r} is not a constructor of {type_.identifier}")
        return value.constructor
    if isinstance(definition, RecordDef) and isinstance(value, RecordValue):
        return _encode_record(value, definition, ctx.nested())
    if isinstance(definition, VariantDef) and isinstance(value, VariantValue):
        constructors = dict(definition.constructors)
        if value.constructor not in constructors:
            raise ctx.error(f"{value.constructor!r} is not a constructor of {type_.identifier}")
        inner = ctx.nested()
        argument = _encode(value.value, constructors[value.constructor], inner.field("value"))
        return {"tag": value.constructor, "value": argument}
    raise _mismatch(value, type_, ctx)


def _encode_record(value: RecordValue, definition: RecordDef, ctx: _Context) -> object:
    fields = dict(value.fields)
    labels = [label for label, _ in definition.fields]
    extra = [label for label in fields if label not in labels]
    if extra or len(fields) != len(value.fields):
        raise ctx.error(f"record value has fields {list(fields)}, its type has {labels}")
    encoded: dict[str, object] = {}
    for label, field_type in definition.fields:
        if label not in fields:
            raise ctx.field(label).error(f"record value lacks field {label}")
        encoded[label] = _encode(fields[label], field_type, ctx.field(label))
    return encoded


def _mismatch(value: Value, type_: Type, ctx: _Context) -> JsonEncodeError:
    return ctx.error(
        f"expected a value of type {describe_type(type_)}, found {type(value).__name__}"
    )


def _render_numeric(value: Value) -> object:
    assert isinstance(value, NumericValue)
    return format_numeric(value.value)


def _render_plain(value: Value) -> object:
    assert isinstance(value, BoolValue | TextValue | PartyValue | ContractIdValue)
    return value.value


def _render_int64(value: Value) -> object:
    assert isinstance(value, Int64Value)
    return str(value.value)


def _render_date(value: Value) -> object:
    assert isinstance(value, DateValue)
    return format_date(value.days_since_epoch)


def _render_timestamp(value: Value) -> object:
    assert isinstance(value, TimestampValue)
    return format_timestamp(value.micros_since_epoch)


_SCALAR_ENCODERS: Mapping[type, tuple[type, Callable[[Value], object]]] = {
    TUnit: (UnitValue, lambda _: {}),
    TBool: (BoolValue, _render_plain),
    TInt64: (Int64Value, _render_int64),
    TNumeric: (NumericValue, _render_numeric),
    TText: (TextValue, _render_plain),
    TParty: (PartyValue, _render_plain),
    TContractId: (ContractIdValue, _render_plain),
    TDate: (DateValue, _render_date),
    TTimestamp: (TimestampValue, _render_timestamp),
}
