"""The canonical binary encoding of Daml-LF values.

Theory of operation
-------------------
Hashes of views, contract keys and contract ids are taken over these bytes, so the format is
frozen: a change here changes every hash ever computed. A new format gets a new version
byte, never an edit of this one (the golden-bytes test pins it).

An encoding is ``FORMAT_VERSION`` followed by one value. Each value starts with a one-byte
kind tag; what follows depends on the kind:

==========  ===================================================================
kind        body
==========  ===================================================================
Unit        nothing
Bool        one byte, 0 or 1
Int64       8 bytes, big-endian two's complement
Numeric     16 bytes, big-endian two's complement of ``value * 10**10``
Text        ``u32`` byte length, then UTF-8 (likewise Party, ContractId)
Date        4 bytes, signed days since 1970-01-01
Timestamp   8 bytes, signed microseconds since 1970-01-01T00:00:00Z
List        ``u32`` count, then the items
Optional    0 (None) or 1 followed by the value
TextMap     ``u32`` count, then (Text key, value) in strictly ascending key order
GenMap      ``u32`` count, then (key, value) in strictly ascending `order_key` order
Record      type id, ``u32`` count, then (Text label, value) in declared order
Variant     type id, Text constructor, value
Enum        type id, Text constructor
==========  ===================================================================

A type id is 0 (absent) or 1 followed by package id, module name and entity name as Text.
Integers are fixed-width big-endian; every length is a ``u32``.

The decoder accepts exactly the bytes the encoder produces and nothing else (flag bytes other
than 0/1, unsorted TextMap or GenMap keys, non-UTF-8 text, trailing bytes and truncation are all
errors), so ``decode_value(b) == v`` implies ``encode_value(v) == b``: two different byte
strings never decode to the same value. Values nest at most `MAX_NESTING` containers (List,
Optional, TextMap, GenMap, Record, Variant) deep, as in Daml-LF, so neither direction can
exhaust the Python stack.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from decimal import Decimal
from enum import IntEnum

from minicanton.core.errors import InvalidArgument
from minicanton.core.lf.identifier import Identifier
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
    order_key,
)

__all__ = [
    "FORMAT_VERSION",
    "MAX_NESTING",
    "Kind",
    "ValueDecodeError",
    "ValueEncodeError",
    "decode_value",
    "encode_value",
    "numeric_value",
]

FORMAT_VERSION = 1
_NUMERIC_UNSCALED_LIMIT = 10**NUMERIC_PRECISION


class ValueEncodeError(InvalidArgument):
    """A value that has no canonical encoding (too deeply nested, or text that is not UTF-8)."""


class ValueDecodeError(InvalidArgument):
    """Bytes that are not the canonical encoding of any value."""


class Kind(IntEnum):
    """Stable tags: they are part of every value hash, never renumber one."""

    UNIT = 1
    BOOL = 2
    INT64 = 3
    NUMERIC = 4
    TEXT = 5
    PARTY = 6
    CONTRACT_ID = 7
    DATE = 8
    TIMESTAMP = 9
    LIST = 10
    OPTIONAL = 11
    TEXT_MAP = 12
    GEN_MAP = 13
    RECORD = 14
    VARIANT = 15
    ENUM = 16


_I32 = struct.Struct(">i")
_U32 = struct.Struct(">I")
_I64 = struct.Struct(">q")
_NUMERIC_UNSCALE = 10**NUMERIC_SCALE


def numeric_value(raw: Decimal) -> NumericValue:
    """A NumericValue: its normalisation keeps all 38 digits (value.normalise_numeric rounds
    in a context of its own; Python's default keeps 28)."""
    return NumericValue(raw)


# ---------------------------------------------------------------------------------- encoding


def encode_value(value: Value) -> bytes:
    """The canonical bytes of `value`: equal values give equal bytes."""
    out = bytearray((FORMAT_VERSION,))
    _encode(value, out, 0)
    return bytes(out)


def _encode(value: Value, out: bytearray, depth: int) -> None:
    scalar = _SCALAR_ENCODERS.get(type(value))
    if scalar is not None:
        scalar(value, out)
        return
    if depth >= MAX_NESTING:
        raise ValueEncodeError(f"value nests deeper than {MAX_NESTING} levels")
    _encode_container(value, out, depth + 1)


def _encode_container(value: Value, out: bytearray, depth: int) -> None:
    if isinstance(value, ListValue):
        _put_count(out, Kind.LIST, len(value.items))
        for item in value.items:
            _encode(item, out, depth)
    elif isinstance(value, OptionalValue):
        out += bytes((Kind.OPTIONAL, 0 if value.value is None else 1))
        if value.value is not None:
            _encode(value.value, out, depth)
    elif isinstance(value, TextMapValue):
        _put_count(out, Kind.TEXT_MAP, len(value.entries))
        for key, item in value.entries:
            _put_text(out, key)
            _encode(item, out, depth)
    elif isinstance(value, GenMapValue):
        _put_count(out, Kind.GEN_MAP, len(value.entries))
        for key_value, item in value.entries:
            _encode(key_value, out, depth)
            _encode(item, out, depth)
    else:
        _encode_data(value, out, depth)


def _encode_data(value: Value, out: bytearray, depth: int) -> None:
    if isinstance(value, RecordValue):
        out.append(Kind.RECORD)
        _put_type_id(out, value.type_id)
        out += _U32.pack(len(value.fields))
        for label, item in value.fields:
            _put_text(out, label)
            _encode(item, out, depth)
    elif isinstance(value, VariantValue):
        out.append(Kind.VARIANT)
        _put_type_id(out, value.type_id)
        _put_text(out, value.constructor)
        _encode(value.value, out, depth)
    else:
        raise ValueEncodeError(f"not a Daml-LF value: {type(value).__name__}")


def _put_count(out: bytearray, kind: Kind, count: int) -> None:
    out.append(kind)
    out += _U32.pack(count)


def _put_text(out: bytearray, text: str) -> None:
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueEncodeError(f"text is not valid Unicode (lone surrogate): {text!r}") from error
    out += _U32.pack(len(data))
    out += data


def _put_type_id(out: bytearray, type_id: Identifier | None) -> None:
    if type_id is None:
        out.append(0)
        return
    out.append(1)
    for part in (type_id.package_id, type_id.module_name, type_id.entity_name):
        _put_text(out, part)


def _put_enum(value: Value, out: bytearray) -> None:
    assert isinstance(value, EnumValue)
    out.append(Kind.ENUM)
    _put_type_id(out, value.type_id)
    _put_text(out, value.constructor)


def _put_numeric(value: Value, out: bytearray) -> None:
    assert isinstance(value, NumericValue)
    # exact, and in C: a normalised Numeric's denominator divides 10**scale
    numerator, denominator = value.value.as_integer_ratio()
    if _NUMERIC_UNSCALE % denominator:  # cannot happen for a normalised NumericValue: a guard
        raise ValueEncodeError(f"{value.value} has more than {NUMERIC_SCALE} decimals")
    out.append(Kind.NUMERIC)
    out += (numerator * (_NUMERIC_UNSCALE // denominator)).to_bytes(16, "big", signed=True)


def _scalar_encoder(
    kind: Kind, body: Callable[[Value], bytes]
) -> Callable[[Value, bytearray], None]:
    def encode(value: Value, out: bytearray) -> None:
        out.append(kind)
        out += body(value)

    return encode


def _text_body(value: Value) -> bytes:
    assert isinstance(value, TextValue | PartyValue | ContractIdValue)
    buffer = bytearray()
    _put_text(buffer, value.value)
    return bytes(buffer)


def _bool_body(value: Value) -> bytes:
    assert isinstance(value, BoolValue)
    return b"\x01" if value.value else b"\x00"


def _int64_body(value: Value) -> bytes:
    assert isinstance(value, Int64Value)
    return _I64.pack(value.value)


def _date_body(value: Value) -> bytes:
    assert isinstance(value, DateValue)
    return _I32.pack(value.days_since_epoch)


def _timestamp_body(value: Value) -> bytes:
    assert isinstance(value, TimestampValue)
    return _I64.pack(value.micros_since_epoch)


_SCALAR_ENCODERS: dict[type, Callable[[Value, bytearray], None]] = {
    UnitValue: _scalar_encoder(Kind.UNIT, lambda _: b""),
    BoolValue: _scalar_encoder(Kind.BOOL, _bool_body),
    Int64Value: _scalar_encoder(Kind.INT64, _int64_body),
    NumericValue: _put_numeric,
    TextValue: _scalar_encoder(Kind.TEXT, _text_body),
    PartyValue: _scalar_encoder(Kind.PARTY, _text_body),
    ContractIdValue: _scalar_encoder(Kind.CONTRACT_ID, _text_body),
    DateValue: _scalar_encoder(Kind.DATE, _date_body),
    TimestampValue: _scalar_encoder(Kind.TIMESTAMP, _timestamp_body),
    EnumValue: _put_enum,  # an enum holds no value, so it adds no nesting level
}


# ---------------------------------------------------------------------------------- decoding


def decode_value(data: bytes) -> Value:
    """The value whose canonical encoding is exactly `data`; `ValueDecodeError` otherwise."""
    reader = _Reader(bytes(data))
    version = reader.byte("format version")
    if version != FORMAT_VERSION:
        raise ValueDecodeError(f"unknown value format version {version}")
    value = _decode(reader, 0)
    if reader.position != len(reader.data):
        raise ValueDecodeError(
            f"{len(reader.data) - reader.position} trailing bytes after the value"
        )
    return value


class _Reader:
    """A cursor over the input; every read checks that the bytes are there."""

    __slots__ = ("data", "position")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0

    # Reads index and unpack in place, and a `what` is formatted only into an error: a
    # contract's argument is a few hundred of these reads.
    def take(self, size: int, what: str) -> bytes:
        start = self.position
        end = start + size
        if end > len(self.data):
            raise self._truncated(what, size)
        self.position = end
        return self.data[start:end]

    def _truncated(self, what: str, size: int) -> ValueDecodeError:
        return ValueDecodeError(
            f"truncated: {what} needs {size} bytes at offset {self.position}, "
            f"{len(self.data) - self.position} left"
        )

    def byte(self, what: str) -> int:
        start = self.position
        if start >= len(self.data):
            raise self._truncated(what, 1)
        self.position = start + 1
        return self.data[start]

    def flag(self, what: str) -> bool:
        offset = self.position
        flag = self.byte(what)
        if flag > 1:
            raise ValueDecodeError(f"{what} at offset {offset} must be 0 or 1, got {flag}")
        return flag == 1

    def count(self, what: str) -> int:
        start = self.position
        if start + 4 > len(self.data):
            raise self._truncated(what, 4)
        count: int = _U32.unpack_from(self.data, start)[0]
        self.position = start + 4
        # Each element takes at least one byte: a huge count in a short input is corrupt,
        # and refusing it early keeps a forged count from allocating anything.
        if count > len(self.data) - self.position:
            raise ValueDecodeError(f"truncated: {what} of {count} exceeds the input")
        return count

    def text(self, what: str) -> str:
        start = self.position
        if start + 4 > len(self.data):
            raise self._truncated(f"length of {what}", 4)
        size: int = _U32.unpack_from(self.data, start)[0]
        start += 4
        self.position = start
        if size > len(self.data) - start:
            raise ValueDecodeError(f"truncated: length of {what} of {size} exceeds the input")
        end = start + size
        self.position = end
        try:
            return self.data[start:end].decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueDecodeError(f"{what} is not valid UTF-8") from error


_KINDS: dict[int, Kind] = {kind.value: kind for kind in Kind}


def _decode(reader: _Reader, depth: int) -> Value:
    offset = reader.position
    tag = reader.byte("kind tag")
    kind = _KINDS.get(tag)
    if kind is None:
        raise ValueDecodeError(f"unknown kind tag {tag} at offset {offset}")
    try:
        scalar = _SCALAR_DECODERS.get(kind)
        if scalar is not None:
            return scalar(reader)
        if depth >= MAX_NESTING:
            raise ValueDecodeError(f"value nests deeper than {MAX_NESTING} levels")
        return _decode_container(kind, reader, depth + 1)
    except ValueDecodeError:
        raise
    except InvalidArgument as error:  # a value constructor refused what the bytes say
        raise ValueDecodeError(f"{kind.name} at offset {offset}: {error.message}") from error


def _decode_container(kind: Kind, reader: _Reader, depth: int) -> Value:
    if kind is Kind.LIST:
        count = reader.count("list length")
        return ListValue(tuple(_decode(reader, depth) for _ in range(count)))
    if kind is Kind.OPTIONAL:
        present = reader.flag("optional flag")
        return OptionalValue(_decode(reader, depth) if present else None)
    if kind is Kind.TEXT_MAP:
        return _decode_text_map(reader, depth)
    if kind is Kind.GEN_MAP:
        return _decode_gen_map(reader, depth)
    if kind is Kind.RECORD:
        type_id = _read_type_id(reader)
        count = reader.count("field count")
        fields = tuple((reader.text("field label"), _decode(reader, depth)) for _ in range(count))
        return RecordValue(type_id, fields)
    if kind is Kind.VARIANT:
        type_id = _read_type_id(reader)
        constructor = reader.text("constructor")
        return VariantValue(type_id, constructor, _decode(reader, depth))
    raise AssertionError(f"{kind.name} is not a container")  # _SCALAR_DECODERS has the rest


def _decode_text_map(reader: _Reader, depth: int) -> TextMapValue:
    count = reader.count("map size")
    entries: list[tuple[str, Value]] = []
    for _ in range(count):
        key = reader.text("map key")
        if entries and key <= entries[-1][0]:
            raise ValueDecodeError(f"TextMap keys not strictly ascending at {key!r}")
        entries.append((key, _decode(reader, depth)))
    return TextMapValue(tuple(entries))


def _decode_gen_map(reader: _Reader, depth: int) -> GenMapValue:
    # A GenMap's entries are sorted at construction, so only one byte order is canonical:
    # accepting another would let two byte strings decode to the same value.
    count = reader.count("map size")
    entries: list[tuple[Value, Value]] = []
    previous: tuple[object, ...] | None = None
    for _ in range(count):
        offset = reader.position
        key = _decode(reader, depth)
        key_order = order_key(key)
        if previous is not None and key_order <= previous:
            raise ValueDecodeError(f"GenMap keys not strictly ascending at offset {offset}")
        previous = key_order
        entries.append((key, _decode(reader, depth)))
    return GenMapValue(tuple(entries))


def _read_type_id(reader: _Reader) -> Identifier | None:
    if not reader.flag("type id flag"):
        return None
    return Identifier(
        reader.text("package id"), reader.text("module name"), reader.text("entity name")
    )


def _read_numeric(reader: _Reader) -> Value:
    unscaled = int.from_bytes(reader.take(16, "Numeric"), "big", signed=True)
    if abs(unscaled) >= _NUMERIC_UNSCALED_LIMIT:
        raise ValueDecodeError(f"Numeric {unscaled}e-{NUMERIC_SCALE} exceeds 38 digits")
    return numeric_value(Decimal(f"{unscaled}E-{NUMERIC_SCALE}"))  # exact: parsed, not rounded


def _read_bool(reader: _Reader) -> Value:
    return BoolValue(reader.flag("Bool"))


def _read_int64(reader: _Reader) -> Value:
    return Int64Value(_I64.unpack(reader.take(8, "Int64"))[0])


def _read_date(reader: _Reader) -> Value:
    return DateValue(_I32.unpack(reader.take(4, "Date"))[0])


def _read_timestamp(reader: _Reader) -> Value:
    return TimestampValue(_I64.unpack(reader.take(8, "Timestamp"))[0])


_SCALAR_DECODERS: dict[Kind, Callable[[_Reader], Value]] = {
    Kind.UNIT: lambda _: UnitValue(),
    Kind.BOOL: _read_bool,
    Kind.INT64: _read_int64,
    Kind.NUMERIC: _read_numeric,
    Kind.TEXT: lambda reader: TextValue(reader.text("Text")),
    Kind.PARTY: lambda reader: PartyValue(reader.text("Party")),
    Kind.CONTRACT_ID: lambda reader: ContractIdValue(reader.text("ContractId")),
    Kind.DATE: _read_date,
    Kind.TIMESTAMP: _read_timestamp,
    Kind.ENUM: lambda reader: EnumValue(_read_type_id(reader), reader.text("constructor")),
}
