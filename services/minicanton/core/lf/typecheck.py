"""Type-directed checks and conversions of Daml-LF values.

- `check_value` checks a value that came from outside (a command argument, a key) against
  its Daml-LF type and returns it normalised: record fields in declared order with the
  record's type id, omitted ``Optional`` record fields filled with ``None``, fields matched
  by label or, when every label is empty (as the gRPC Ledger API allows), by position.
- `to_python` / `from_python` convert between core values and the Python values that choice
  bodies see (the table in `dsl.py`); `from_python` checks every value a body produces.

Every mismatch raises `ValueTypeError` carrying the path of the offending part, e.g.
``argument.amount`` or ``argument.items[2]``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any, Protocol, TypeVar

from minicanton.core.errors import InvalidArgument
from minicanton.core.lf.dsl import DataObject, Date, Variant
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.numeric import numeric_of
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
    VariantDef,
)
from minicanton.core.lf.value import (
    MAX_NESTING,
    NUMERIC_PRECISION,
    NUMERIC_SCALE,
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

V = TypeVar("V")


class ValueTypeError(InvalidArgument):
    """A value does not have the type its position requires; `path` says where."""

    error_id = "INVALID_ARGUMENT"

    def __init__(self, path: str, complaint: str) -> None:
        super().__init__(f"{path}: {complaint}")
        self.path = path


class DataResolver(Protocol):
    """Where user-defined data types (and their Python classes) are looked up."""

    def data_type(self, identifier: Identifier) -> DataTypeDef: ...

    def python_class(self, identifier: Identifier) -> type: ...


_SIMPLE_VALUE_CLASS: dict[type, type] = {
    TUnit: UnitValue,
    TBool: BoolValue,
    TInt64: Int64Value,
    TNumeric: NumericValue,
    TText: TextValue,
    TParty: PartyValue,
    TContractId: ContractIdValue,
    TDate: DateValue,
    TTimestamp: TimestampValue,
}


def show_type(ty: Type) -> str:
    """Daml-style text of a type: ``ContractId dvp:Iou``, ``List Party``, ``Optional Int64``."""
    if isinstance(ty, TContractId):
        return "ContractId" + (f" {ty.template.qualified_name}" if ty.template else "")
    if isinstance(ty, TList):
        return f"List {_show_argument(ty.element)}"
    if isinstance(ty, TOptional):
        return f"Optional {_show_argument(ty.element)}"
    if isinstance(ty, TTextMap):
        return f"TextMap {_show_argument(ty.value)}"
    if isinstance(ty, TGenMap):
        return f"GenMap {_show_argument(ty.key)} {_show_argument(ty.value)}"
    if isinstance(ty, TypeCon):
        return ty.identifier.qualified_name
    if isinstance(ty, TTimestamp):
        return "Time"
    return type(ty).__name__[1:]


def _show_argument(ty: Type) -> str:
    text = show_type(ty)
    return f"({text})" if " " in text else text


def _kind(value: Value) -> str:
    return type(value).__name__.removesuffix("Value")


# ------------------------------------------------------------------------------ check_value


def check_value(value: Value, ty: Type, env: Mapping[Identifier, DataTypeDef], path: str) -> Value:
    """`value` checked against `ty` and normalised (see the module docstring)."""
    simple = _SIMPLE_VALUE_CLASS.get(type(ty))
    if simple is not None:
        if type(value) is not simple:
            raise ValueTypeError(path, f"expected {show_type(ty)}, got {_kind(value)}")
        return value
    if isinstance(ty, TList):
        items = _expect(value, ListValue, ty, path).items
        return ListValue(
            tuple(
                check_value(item, ty.element, env, f"{path}[{i}]") for i, item in enumerate(items)
            )
        )
    if isinstance(ty, TOptional):
        inner = _expect(value, OptionalValue, ty, path).value
        return OptionalValue(None if inner is None else check_value(inner, ty.element, env, path))
    if isinstance(ty, TTextMap):
        entries = _expect(value, TextMapValue, ty, path).entries
        return TextMapValue(
            tuple((k, check_value(v, ty.value, env, f"{path}[{k!r}]")) for k, v in entries)
        )
    if isinstance(ty, TGenMap):
        pairs = _expect(value, GenMapValue, ty, path).entries
        return GenMapValue(
            tuple(
                (
                    check_value(k, ty.key, env, f"{path}[{i}].key"),
                    check_value(v, ty.value, env, f"{path}[{i}].value"),
                )
                for i, (k, v) in enumerate(pairs)
            )
        )
    assert isinstance(ty, TypeCon)
    return _check_data(value, ty, env, path)


def _expect(value: Value, cls: type[V], ty: Type, path: str) -> V:
    if not isinstance(value, cls):
        raise ValueTypeError(path, f"expected {show_type(ty)}, got {_kind(value)}")
    return value


def _check_data(
    value: Value, ty: TypeCon, env: Mapping[Identifier, DataTypeDef], path: str
) -> Value:
    definition = env.get(ty.identifier)
    if definition is None:
        raise ValueTypeError(path, f"unknown data type {ty.identifier}")
    if isinstance(definition, RecordDef):
        return _check_record(_expect(value, RecordValue, ty, path), ty, definition, env, path)
    if isinstance(definition, VariantDef):
        variant = _expect(value, VariantValue, ty, path)
        _check_type_id(variant.type_id, ty, path)
        argument_type = dict(definition.constructors).get(variant.constructor)
        if argument_type is None:
            raise ValueTypeError(
                path, f"{show_type(ty)} has no constructor {variant.constructor!r}"
            )
        inner = check_value(variant.value, argument_type, env, f"{path}.{variant.constructor}")
        return VariantValue(ty.identifier, variant.constructor, inner)
    enum = _expect(value, EnumValue, ty, path)
    _check_type_id(enum.type_id, ty, path)
    if enum.constructor not in definition.constructors:
        raise ValueTypeError(path, f"{show_type(ty)} has no constructor {enum.constructor!r}")
    return EnumValue(ty.identifier, enum.constructor)


def _check_type_id(type_id: Identifier | None, ty: TypeCon, path: str) -> None:
    if type_id is not None and type_id != ty.identifier:
        raise ValueTypeError(path, f"expected {ty.identifier}, got a value of type {type_id}")


def _check_record(
    record: RecordValue,
    ty: TypeCon,
    definition: RecordDef,
    env: Mapping[Identifier, DataTypeDef],
    path: str,
) -> RecordValue:
    _check_type_id(record.type_id, ty, path)
    given = _fields_by_label(record, definition, path)
    checked: list[tuple[str, Value]] = []
    for name, field_type in definition.fields:
        if name in given:
            checked.append((name, check_value(given[name], field_type, env, f"{path}.{name}")))
        elif isinstance(field_type, TOptional):
            checked.append((name, OptionalValue(None)))
        else:
            raise ValueTypeError(f"{path}.{name}", f"missing field of type {show_type(field_type)}")
    return RecordValue(ty.identifier, tuple(checked))


def _fields_by_label(record: RecordValue, definition: RecordDef, path: str) -> dict[str, Value]:
    labels = [label for label, _ in record.fields]
    if record.fields and not any(labels):
        if len(record.fields) != len(definition.fields):
            raise ValueTypeError(
                path, f"expected {len(definition.fields)} fields, got {len(record.fields)}"
            )
        pairs = zip(definition.fields, record.fields, strict=True)
        return {name: value for (name, _), (_, value) in pairs}
    declared = {name for name, _ in definition.fields}
    given: dict[str, Value] = {}
    for label, value in record.fields:
        if label not in declared:
            raise ValueTypeError(f"{path}.{label}" if label else path, "unknown field")
        if label in given:
            raise ValueTypeError(f"{path}.{label}", "field given twice")
        given[label] = value
    return given


# ------------------------------------------------------------------------------- to_python


def to_python(value: Value, ty: Type, resolver: DataResolver) -> Any:
    """The Python value a choice body sees for `value` (already of type `ty`)."""
    converter = _TO_PYTHON.get(type(ty))
    if converter is not None:
        return converter(value, ty, resolver)
    assert isinstance(ty, TypeCon)
    definition = resolver.data_type(ty.identifier)
    if isinstance(definition, RecordDef):
        assert isinstance(value, RecordValue)
        cls = resolver.python_class(ty.identifier)
        given = dict(value.fields)
        return cls(**{n: to_python(given[n], t, resolver) for n, t in definition.fields})
    if isinstance(definition, VariantDef):
        assert isinstance(value, VariantValue)
        argument_type = dict(definition.constructors)[value.constructor]
        cls = resolver.python_class(ty.identifier)
        return cls(value.constructor, to_python(value.value, argument_type, resolver))
    assert isinstance(value, EnumValue)
    return value.constructor


def _scalar(value: Value, ty: Type, resolver: DataResolver) -> Any:
    if isinstance(value, UnitValue):
        return None
    if isinstance(value, DateValue):
        return Date(value.days_since_epoch)
    if isinstance(value, TimestampValue):
        return value.micros_since_epoch
    if isinstance(value, NumericValue):
        return numeric_of(value.value)  # its operators round as Daml's do
    inner: Any = getattr(value, "value")  # noqa: B009 - every other scalar keeps it in .value
    return inner


def _list_to_python(value: Value, ty: Type, resolver: DataResolver) -> Any:
    assert isinstance(value, ListValue) and isinstance(ty, TList)
    return [to_python(item, ty.element, resolver) for item in value.items]


def _optional_to_python(value: Value, ty: Type, resolver: DataResolver) -> Any:
    assert isinstance(value, OptionalValue) and isinstance(ty, TOptional)
    return None if value.value is None else to_python(value.value, ty.element, resolver)


def _text_map_to_python(value: Value, ty: Type, resolver: DataResolver) -> Any:
    assert isinstance(value, TextMapValue) and isinstance(ty, TTextMap)
    return {key: to_python(item, ty.value, resolver) for key, item in value.entries}


def _gen_map_to_python(value: Value, ty: Type, resolver: DataResolver) -> Any:
    assert isinstance(value, GenMapValue) and isinstance(ty, TGenMap)
    return {
        to_python(k, ty.key, resolver): to_python(v, ty.value, resolver) for k, v in value.entries
    }


_TO_PYTHON: dict[type, Callable[[Value, Type, DataResolver], Any]] = {
    **{t: _scalar for t in _SIMPLE_VALUE_CLASS},
    TList: _list_to_python,
    TOptional: _optional_to_python,
    TTextMap: _text_map_to_python,
    TGenMap: _gen_map_to_python,
}


# ----------------------------------------------------------------------------- from_python


def from_python(obj: Any, ty: Type, resolver: DataResolver, path: str) -> Value:
    """The Daml-LF value of a Python value a body produced, checked against `ty`."""
    try:
        return _from_python(obj, ty, resolver, path, 0)
    except ValueTypeError:
        raise
    except InvalidArgument as error:  # a range check in a value constructor
        raise ValueTypeError(path, error.message) from None


def _from_python(obj: Any, ty: Type, resolver: DataResolver, path: str, depth: int) -> Value:
    if isinstance(ty, TUnit):
        _require(obj is None, obj, ty, path)
        return UnitValue()
    if isinstance(ty, TBool):
        _require(isinstance(obj, bool), obj, ty, path)
        return BoolValue(obj)
    if isinstance(ty, TInt64):
        _require(isinstance(obj, int) and not isinstance(obj, bool), obj, ty, path)
        return Int64Value(obj)
    if isinstance(ty, TNumeric):
        return _numeric_from_python(obj, ty, path)
    if isinstance(ty, TText | TParty | TContractId):
        _require(isinstance(obj, str), obj, ty, path)
        if isinstance(ty, TText):
            return TextValue(obj)
        return PartyValue(obj) if isinstance(ty, TParty) else ContractIdValue(obj)
    if isinstance(ty, TDate):
        _require(isinstance(obj, Date), obj, ty, path)
        return DateValue(obj.days_since_epoch)
    if isinstance(ty, TTimestamp):
        _require(isinstance(obj, int) and not isinstance(obj, bool), obj, ty, path)
        return TimestampValue(obj)
    return _container_from_python(obj, ty, resolver, path, depth)


def _numeric_from_python(obj: Any, ty: Type, path: str) -> Value:
    ok = isinstance(obj, Decimal) or (isinstance(obj, int) and not isinstance(obj, bool))
    _require(ok, obj, ty, path)
    with localcontext() as context:
        context.prec = NUMERIC_PRECISION + 2
        raw = Decimal(obj)
        if not raw.is_finite():
            raise ValueTypeError(path, f"{raw} is not a finite Numeric")
        if raw.adjusted() >= NUMERIC_PRECISION - NUMERIC_SCALE:
            raise ValueTypeError(path, f"{raw} exceeds Numeric {NUMERIC_SCALE} precision")
        return NumericValue(raw.quantize(Decimal(1).scaleb(-NUMERIC_SCALE), ROUND_HALF_EVEN))


def _container_from_python(
    obj: Any, ty: Type, resolver: DataResolver, path: str, depth: int
) -> Value:
    if isinstance(ty, TypeCon):
        return _data_from_python(obj, ty, resolver, path, depth)
    depth = _deeper(depth, path)
    if isinstance(ty, TList):
        _require(isinstance(obj, list | tuple), obj, ty, path)
        return ListValue(
            tuple(
                _from_python(x, ty.element, resolver, f"{path}[{i}]", depth)
                for i, x in enumerate(obj)
            )
        )
    if isinstance(ty, TOptional):
        inner = None if obj is None else _from_python(obj, ty.element, resolver, path, depth)
        return OptionalValue(inner)
    if isinstance(ty, TTextMap):
        _require(isinstance(obj, dict) and all(isinstance(k, str) for k in obj), obj, ty, path)
        return TextMapValue(
            tuple(
                (k, _from_python(v, ty.value, resolver, f"{path}[{k!r}]", depth))
                for k, v in obj.items()
            )
        )
    if isinstance(ty, TGenMap):
        _require(isinstance(obj, dict), obj, ty, path)
        return GenMapValue(
            tuple(
                (
                    _from_python(k, ty.key, resolver, f"{path}[{i}].key", depth),
                    _from_python(v, ty.value, resolver, f"{path}[{i}].value", depth),
                )
                for i, (k, v) in enumerate(obj.items())
            )
        )
    raise AssertionError(f"{ty!r} is not a Daml-LF type")


def _data_from_python(
    obj: Any, ty: TypeCon, resolver: DataResolver, path: str, depth: int
) -> Value:
    definition = resolver.data_type(ty.identifier)
    if isinstance(definition, EnumDef):
        _require(obj in definition.constructors, obj, ty, path)
        return EnumValue(ty.identifier, obj)
    cls = resolver.python_class(ty.identifier)
    _require(type(obj) is cls, obj, ty, path)
    depth = _deeper(depth, path)  # a record or variant nests; an enum does not
    if isinstance(definition, RecordDef):
        assert isinstance(obj, DataObject)
        return RecordValue(
            ty.identifier,
            tuple(
                (name, _from_python(getattr(obj, name), t, resolver, f"{path}.{name}", depth))
                for name, t in definition.fields
            ),
        )
    assert isinstance(obj, Variant)
    argument_type = dict(definition.constructors)[obj.tag]
    inner = _from_python(obj.value, argument_type, resolver, f"{path}.{obj.tag}", depth)
    return VariantValue(ty.identifier, obj.tag, inner)


def _deeper(depth: int, path: str) -> int:
    """One container further in; Daml-LF (and the canonical encoding) allow 100 levels, and a
    body can build deeper values (a recursive record in a loop): refuse them here, typed."""
    if depth >= MAX_NESTING:
        raise ValueTypeError(path, f"value nests deeper than {MAX_NESTING} levels")
    return depth + 1


def _require(ok: bool, obj: Any, ty: Type, path: str) -> None:
    if not ok:
        raise ValueTypeError(path, f"expected {show_type(ty)}, got {_describe(obj)}")


def _describe(obj: Any) -> str:
    if obj is None:
        return "None"
    if isinstance(obj, str):
        return f"str {obj!r}" if len(obj) <= 40 else "str"
    return type(obj).__name__
