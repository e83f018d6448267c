"""The contract language, as package authors import it: ``from minicanton.dsl import ...``.

A thin re-export of `minicanton.core.lf.dsl` (see there for the language and the table of
Python values that choice bodies see).
"""

from minicanton.core.lf.dsl import (
    Bool,
    Context,
    ContractId,
    Date,
    Decimal,
    Enum,
    Int64,
    Key,
    List,
    Numeric,
    Optional,
    Party,
    Record,
    Template,
    Text,
    TextMap,
    Time,
    Unit,
    Variant,
    choice,
    days,
    hours,
    minutes,
    seconds,
)

__all__ = [
    "Bool",
    "Context",
    "ContractId",
    "Date",
    "Decimal",
    "Enum",
    "Int64",
    "Key",
    "List",
    "Numeric",
    "Optional",
    "Party",
    "Record",
    "Template",
    "Text",
    "TextMap",
    "Time",
    "Unit",
    "Variant",
    "choice",
    "days",
    "hours",
    "minutes",
    "seconds",
]
