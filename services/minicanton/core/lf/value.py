"""The Daml-LF value model.

One frozen dataclass per kind of Daml-LF value, mirroring the cases of the Ledger API's
`Value` message. Values are immutable and hashable so they can be keys of a `GenMapValue`
and parts of contract keys. Numeric follows Daml's ``Numeric 10``: at most 38 significant
digits with exactly 10 after the point; Timestamp is microseconds since the Unix epoch; Date
is days since the epoch. Construction validates ranges so an out-of-range value can never
exist in memory.

Maps follow the Daml-LF value specification (``daml-lf/spec/value.rst``): "if two or more
entries have the same keys, the last one overrides", and entry order carries no meaning. So
`TextMapValue` and `GenMapValue` keep the last entry of each key and sort their entries (by
key text; by `order_key` of the key), which makes equality, hashing and the canonical
encoding independent of the order entries were given in.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal

from minicanton.core.errors import InvalidArgument
from minicanton.core.lf.identifier import Identifier

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
NUMERIC_SCALE = 10
NUMERIC_PRECISION = 38
# Daml's bounds: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z
TIMESTAMP_MIN_US = -62135596800_000000
TIMESTAMP_MAX_US = 253402300799_999999
DATE_MIN_DAYS = -719162
DATE_MAX_DAYS = 2932896

MAX_NESTING = 100  # Daml-LF's value nesting limit (containers inside containers)

_NUMERIC_QUANTUM = Decimal(1).scaleb(-NUMERIC_SCALE)
_NUMERIC_LIMIT = Decimal(10) ** (NUMERIC_PRECISION - NUMERIC_SCALE)
# Python's default context keeps 28 digits; Numeric 10 needs 38. A context of our own, passed
# to the one operation that rounds, rather than a `localcontext()` entered for every value.
_NUMERIC_CONTEXT = Context(prec=NUMERIC_PRECISION + 2)


@dataclass(frozen=True, slots=True)
class UnitValue:
    pass


@dataclass(frozen=True, slots=True)
class BoolValue:
    value: bool


@dataclass(frozen=True, slots=True)
class Int64Value:
    value: int

    def __init__(self, value: int) -> None:
        object.__setattr__(self, "value", value)
        self.__post_init__()

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise InvalidArgument(f"Int64 needs an int, got {type(self.value).__name__}")
        if not INT64_MIN <= self.value <= INT64_MAX:
            raise InvalidArgument(f"{self.value} is out of the Int64 range")


@dataclass(frozen=True, slots=True)
class NumericValue:
    """Exact decimal, normalised to scale 10 at construction."""

    value: Decimal

    def __init__(self, value: Decimal) -> None:
        object.__setattr__(self, "value", value)
        self.__post_init__()

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", normalise_numeric(self.value))


def normalise_numeric(raw: Decimal) -> Decimal:
    if not isinstance(raw, Decimal) or not raw.is_finite():
        raise InvalidArgument(f"Numeric needs a finite decimal, got {raw!r}")
    quantised = raw.quantize(_NUMERIC_QUANTUM, context=_NUMERIC_CONTEXT)
    too_large = quantised.copy_abs() >= _NUMERIC_LIMIT
    if quantised != raw:
        raise InvalidArgument(f"{raw} has more than {NUMERIC_SCALE} decimal places")
    if too_large:
        raise InvalidArgument(f"{raw} exceeds Numeric {NUMERIC_SCALE} precision")
    return quantised


@dataclass(frozen=True, slots=True)
class TextValue:
    value: str

    def __init__(self, value: str) -> None:
        object.__setattr__(self, "value", value)


@dataclass(frozen=True, slots=True)
class PartyValue:
    value: str

    def __init__(self, value: str) -> None:
        object.__setattr__(self, "value", value)
        self.__post_init__()

    def __post_init__(self) -> None:
        if not self.value or len(self.value) > 255:
            raise InvalidArgument("a party id is 1-255 characters")


@dataclass(frozen=True, slots=True)
class ContractIdValue:
    value: str

    def __init__(self, value: str) -> None:
        object.__setattr__(self, "value", value)
        self.__post_init__()

    def __post_init__(self) -> None:
        if not self.value or len(self.value) > 255:
            raise InvalidArgument("a contract id is 1-255 characters")


@dataclass(frozen=True, slots=True)
class DateValue:
    days_since_epoch: int

    def __post_init__(self) -> None:
        if not DATE_MIN_DAYS <= self.days_since_epoch <= DATE_MAX_DAYS:
            raise InvalidArgument(f"date {self.days_since_epoch} is out of range")


@dataclass(frozen=True, slots=True)
class TimestampValue:
    micros_since_epoch: int

    def __post_init__(self) -> None:
        if not TIMESTAMP_MIN_US <= self.micros_since_epoch <= TIMESTAMP_MAX_US:
            raise InvalidArgument(f"timestamp {self.micros_since_epoch} is out of range")


@dataclass(frozen=True, slots=True)
class ListValue:
    items: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class OptionalValue:
    value: Value | None


@dataclass(frozen=True, slots=True)
class TextMapValue:
    """Entries sorted by key (code point order, which is UTF-8 byte order); of entries with
    the same key the last one is kept."""

    entries: tuple[tuple[str, Value], ...]

    def __post_init__(self) -> None:
        last = dict(self.entries)
        object.__setattr__(self, "entries", tuple(sorted(last.items(), key=_first)))


@dataclass(frozen=True, slots=True)
class GenMapValue:
    """Entries sorted by `order_key` of their keys; of entries with the same key the last
    one is kept."""

    entries: tuple[tuple[Value, Value], ...]

    def __post_init__(self) -> None:
        last = dict(self.entries)
        ordered = sorted(last.items(), key=lambda entry: order_key(entry[0]))
        object.__setattr__(self, "entries", tuple(ordered))


def _first(entry: tuple[str, Value]) -> str:
    return entry[0]


@dataclass(frozen=True, slots=True)
class RecordValue:
    """Fields in the order the record type declares them."""

    type_id: Identifier | None
    fields: tuple[tuple[str, Value], ...]

    def __init__(self, type_id: Identifier | None, fields: tuple[tuple[str, Value], ...]) -> None:
        object.__setattr__(self, "type_id", type_id)
        object.__setattr__(self, "fields", fields)

    def field(self, name: str) -> Value:
        for label, value in self.fields:
            if label == name:
                return value
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class VariantValue:
    type_id: Identifier | None
    constructor: str
    value: Value


@dataclass(frozen=True, slots=True)
class EnumValue:
    type_id: Identifier | None
    constructor: str


Value = (
    UnitValue
    | BoolValue
    | Int64Value
    | NumericValue
    | TextValue
    | PartyValue
    | ContractIdValue
    | DateValue
    | TimestampValue
    | ListValue
    | OptionalValue
    | TextMapValue
    | GenMapValue
    | RecordValue
    | VariantValue
    | EnumValue
)


# ------------------------------------------------------------------------- the value order

OrderKey = tuple[object, ...]


def order_key(value: Value) -> OrderKey:
    """A sort key giving a total order on values, for GenMap keys.

    Values of different kinds order by kind (in the order of the `Value` union); within a
    kind: numbers, dates and times by magnitude, text by code point, False before True,
    None before Some, lists, maps and records element by element, variants and enums by type
    id and then constructor *name* (Daml's engine orders constructors by declaration rank,
    which a value does not carry; the Daml-LF value spec leaves map entry order free, so only
    equality and hashing depend on the order, and they only need it to be total). Distinct
    values have distinct keys.
    """
    return _order_key(value, 0)


def _order_key(value: Value, depth: int) -> OrderKey:
    rank = _KIND_RANK[type(value)]
    if isinstance(value, UnitValue):
        return (rank,)
    if isinstance(value, DateValue):
        return (rank, value.days_since_epoch)
    if isinstance(value, TimestampValue):
        return (rank, value.micros_since_epoch)
    if isinstance(value, EnumValue):
        return (rank, _type_key(value.type_id), value.constructor)
    if not isinstance(value, _CONTAINERS):
        return (rank, value.value)  # Bool, Int64, Numeric, Text, Party, ContractId
    if depth >= MAX_NESTING:
        raise InvalidArgument(f"value nests deeper than {MAX_NESTING} levels")
    return (rank, *_container_key(value, depth + 1))


def _container_key(value: Value, depth: int) -> OrderKey:
    if isinstance(value, ListValue):
        return (tuple(_order_key(item, depth) for item in value.items),)
    if isinstance(value, OptionalValue):
        return () if value.value is None else (_order_key(value.value, depth),)
    if isinstance(value, TextMapValue):
        return (tuple((key, _order_key(item, depth)) for key, item in value.entries),)
    if isinstance(value, GenMapValue):
        return (
            tuple((_order_key(k, depth), _order_key(v, depth)) for k, v in value.entries),
        )
    if isinstance(value, RecordValue):
        fields = tuple((label, _order_key(item, depth)) for label, item in value.fields)
        return (_type_key(value.type_id), fields)
    assert isinstance(value, VariantValue)
    return (_type_key(value.type_id), value.constructor, _order_key(value.value, depth))


def _type_key(type_id: Identifier | None) -> tuple[str, ...]:
    if type_id is None:
        return ()
    return (type_id.package_id, type_id.module_name, type_id.entity_name)


_KIND_RANK: dict[type, int] = {
    kind: rank
    for rank, kind in enumerate(
        (UnitValue, BoolValue, Int64Value, NumericValue, TextValue, PartyValue,
         ContractIdValue, DateValue, TimestampValue, ListValue, OptionalValue, TextMapValue,
         GenMapValue, RecordValue, VariantValue, EnumValue),
        start=1,
    )
}
_CONTAINERS = (ListValue, OptionalValue, TextMapValue, GenMapValue, RecordValue, VariantValue)


def referenced_contracts(value: Value) -> set[str]:
    """Every contract id inside `value`."""
    found: set[str] = set()
    pending: list[Value] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, ContractIdValue):
            found.add(item.value)
        elif isinstance(item, RecordValue):
            pending.extend(v for _, v in item.fields)
        elif isinstance(item, VariantValue):
            pending.append(item.value)
        elif isinstance(item, ListValue):
            pending.extend(item.items)
        elif isinstance(item, OptionalValue) and item.value is not None:
            pending.append(item.value)
        elif isinstance(item, TextMapValue):
            pending.extend(v for _, v in item.entries)
        elif isinstance(item, GenMapValue):
            pending.extend(v for entry in item.entries for v in entry)
    return found
