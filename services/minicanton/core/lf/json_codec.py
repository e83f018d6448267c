"""The Daml-LF JSON encoding, as Daml's HTTP JSON API (v1) reads and writes values.

Theory of operation
-------------------
JSON alone does not say which Daml-LF value it means (``"42"`` may be Text, Int64 or
Numeric), so both directions are directed by the expected `Type` and the `TypeEnvironment`
that defines its records, variants and enums. The rules, after Daml's "Daml-LF JSON
Encoding" (the JSON API sets encodeInt64AsString and encodeDecimalAsString):

- Unit ``{}``; Bool a boolean; Text, Party and ContractId strings; Enum the constructor name.
- Int64: written as a string; read from an integral number or a ``[+-]?[0-9]+`` string.
- Numeric: written as a string without trailing zeros (``"42.0"``, ``"0.25"``); read from a
  number or a JSON-number string. Unlike Daml, which rounds, more decimals than the scale
  are an error: a ledger amount should never be silently changed.
- Numbers must reach the decoder exactly: as ``int`` or `Decimal` (parse JSON with
  ``json.loads(text, parse_float=Decimal)``, as the JSON API does), or as strings. A Python
  ``float`` has already been rounded to 53 bits by the parser, so it is refused for Numeric,
  and for Int64 beyond 2**53, with an error that says so.
- Date ``yyyy-mm-dd``. Timestamp: written in UTC with 0, 3 or 6 fraction digits; read as
  ISO 8601 with an optional fraction (digits past microseconds are dropped, as Daml does)
  and ``Z`` or a ``±hh:mm`` offset.
- List an array; TextMap an object; GenMap an array of ``[key, value]`` pairs, read in any
  order (of duplicate keys the last wins, as the Daml-LF value spec says) and written in the
  value's canonical key order.
- Optional: None is ``null`` and Some x is x; below the top Optional, nested ones are ``[]``
  (None) and ``[x]`` (Some x), so ``Optional (Optional Int64)`` is ``null``, ``[]`` or ``[42]``.
- Record: written as an object; read as an object (absent Optional fields are None, unknown
  fields are errors) or as an array in field order. Variant ``{"tag": C, "value": v}``.

Decoding never lets a Python exception escape: every failure is a `JsonDecodeError` whose
`path` (``items[2].owner``, ``choice.tag``) names where in the document it happened and whose
message names the expected type and what was found instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from minicanton.core.errors import InvalidArgument
from minicanton.core.lf.binary_codec import MAX_NESTING, numeric_value
from minicanton.core.lf.json_encoder import JsonEncodeError, encode_json
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
    INT64_MAX,
    INT64_MIN,
    NUMERIC_PRECISION,
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
from minicanton.core.lf.value_text import (
    describe_json,
    describe_type,
    field_path,
    index_path,
    parse_date,
    parse_timestamp,
)

__all__ = ["JsonDecodeError", "JsonEncodeError", "decode_json", "encode_json"]

_INT64_TEXT = re.compile(r"[+-]?[0-9]+")
_NUMERIC_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_FLOAT_EXACT_LIMIT = 2**53  # beyond this a JSON number parsed as float has lost digits


class JsonDecodeError(InvalidArgument):
    """JSON that is not an encoding of a value of the expected type; `path` says where."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


@dataclass(frozen=True, slots=True)
class _Context:
    """Where in the document the decoder is, for error paths and the nesting limit."""

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

    def error(self, message: str) -> JsonDecodeError:
        return JsonDecodeError(self.path, message)

    def fail(self, expected: str, data: object) -> JsonDecodeError:
        return self.error(f"expected {expected}, found {describe_json(data)}")


def _decode_int64(data: object, type_: Type, ctx: _Context) -> Value:
    expected = "Int64 (an integer or a string of digits)"
    number: int | None = None
    if isinstance(data, bool):
        pass
    elif isinstance(data, int):
        number = data
    elif isinstance(data, str) and _INT64_TEXT.fullmatch(data):
        # 19 digits is Int64's width: anything longer is out of range, and refusing it before
        # int() keeps a megabyte of digits from costing anything.
        significant = data.lstrip("+-").lstrip("0")
        number = int(data) if len(significant) <= 19 else INT64_MAX + 1
    elif isinstance(data, float) and data.is_integer() and abs(data) <= _FLOAT_EXACT_LIMIT:
        number = int(data)  # every integer up to 2**53 is exact in a float
    elif isinstance(data, float) and data.is_integer():
        raise _inexact_float("Int64", data, ctx)
    elif isinstance(data, Decimal) and data.is_finite() and data == data.to_integral_value():
        number = int(data) if data.copy_abs() < Decimal("1e20") else INT64_MAX + 1
    if number is None:
        raise ctx.fail(expected, data)
    if not INT64_MIN <= number <= INT64_MAX:
        raise ctx.error(f"expected Int64, found {describe_json(data)}: out of range")
    return Int64Value(number)


def _decode_numeric(data: object, type_: Type, ctx: _Context) -> Value:
    assert isinstance(type_, TNumeric)
    expected = f"{describe_type(type_)} (a number or a numeric string)"
    if isinstance(data, bool):
        raise ctx.fail(expected, data)
    if isinstance(data, int) or (isinstance(data, str) and _NUMERIC_TEXT.fullmatch(data)):
        number = Decimal(data)
    elif isinstance(data, float):
        raise _inexact_float(describe_type(type_), data, ctx)
    elif isinstance(data, Decimal) and data.is_finite():
        number = data
    else:
        raise ctx.fail(expected, data)
    bound = Decimal(f"1e{NUMERIC_PRECISION - type_.scale}")
    if number.copy_abs() >= bound:
        raise ctx.error(
            f"{describe_type(type_)} must be below {bound:e} in magnitude, "
            f"found {describe_json(data)}"
        )
    if _fraction_digits(number) > type_.scale:
        raise ctx.error(
            f"{describe_type(type_)} allows at most {type_.scale} decimal places, "
            f"found {describe_json(data)}"
        )
    return numeric_value(number)


def _inexact_float(type_name: str, data: float, ctx: _Context) -> JsonDecodeError:
    """A JSON number that was parsed into a binary float may already have lost digits
    (``1234567890123456789.1234567891`` reads as ``1234567890123456800.0``): a ledger amount
    is never guessed back from one."""
    kind = "Numeric" if type_name.startswith("Numeric") else type_name
    return ctx.error(
        f"expected {type_name} as a string or an exact number, found the float {data!r}, "
        f"which may have lost digits: send {kind} as a JSON string or parse JSON with "
        "parse_float=Decimal"
    )


def _fraction_digits(number: Decimal) -> int:
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    significant = text.rstrip("0")
    if not significant:
        return 0
    return max(0, -(exponent + len(text) - len(significant)))


def _text_of(data: object, expected: str, ctx: _Context) -> str:
    if not isinstance(data, str):
        raise ctx.fail(expected, data)
    try:
        data.encode("utf-8")
    except UnicodeEncodeError:
        raise ctx.error(f"expected {expected}, found a string with a lone surrogate") from None
    return data


def _decode_scalar_text(data: object, type_: Type, ctx: _Context) -> Value:
    if isinstance(type_, TText):
        return TextValue(_text_of(data, "Text (a string)", ctx))
    if isinstance(type_, TParty):
        return PartyValue(_text_of(data, "Party (a party id string)", ctx))
    return ContractIdValue(_text_of(data, f"{describe_type(type_)} (a contract id string)", ctx))


def _decode_date(data: object, type_: Type, ctx: _Context) -> Value:
    text = _text_of(data, "Date (a yyyy-mm-dd string)", ctx)
    try:
        return DateValue(parse_date(text))
    except InvalidArgument as error:
        raise ctx.error(f"expected Date, found {describe_json(data)}: {error.message}") from None


def _decode_timestamp(data: object, type_: Type, ctx: _Context) -> Value:
    text = _text_of(data, "Timestamp (an ISO 8601 string)", ctx)
    try:
        return TimestampValue(parse_timestamp(text))
    except InvalidArgument as error:
        raise ctx.error(
            f"expected Timestamp, found {describe_json(data)}: {error.message}"
        ) from None


def _decode_unit(data: object, type_: Type, ctx: _Context) -> Value:
    if not isinstance(data, dict) or data:
        raise ctx.fail("Unit ({})", data)
    return UnitValue()


def _decode_bool(data: object, type_: Type, ctx: _Context) -> Value:
    if not isinstance(data, bool):
        raise ctx.fail("Bool (true or false)", data)
    return BoolValue(data)


# -------------------------------------------------------------------------- containers


def _decode_list(data: object, type_: Type, ctx: _Context) -> Value:
    assert isinstance(type_, TList)
    if not isinstance(data, list | tuple):
        raise ctx.fail(f"{describe_type(type_)} (an array)", data)
    inner = ctx.nested()
    return ListValue(
        tuple(_decode(item, type_.element, inner.index(i)) for i, item in enumerate(data))
    )


def _decode_optional(data: object, type_: Type, ctx: _Context) -> Value:
    assert isinstance(type_, TOptional)
    if data is None:
        return OptionalValue(None)
    return OptionalValue(_decode_some(data, type_.element, ctx.nested()))


def _decode_some(data: object, element: Type, ctx: _Context) -> Value:
    """The x of ``Some x``: below a top Optional, an Optional is ``[]`` or ``[y]``."""
    if not isinstance(element, TOptional):
        return _decode(data, element, ctx)
    if not isinstance(data, list | tuple) or len(data) > 1:
        raise ctx.fail(f"{describe_type(element)} nested in an Optional ([] or [value])", data)
    if not data:
        return OptionalValue(None)
    return OptionalValue(_decode_some(data[0], element.element, ctx.index(0).nested()))


def _decode_text_map(data: object, type_: Type, ctx: _Context) -> Value:
    assert isinstance(type_, TTextMap)
    if not isinstance(data, dict):
        raise ctx.fail(f"{describe_type(type_)} (an object)", data)
    inner = ctx.nested()
    entries: list[tuple[str, Value]] = []
    for key, item in data.items():
        key_text = _text_of(key, "a TextMap key (a string)", inner)
        entries.append((key_text, _decode(item, type_.value, inner.field(key_text))))
    return TextMapValue(tuple(entries))


def _decode_gen_map(data: object, type_: Type, ctx: _Context) -> Value:
    assert isinstance(type_, TGenMap)
    if not isinstance(data, list | tuple):
        raise ctx.fail(f"{describe_type(type_)} (an array of [key, value] pairs)", data)
    inner = ctx.nested()
    entries: list[tuple[Value, Value]] = []
    for position, pair in enumerate(data):
        at = inner.index(position)
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise at.fail("a GenMap entry (a [key, value] pair)", pair)
        key = _decode(pair[0], type_.key, at.index(0))
        entries.append((key, _decode(pair[1], type_.value, at.index(1))))
    return GenMapValue(tuple(entries))  # the last of duplicate keys wins, as in Daml-LF


# -------------------------------------------------------------------------- data types


def _definition(type_: Type, ctx: _Context) -> RecordDef | VariantDef | EnumDef:
    assert isinstance(type_, TypeCon)
    definition = ctx.env.get(type_.identifier)
    if definition is None:
        raise ctx.error(f"type {type_.identifier} is not defined in any known package")
    return definition


def _decode_data(data: object, type_: Type, ctx: _Context) -> Value:
    assert isinstance(type_, TypeCon)
    definition = _definition(type_, ctx)
    if isinstance(definition, EnumDef):
        return _decode_enum(data, type_, definition, ctx)
    if isinstance(definition, RecordDef):
        return _decode_record(data, type_, definition, ctx.nested())
    return _decode_variant(data, type_, definition, ctx.nested())


def _decode_record(data: object, type_: TypeCon, definition: RecordDef, ctx: _Context) -> Value:
    name = describe_type(type_)
    if isinstance(data, list | tuple):
        if len(data) != len(definition.fields):
            raise ctx.fail(
                f"record {name} (an object, or an array of its "
                f"{len(definition.fields)} fields in order)",
                data,
            )
        return RecordValue(
            type_.identifier,
            tuple(
                (label, _decode(data[i], field_type, ctx.index(i)))
                for i, (label, field_type) in enumerate(definition.fields)
            ),
        )
    if not isinstance(data, dict):
        raise ctx.fail(f"record {name} (an object or an array)", data)
    labels = [label for label, _ in definition.fields]
    for key in data:
        if key not in labels:
            raise ctx.field(str(key)).error(
                f"unknown field {str(key)!r} of record {name}; its fields are "
                + (", ".join(labels) or "none")
            )
    return RecordValue(
        type_.identifier,
        tuple(
            (label, _decode_field(data, label, field_type, ctx))
            for label, field_type in definition.fields
        ),
    )


def _decode_field(data: dict[object, object], label: str, type_: Type, ctx: _Context) -> Value:
    if label in data:
        return _decode(data[label], type_, ctx.field(label))
    if isinstance(type_, TOptional):
        return OptionalValue(None)  # Daml lets an object leave out a None field
    raise ctx.field(label).error(f"missing field {label} of type {describe_type(type_)}")


def _decode_variant(data: object, type_: TypeCon, definition: VariantDef, ctx: _Context) -> Value:
    name = describe_type(type_)
    if not isinstance(data, dict):
        raise ctx.fail(f'variant {name} (an object {{"tag": ..., "value": ...}})', data)
    for key in data:
        if key not in ("tag", "value"):
            raise ctx.field(str(key)).error(
                f'unknown field {str(key)!r}; variant {name} is {{"tag": ..., "value": ...}}'
            )
    constructors = dict(definition.constructors)
    tag = _constructor_of(data.get("tag"), "tag" in data, name, list(constructors), ctx)
    if "value" not in data:
        raise ctx.field("value").error(f"missing value of {name}.{tag}")
    argument = _decode(data["value"], constructors[tag], ctx.field("value"))
    return VariantValue(type_.identifier, tag, argument)


def _constructor_of(
    data: object, present: bool, name: str, constructors: list[str], ctx: _Context
) -> str:
    at = ctx.field("tag")
    choices = ", ".join(constructors)
    if not present:
        raise at.error(f"missing tag of variant {name}; expected one of {choices}")
    if not isinstance(data, str):
        raise at.fail(f"a constructor of {name} (one of {choices})", data)
    if data not in constructors:
        raise at.error(f"unknown constructor {data!r} of {name}; expected one of {choices}")
    return data


def _decode_enum(data: object, type_: TypeCon, definition: EnumDef, ctx: _Context) -> Value:
    name = describe_type(type_)
    choices = ", ".join(definition.constructors)
    if not isinstance(data, str):
        raise ctx.fail(f"enum {name} (a string, one of {choices})", data)
    if data not in definition.constructors:
        raise ctx.error(f"unknown constructor {data!r} of enum {name}; expected one of {choices}")
    return EnumValue(type_.identifier, data)


# ------------------------------------------------------------------------------ decoding


_Decoder = Callable[[object, Type, _Context], Value]
_DECODERS: Mapping[type, _Decoder] = {
    TUnit: _decode_unit,
    TBool: _decode_bool,
    TInt64: _decode_int64,
    TNumeric: _decode_numeric,
    TText: _decode_scalar_text,
    TParty: _decode_scalar_text,
    TContractId: _decode_scalar_text,
    TDate: _decode_date,
    TTimestamp: _decode_timestamp,
    TList: _decode_list,
    TOptional: _decode_optional,
    TTextMap: _decode_text_map,
    TGenMap: _decode_gen_map,
    TypeCon: _decode_data,
}


def decode_json(data: object, type_: Type, env: TypeEnvironment) -> Value:
    """The value of type `type_` that `data` (parsed JSON) encodes; `JsonDecodeError` if none."""
    return _decode(data, type_, _Context(env))


def _decode(data: object, type_: Type, ctx: _Context) -> Value:
    decoder = _DECODERS.get(type(type_))
    if decoder is None:
        raise ctx.error(f"{type_!r} is not a Daml-LF type")
    try:
        return decoder(data, type_, ctx)
    except JsonDecodeError:
        raise
    except InvalidArgument as error:  # a value constructor refused it (party id too long, ...)
        raise ctx.error(f"invalid {describe_type(type_)}: {error.message}") from None
