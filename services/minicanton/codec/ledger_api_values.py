"""Daml's Ledger API `Value` messages <-> minicanton's Daml-LF values.

Encoding (`value_to_proto`) follows what a Daml participant sends: Numeric as its plain text
with all ten decimals (``"1.5000000000"``), Timestamp as sfixed64 microseconds, Date as int32
days, TextMap entries in key order, GenMap entries in insertion order. With ``verbose=False``
record, variant and enum ids and record labels are left out, as Daml does on non-verbose
streams.

Decoding (`value_from_proto`) accepts what a Daml client may send and nothing else: exactly
one case of every `Value` oneof set, Numeric text matching ``[+-]?[0-9]{1,38}(.[0-9]{0,37})?``
that fits Numeric 10 without losing a digit, timestamps and dates within 0001-01-01 ..
9999-12-31, well-formed names, unique map keys and record labels. Anything else raises
`LedgerApiValueError` (an `InvalidArgument`) whose message names where in the value the problem
is, e.g. ``create_arguments.owner: Numeric "1.00000000001" has more than 10 decimal places``.

Record labels are optional on the way in: Daml lets a client omit them and then matches fields
to the record type by position. Decoding keeps an omitted label as ``""``; once the type is
known, `minicanton.core.lf.typecheck.check_value` labels a whole value against its type (what
the participant does with command arguments), and `label_record` applies Daml's rule to one
record given its `RecordDef`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import NoReturn

from minicanton.codec.gen.com.daml.ledger.api.v1 import value_pb2
from minicanton.core.errors import InvalidArgument
from minicanton.core.lf.binary_codec import MAX_NESTING, numeric_value
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.types import RecordDef
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

_NUMERIC_TEXT = re.compile(r"[+-]?[0-9]{1,38}(\.[0-9]{0,37})?")
_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]{0,999}")
_DOTTED_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*")
_PACKAGE_ID_MAX_CHARS = 255


class LedgerApiValueError(InvalidArgument):
    """A Ledger API value (or identifier) that is not a well-formed Daml-LF value."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason


def _fail(path: str, reason: str) -> NoReturn:
    raise LedgerApiValueError(path, reason)


def _relocate(error: InvalidArgument, step: str) -> LedgerApiValueError:
    """The same problem, reported one container further out (paths build inside-out)."""
    if not isinstance(error, LedgerApiValueError):
        return LedgerApiValueError(step, error.message)
    inner = error.path
    if inner and step and not inner.startswith(("[", ".")):
        inner = "." + inner
    return LedgerApiValueError((step + inner).removeprefix("."), error.reason)


# ------------------------------------------------------------------------------ identifiers


def identifier_to_proto(identifier: Identifier) -> value_pb2.Identifier:
    return value_pb2.Identifier(
        package_id=identifier.package_id,
        module_name=identifier.module_name,
        entity_name=identifier.entity_name,
    )


def identifier_from_proto(pb: value_pb2.Identifier, path: str = "") -> Identifier:
    """A fully qualified identifier; every part must be present and well-formed."""
    package_id, module_name, entity_name = pb.package_id, pb.module_name, pb.entity_name
    if not package_id or len(package_id) > _PACKAGE_ID_MAX_CHARS or ":" in package_id:
        _fail(_join(path, "package_id"),
              f"package id {_show(package_id)} must be 1-255 characters without ':'")
    for part, text in (("module_name", module_name), ("entity_name", entity_name)):
        if not _DOTTED_NAME.fullmatch(text):
            _fail(_join(path, part), f"{_show(text)} is not a dotted Daml name")
    return Identifier(package_id, module_name, entity_name)


def _optional_identifier(pb: value_pb2.Record | value_pb2.Variant | value_pb2.Enum,
                         field: str) -> Identifier | None:
    if not pb.HasField(field):
        return None
    return identifier_from_proto(getattr(pb, field), field)


def _join(path: str, step: str) -> str:
    return f"{path}.{step}" if path else step


def _show(text: str, limit: int = 60) -> str:
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


# ------------------------------------------------------------------------------ numeric


def numeric_to_text(value: Decimal) -> str:
    """Daml's text form of a Numeric 10: plain digits, all ten decimals, no negative zero."""
    return f"{value.copy_abs() if value.is_zero() else value:f}"


def numeric_from_text(text: str) -> NumericValue:
    if not _NUMERIC_TEXT.fullmatch(text):
        _fail("", f"Numeric {_show(text)} does not match [+-]?[0-9]{{1,38}}(.[0-9]{{0,37}})?")
    try:
        return numeric_value(Decimal(text))
    except InvalidArgument as error:
        _fail("", f"Numeric {_show(text)}: {error.message}")


# ------------------------------------------------------------------------------ encoding


def value_to_proto(value: Value, *, verbose: bool = True) -> value_pb2.Value:
    """The Ledger API form of `value`; ``verbose=False`` leaves out type ids and labels."""
    out = value_pb2.Value()
    _encode(out, value, verbose, 0)
    return out


def record_to_proto(record: RecordValue, *, verbose: bool = True) -> value_pb2.Record:
    """For the places where the API carries a bare `Record` (create arguments)."""
    out = value_pb2.Record()
    _encode_record(out, record, verbose, 0)
    return out


def _encode(out: value_pb2.Value, value: Value, verbose: bool, depth: int) -> None:
    if depth >= MAX_NESTING:
        _fail("", f"value nests deeper than {MAX_NESTING} levels")
    if not _encode_scalar(out, value, verbose):
        _encode_container(out, value, verbose, depth + 1)


def _encode_scalar(out: value_pb2.Value, value: Value, verbose: bool) -> bool:
    match value:
        case UnitValue():
            out.unit.SetInParent()
        case BoolValue(flag):
            out.bool = flag
        case Int64Value(number):
            out.int64 = number
        case NumericValue(number):
            out.numeric = numeric_to_text(number)
        case TextValue(text):
            out.text = text
        case PartyValue(party):
            out.party = party
        case ContractIdValue(contract_id):
            out.contract_id = contract_id
        case DateValue(days):
            out.date = days
        case TimestampValue(micros):
            out.timestamp = micros
        case EnumValue(type_id, constructor):
            out.enum.constructor = constructor
            if verbose and type_id is not None:
                out.enum.enum_id.CopyFrom(identifier_to_proto(type_id))
        case _:
            return False
    return True


def _encode_container(out: value_pb2.Value, value: Value, verbose: bool, depth: int) -> None:
    match value:
        case ListValue(items):
            out.list.SetInParent()
            for item in items:
                _encode(out.list.elements.add(), item, verbose, depth)
        case OptionalValue(inner):
            out.optional.SetInParent()
            if inner is not None:
                _encode(out.optional.value, inner, verbose, depth)
        case TextMapValue(entries):
            out.map.SetInParent()
            for key, item in entries:
                _encode(out.map.entries.add(key=key).value, item, verbose, depth)
        case GenMapValue(pairs):
            out.gen_map.SetInParent()
            for key_value, item in pairs:
                entry = out.gen_map.entries.add()
                _encode(entry.key, key_value, verbose, depth)
                _encode(entry.value, item, verbose, depth)
        case RecordValue():
            _encode_record(out.record, value, verbose, depth)
        case VariantValue(type_id, constructor, argument):
            if verbose and type_id is not None:
                out.variant.variant_id.CopyFrom(identifier_to_proto(type_id))
            out.variant.constructor = constructor
            _encode(out.variant.value, argument, verbose, depth)
        case _:
            _fail("", f"not a Daml-LF value: {type(value).__name__}")


def _encode_record(out: value_pb2.Record, record: RecordValue, verbose: bool,
                   depth: int) -> None:
    out.SetInParent()
    if verbose and record.type_id is not None:
        out.record_id.CopyFrom(identifier_to_proto(record.type_id))
    for label, item in record.fields:
        field = out.fields.add(label=label) if verbose else out.fields.add()
        _encode(field.value, item, verbose, depth)


# ------------------------------------------------------------------------------ decoding


def value_from_proto(pb: value_pb2.Value, path: str = "") -> Value:
    """The Daml-LF value `pb` encodes; `LedgerApiValueError` if it is malformed.

    `path` names the value in error messages (e.g. ``"choice_argument"``).
    """
    try:
        return _decode(pb, 0)
    except InvalidArgument as error:
        raise _relocate(error, path) from None


def record_from_proto(pb: value_pb2.Record, path: str = "") -> RecordValue:
    """A bare `Record` (create arguments); unlabelled fields keep ``""`` as label."""
    try:
        return _decode_record(pb, 0)
    except InvalidArgument as error:
        raise _relocate(error, path) from None


def _decode(pb: value_pb2.Value, depth: int) -> Value:
    if depth >= MAX_NESTING:
        _fail("", f"value nests deeper than {MAX_NESTING} levels")
    case = pb.WhichOneof("Sum")
    if case is None:
        _fail("", "value has none of its cases set")
    scalar = _SCALAR_DECODERS.get(case)
    try:
        if scalar is not None:
            return scalar(pb)
        return _CONTAINER_DECODERS[case](pb, depth + 1)
    except LedgerApiValueError:
        raise
    except InvalidArgument as error:  # a range check in the core value constructors
        raise LedgerApiValueError("", error.message) from None


def _decode_list(pb: value_pb2.Value, depth: int) -> Value:
    items = []
    for position, element in enumerate(pb.list.elements):
        try:
            items.append(_decode(element, depth))
        except InvalidArgument as error:
            raise _relocate(error, f"[{position}]") from None
    return ListValue(tuple(items))


def _decode_optional(pb: value_pb2.Value, depth: int) -> Value:
    if not pb.optional.HasField("value"):
        return OptionalValue(None)
    try:
        return OptionalValue(_decode(pb.optional.value, depth))
    except InvalidArgument as error:
        raise _relocate(error, ".Some") from None


def _decode_text_map(pb: value_pb2.Value, depth: int) -> Value:
    entries = []
    for entry in pb.map.entries:
        try:
            entries.append((entry.key, _required(entry, "value", depth)))
        except InvalidArgument as error:
            raise _relocate(error, f"[{entry.key!r}]") from None
    if len({key for key, _ in entries}) != len(entries):
        _fail("", "TextMap has a duplicate key")
    return TextMapValue(tuple(entries))


def _decode_gen_map(pb: value_pb2.Value, depth: int) -> Value:
    entries = []
    for position, entry in enumerate(pb.gen_map.entries):
        try:
            key = _required(entry, "key", depth)
        except InvalidArgument as error:
            raise _relocate(error, f"[{position}].key") from None
        try:
            entries.append((key, _required(entry, "value", depth)))
        except InvalidArgument as error:
            raise _relocate(error, f"[{position}].value") from None
    if len({key for key, _ in entries}) != len(entries):
        _fail("", "GenMap has a duplicate key")
    return GenMapValue(tuple(entries))


def _decode_variant(pb: value_pb2.Value, depth: int) -> Value:
    variant = pb.variant
    type_id = _optional_identifier(variant, "variant_id")
    constructor = _name(variant.constructor, "variant constructor")
    try:
        argument = _required(variant, "value", depth)
    except InvalidArgument as error:
        raise _relocate(error, f".{constructor}") from None
    return VariantValue(type_id, constructor, argument)


def _decode_enum(pb: value_pb2.Value) -> Value:
    type_id = _optional_identifier(pb.enum, "enum_id")
    return EnumValue(type_id, _name(pb.enum.constructor, "enum constructor"))


def _decode_record(pb: value_pb2.Record, depth: int) -> RecordValue:
    type_id = _optional_identifier(pb, "record_id")
    fields: list[tuple[str, Value]] = []
    for position, field in enumerate(pb.fields):
        label = field.label
        step = f".{label}" if label else f".fields[{position}]"
        try:
            if label:
                _name(label, "record label")
            fields.append((label, _required(field, "value", depth)))
        except InvalidArgument as error:
            raise _relocate(error, step) from None
    labels = [label for label, _ in fields if label]
    if len(set(labels)) != len(labels):
        _fail("", "record has a duplicate field label")
    return RecordValue(type_id, tuple(fields))


def _required(pb: object, field: str, depth: int) -> Value:
    if not pb.HasField(field):  # type: ignore[attr-defined]
        _fail("", f"{field} is required but not set")
    return _decode(getattr(pb, field), depth)


def _name(text: str, what: str) -> str:
    if not _NAME.fullmatch(text):
        _fail("", f"{what} {_show(text)} is not a Daml name")
    return text


_SCALAR_DECODERS: dict[str, Callable[[value_pb2.Value], Value]] = {
    "unit": lambda pb: UnitValue(),
    "bool": lambda pb: BoolValue(pb.bool),
    "int64": lambda pb: Int64Value(pb.int64),
    "numeric": lambda pb: numeric_from_text(pb.numeric),
    "text": lambda pb: TextValue(pb.text),
    "party": lambda pb: PartyValue(pb.party),
    "contract_id": lambda pb: ContractIdValue(pb.contract_id),
    "date": lambda pb: DateValue(pb.date),
    "timestamp": lambda pb: TimestampValue(pb.timestamp),
    "enum": lambda pb: _decode_enum(pb),
}

_CONTAINER_DECODERS: dict[str, Callable[[value_pb2.Value, int], Value]] = {
    "list": _decode_list,
    "optional": _decode_optional,
    "map": _decode_text_map,
    "gen_map": _decode_gen_map,
    "variant": _decode_variant,
    "record": lambda pb, depth: _decode_record(pb.record, depth),
}


# ------------------------------------------------------------------------------ labelling


def label_record(record: RecordValue, definition: RecordDef, path: str = "") -> RecordValue:
    """`record` with Daml's label rules applied against its type's declaration.

    If every field carries a label, fields are matched by name (any order, each exactly once)
    and returned in declaration order. If any label is missing, fields are matched by position:
    the count must match and any label given must be the declared one.
    """
    declared = [name for name, _ in definition.fields]
    labels = [label for label, _ in record.fields]
    if record.fields and all(labels):
        given = dict(record.fields)
        unknown = [label for label in labels if label not in declared]
        missing = [name for name in declared if name not in given]
        if unknown or missing or len(given) != len(labels):
            _fail(path, f"record fields {labels} do not match the declared fields {declared}")
        return RecordValue(record.type_id, tuple((name, given[name]) for name in declared))
    if len(labels) != len(declared):
        _fail(path, f"record has {len(labels)} unlabelled or partly labelled fields, "
                    f"its type declares {len(declared)}")
    for position, (label, name) in enumerate(zip(labels, declared, strict=True)):
        if label and label != name:
            _fail(path, f"field {position} is labelled {label!r}, its type declares {name!r}")
    return RecordValue(record.type_id,
                       tuple((name, item) for name, (_, item) in zip(declared, record.fields,
                                                                      strict=True)))

