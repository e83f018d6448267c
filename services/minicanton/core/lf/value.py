"""The Daml-LF value model.

One frozen dataclass per kind of Daml-LF value, mirroring the cases of the Ledger API's
`Value` message. Values are immutable and hashable so they can be keys of a `GenMapValue`
and parts of contract keys. Numeric follows Daml's ``Numeric 10``: at most 38 significant
digits with exactly 10 after the point; Timestamp is microseconds since the Unix epoch; Date
is days since the epoch. Construction validates ranges so an out-of-range value can never
exist in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

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

_NUMERIC_QUANTUM = Decimal(1).scaleb(-NUMERIC_SCALE)
_NUMERIC_LIMIT = Decimal(10) ** (NUMERIC_PRECISION - NUMERIC_SCALE)


@dataclass(frozen=True, slots=True)
class UnitValue:
    pass


@dataclass(frozen=True, slots=True)
class BoolValue:
    value: bool


@dataclass(frozen=True, slots=True)
class Int64Value:
    value: int

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise InvalidArgument(f"Int64 needs an int, got {type(self.value).__name__}")
        if not INT64_MIN <= self.value <= INT64_MAX:
            raise InvalidArgument(f"{self.value} is out of the Int64 range")


@dataclass(frozen=True, slots=True)
class NumericValue:
    """Exact decimal, normalised to scale 10 at construction."""

    value: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", normalise_numeric(self.value))


def normalise_numeric(raw: Decimal) -> Decimal:
    if not isinstance(raw, Decimal) or not raw.is_finite():
        raise InvalidArgument(f"Numeric needs a finite decimal, got {raw!r}")
    # Python's default context keeps 28 digits; Numeric 10 needs 38.
    with localcontext() as context:
        context.prec = NUMERIC_PRECISION + 2
        quantised = raw.quantize(_NUMERIC_QUANTUM)
        too_large = abs(quantised) >= _NUMERIC_LIMIT
    if quantised != raw:
        raise InvalidArgument(f"{raw} has more than {NUMERIC_SCALE} decimal places")
    if too_large:
        raise InvalidArgument(f"{raw} exceeds Numeric {NUMERIC_SCALE} precision")
    return quantised


@dataclass(frozen=True, slots=True)
class TextValue:
    value: str


@dataclass(frozen=True, slots=True)
class PartyValue:
    value: str

    def __post_init__(self) -> None:
        if not self.value or len(self.value) > 255:
            raise InvalidArgument("a party id is 1-255 characters")


@dataclass(frozen=True, slots=True)
class ContractIdValue:
    value: str

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
    """Entries sorted by key, keys unique (Daml's TextMap is ordered by key)."""

    entries: tuple[tuple[str, Value], ...]

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.entries, key=lambda entry: entry[0]))
        keys = [key for key, _ in ordered]
        if len(set(keys)) != len(keys):
            raise InvalidArgument("TextMap has duplicate keys")
        object.__setattr__(self, "entries", ordered)


@dataclass(frozen=True, slots=True)
class GenMapValue:
    """Entries in insertion order, keys unique."""

    entries: tuple[tuple[Value, Value], ...]

    def __post_init__(self) -> None:
        keys = [key for key, _ in self.entries]
        if len(set(keys)) != len(keys):
            raise InvalidArgument("GenMap has duplicate keys")


@dataclass(frozen=True, slots=True)
class RecordValue:
    """Fields in the order the record type declares them."""

    type_id: Identifier | None
    fields: tuple[tuple[str, Value], ...]

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
