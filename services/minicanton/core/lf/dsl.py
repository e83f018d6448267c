"""The contract language: templates, data types and choices written as Python classes.

Theory of operation
-------------------
A package is the source of one Python module that imports only from `minicanton.dsl`. It
declares its module name (``MODULE = "dvp"``) and classes deriving from the bases here:

- `Template`: annotated fields, ``signatories`` / ``observers`` (a field name, a tuple of
  field names, or a function of the contract returning a party or parties), an optional
  ``ensure(self) -> bool`` precondition, an optional ``key = Key(type, value, maintainers)``,
  and choices declared with `choice`.
- `Record` (annotated fields), `Variant` (one annotated field per constructor) and `Enum`
  (``constructors = ("Red", "Green")``): user data types.

Field types are written with the markers below: `Party`, `Text`, `Int64`, `Numeric`, `Bool`,
`Date`, `Time`, `Unit`, ``ContractId[T]``, ``List[T]``, ``Optional[T]``, ``TextMap[T]`` and the
package's own data classes. Annotations are always postponed (as under ``from __future__
import annotations``), so classes may refer to each other in any order. Nested ``Optional``
is not supported (its Python form would be ambiguous).

Numeric arithmetic follows Daml: every ``+ - * /`` rounds its exact result half-even to 10
decimal places, so ``Decimal(1) / 3 * 3 == Decimal("0.9999999999")``, and a result of 10**28
or more is an ``ArithmeticError``. In a package the name ``Decimal`` is `Numeric` (see
`numeric.py`).

Classes here only *record* what the author wrote; `package.py` resolves the annotations into
Daml-LF types once the module has run, and the engine evaluates the bodies.

Values as choice bodies see them (the engine converts to and from Daml-LF values, checking
types on the way out):

==============  ============================================================
Daml-LF type    Python value
==============  ============================================================
Party, Text     ``str``
ContractId T    ``str`` (the contract id)
Int64           ``int``
Numeric         `Numeric`, a ``decimal.Decimal`` whose operators round half-even to 10
                places at every operation, as Daml's do (``numeric.py``)
Bool            ``bool``
Unit            ``None``
Date            `Date` (a small immutable date class below)
Time            ``int``: microseconds since the Unix epoch, UTC
List T          ``list``
Optional T      ``None`` or the value
TextMap T       ``dict[str, T]``
record          an instance of the `Record` / `Template` class (immutable; ``replace``)
variant         an instance of the `Variant` class, with ``tag`` and ``value``
enum            ``str``: the constructor name
==============  ============================================================

A choice body is ``def Name(self, ctx, arg1: T1, ...) -> R``: ``self`` is the contract, ``ctx``
a `Context` (create, exercise, fetch, keys, assert, ledger time), the other parameters are
the choice argument's fields.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from minicanton.core.lf.numeric import Numeric
from minicanton.core.lf.types import (
    TBool,
    TDate,
    TInt64,
    TParty,
    TText,
    TTimestamp,
    TUnit,
    Type,
)

__all__ = [
    "Bool", "Context", "ContractId", "Date", "Decimal", "Enum", "Int64", "Key", "List", "Numeric",
    "Optional", "Party", "Record", "Template", "Text", "TextMap", "Time", "Unit", "Variant",
    "choice", "days", "hours", "minutes", "seconds",
]

# ------------------------------------------------------------------------------ type markers

Decimal = Numeric
"""In a package, ``Decimal`` is `Numeric`: decimal literals follow Daml's rounding too."""


class PrimitiveType:
    """Base of the markers that stand for a Daml-LF primitive type in annotations."""

    lf_type: ClassVar[Type]


class Party(PrimitiveType):
    lf_type = TParty()


class Text(PrimitiveType):
    lf_type = TText()


class Int64(PrimitiveType):
    lf_type = TInt64()


class Bool(PrimitiveType):
    lf_type = TBool()


class Time(PrimitiveType):
    lf_type = TTimestamp()


class Unit(PrimitiveType):
    lf_type = TUnit()


@dataclass(frozen=True, slots=True)
class TypeApplication:
    """``ContractId[T]``, ``List[T]``, ``Optional[T]`` or ``TextMap[T]`` as written."""

    constructor: str
    argument: Any


class ContractId:
    """``ContractId[Iou]``; bare ``ContractId`` is a contract id of any template."""

    def __class_getitem__(cls, item: Any) -> TypeApplication:
        return TypeApplication("ContractId", item)


class List:
    def __class_getitem__(cls, item: Any) -> TypeApplication:
        return TypeApplication("List", item)


class Optional:
    def __class_getitem__(cls, item: Any) -> TypeApplication:
        return TypeApplication("Optional", item)


class TextMap:
    def __class_getitem__(cls, item: Any) -> TypeApplication:
        return TypeApplication("TextMap", item)


# ------------------------------------------------------------------------------------ dates

_EPOCH_SHIFT_DAYS = 719468  # days from 0000-03-01 to 1970-01-01 (proleptic Gregorian)


@dataclass(frozen=True, slots=True, order=True)
class Date:
    """A calendar date, as the type marker ``Date`` and as the value bodies see.

    Ordered and hashable; convert with `days_since_epoch` / `from_days`, move with
    `add_days`. (Python's ``datetime`` is kept out of the core: it can read the clock.)
    """

    days_since_epoch: int

    lf_type: ClassVar[Type] = TDate()

    @classmethod
    def of(cls, year: int, month: int, day: int) -> Date:
        if not 1 <= month <= 12 or not 1 <= day <= _days_in_month(year, month):
            raise ValueError(f"{year:04d}-{month:02d}-{day:02d} is not a date")
        return cls(_days_from_civil(year, month, day))

    @classmethod
    def from_days(cls, days_since_epoch: int) -> Date:
        return cls(days_since_epoch)

    def add_days(self, days: int) -> Date:
        return Date(self.days_since_epoch + days)

    @property
    def year(self) -> int:
        return _civil_from_days(self.days_since_epoch)[0]

    @property
    def month(self) -> int:
        return _civil_from_days(self.days_since_epoch)[1]

    @property
    def day(self) -> int:
        return _civil_from_days(self.days_since_epoch)[2]

    def __str__(self) -> str:
        year, month, day = _civil_from_days(self.days_since_epoch)
        return f"{year:04d}-{month:02d}-{day:02d}"


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if _is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Howard Hinnant's algorithm: days since 1970-01-01 of a proleptic Gregorian date."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - _EPOCH_SHIFT_DAYS


def _civil_from_days(days: int) -> tuple[int, int, int]:
    days += _EPOCH_SHIFT_DAYS
    era = days // 146097
    day_of_era = days - era * 146097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_index = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * month_index + 2) // 5 + 1
    month = month_index + (3 if month_index < 10 else -9)
    year = year_of_era + era * 400 + (month <= 2)
    return year, month, day


def seconds(count: int) -> int:
    """A duration in microseconds, for arithmetic on `Time` values."""
    return count * 1_000_000


def minutes(count: int) -> int:
    return count * 60_000_000


def hours(count: int) -> int:
    return count * 3_600_000_000


def days(count: int) -> int:
    return count * 86_400_000_000


# ----------------------------------------------------------------------------- data classes


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a Python value (lists and dicts become tuples)."""
    if isinstance(value, list | tuple):
        return tuple(_freeze(item) for item in value)
    if isinstance(value, dict):
        return tuple((key, _freeze(item)) for key, item in value.items())
    return value


class DataObject:
    """Base of records and templates: keyword construction, immutable, compared by value.

    `package.py` sets ``_mc_fields`` (field names in declared order) once the package has run;
    until then construction accepts the annotated names.
    """

    _mc_raw_annotations: ClassVar[dict[str, Any]] = {}
    _mc_fields: ClassVar[tuple[str, ...]] = ()
    _mc_identifier: ClassVar[Any] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__module__ == __name__:
            return  # Record and Template themselves declare no fields
        cls._mc_raw_annotations = inspect.get_annotations(cls)
        cls._mc_fields = tuple(cls._mc_raw_annotations)

    def __init__(self, **fields: Any) -> None:
        names = type(self)._mc_fields
        missing = [name for name in names if name not in fields]
        unknown = [name for name in fields if name not in names]
        if missing or unknown:
            raise TypeError(_field_complaint(type(self).__name__, missing, unknown))
        for name in names:
            object.__setattr__(self, name, fields[name])

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; use replace(...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def replace(self, **changes: Any) -> Any:
        """A copy with some fields changed (Daml's ``this with field = value``)."""
        values = {name: getattr(self, name) for name in type(self)._mc_fields}
        unknown = [name for name in changes if name not in values]
        if unknown:
            raise TypeError(_field_complaint(type(self).__name__, [], unknown))
        values.update(changes)
        return type(self)(**values)

    def field_values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in type(self)._mc_fields)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.field_values() == _values_of(other)

    def __hash__(self) -> int:
        return hash((type(self).__name__, _freeze(self.field_values())))

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in type(self)._mc_fields)
        return f"{type(self).__name__}({shown})"


def _values_of(other: object) -> tuple[Any, ...]:
    assert isinstance(other, DataObject)
    return other.field_values()


def _field_complaint(type_name: str, missing: list[str], unknown: list[str]) -> str:
    parts = []
    if missing:
        parts.append("missing field(s) " + ", ".join(missing))
    if unknown:
        parts.append("unknown field(s) " + ", ".join(unknown))
    return f"{type_name}: " + "; ".join(parts)


class Record(DataObject):
    """A user-defined record type: ``class Pair(Record): left: Party; right: Text``."""


class Template(DataObject):
    """A contract template. Instances are contract arguments (``self`` in choices)."""

    signatories: ClassVar[Any] = None
    observers: ClassVar[Any] = ()
    key: ClassVar[Any] = None


class Variant:
    """A user-defined variant: one annotated attribute per constructor.

    ``class Shape(Variant): Circle: Numeric; Square: Int64``; a value is
    ``Shape("Circle", Decimal("1.5"))`` with ``.tag`` and ``.value``.
    """

    _mc_raw_annotations: ClassVar[dict[str, Any]] = {}
    _mc_identifier: ClassVar[Any] = None
    __slots__ = ("tag", "value")
    tag: str
    value: Any

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._mc_raw_annotations = inspect.get_annotations(cls)

    def __init__(self, tag: str, value: Any = None) -> None:
        if tag not in type(self)._mc_raw_annotations:
            raise TypeError(f"{type(self).__name__} has no constructor {tag!r}")
        object.__setattr__(self, "tag", tag)
        object.__setattr__(self, "value", value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and isinstance(other, Variant)
            and (other.tag, other.value) == (self.tag, self.value)
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.tag, _freeze(self.value)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.tag!r}, {self.value!r})"


class Enum:
    """A user-defined enum: ``class Color(Enum): constructors = ("Red", "Green")``.

    Values are the constructor names as ``str``.
    """

    constructors: ClassVar[tuple[str, ...]] = ()
    _mc_identifier: ClassVar[Any] = None


# ----------------------------------------------------------------------------- declarations


@dataclass(frozen=True, slots=True)
class Key:
    """A contract key: its type, how to compute it from the contract, and its maintainers.

    ``value`` is a function of the contract; ``maintainers`` is a function of the key value
    returning a party or parties, or the name(s) of key record fields holding parties.
    """

    type: Any
    value: Callable[[Any], Any]
    maintainers: Any


PartySpec = Any  # a field name, a tuple of names, or a callable (see `choice`)


class ChoiceDeclaration:
    """What ``@choice(...)`` leaves on the template class; `package.py` compiles it."""

    __slots__ = ("consuming", "controller", "function", "name", "observers", "owner")

    def __init__(
        self,
        function: Callable[..., Any],
        controller: PartySpec,
        consuming: bool,
        observers: PartySpec,
    ) -> None:
        self.function = function
        self.controller = controller
        self.consuming = consuming
        self.observers = observers
        self.name: str = getattr(function, "__name__", "")
        self.owner: type | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.owner = owner
        self.name = name

    def __repr__(self) -> str:
        owner = self.owner.__name__ if self.owner is not None else "?"
        return f"<choice {owner}.{self.name}>"


def choice(
    *, controller: PartySpec, consuming: bool = True, observers: PartySpec = ()
) -> Callable[[Callable[..., Any]], ChoiceDeclaration]:
    """Declare a choice. ``controller`` / ``observers``: a name, a tuple of names, or a
    function ``(self, args) -> party or parties``. A name refers to a choice argument if
    there is one of that name, else to a contract field."""

    def declare(function: Callable[..., Any]) -> ChoiceDeclaration:
        return ChoiceDeclaration(function, controller, consuming, observers)

    return declare


class Context(Protocol):
    """What a choice body can do. Each call that acts on the ledger adds a node."""

    def create(self, contract: Any) -> str:
        """Create a contract (a `Template` instance); returns its contract id."""
        ...

    def exercise(self, contract_id: str, choice: Any, /, **arguments: Any) -> Any:
        """Exercise ``Template.Choice`` on a contract; returns the choice's result."""
        ...

    def exercise_by_key(self, choice: Any, key: Any, /, **arguments: Any) -> Any: ...

    def fetch(self, contract_id: str, template: type) -> Any:
        """The contract's argument, as an instance of `template` (checked)."""
        ...

    def fetch_by_key(self, template: type, key: Any) -> tuple[str, Any]: ...

    def lookup_by_key(self, template: type, key: Any) -> str | None: ...

    def archive(self, contract_id: str, template: type) -> None: ...

    def assert_(self, condition: Any, message: str = "") -> None: ...

    def get_time(self) -> int:
        """Ledger time, microseconds since the epoch."""
        ...


