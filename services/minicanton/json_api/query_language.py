"""The JSON API query language (Daml's ``/v1/query`` ``query`` object), pure.

Theory of operation
-------------------
A query is read against one template's record type (Daml: "a Daml-LF query language, not a
JSON one"), so `compile_query(query, template, env)` turns the JSON object into a `Query`: a
conjunction of conditions on paths into the contract's payload *as the JSON API encodes it*
(`core.lf.json_codec`), which is also what the query store keeps in its JSONB column:

- an object in a record context is a *partial-record equality*: every key must be a field
  of the record (an unknown key is an error, so a typo never silently matches everything)
  and each field's subquery must hold; the contract may have more fields;
- an object whose keys are all operators ``%lt %lte %gt %gte`` is a *range* on an Int64,
  Numeric, Text, Date or Time field (``%lt`` with ``%lte`` and ``%gt`` with ``%gte`` are
  refused), each bound read as a value of the field's type;
- anything else is *value equality*: the JSON is decoded as a value of the field's type and
  re-encoded canonically, so ``"1.50"``, ``1.5`` and ``"1.5"`` all compare equal to the
  stored ``"1.5"``. A top-level Optional is its element (or null), so a partial record or a
  range may sit below it.

A `Query` has two readings that must agree (a property test checks them against a real
PostgreSQL): `matches(query, payload)` evaluates it on a payload in Python (streams, and
queries without a store), and `query_sql(...)` compiles it to a SQL condition over a JSONB
column. Range comparisons are typed in both: integers and decimals numerically, Text by code
point (``COLLATE "C"``), dates as fixed-width text, timestamps as instants.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from minicanton.core.errors import InvalidArgument
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.json_codec import JsonDecodeError, decode_json, encode_json
from minicanton.core.lf.types import (
    RecordDef,
    TDate,
    TInt64,
    TNumeric,
    TOptional,
    TText,
    TTimestamp,
    Type,
    TypeCon,
    TypeEnvironment,
)
from minicanton.core.lf.value_text import parse_timestamp

__all__ = [
    "Bound",
    "FieldEquals",
    "FieldRange",
    "Query",
    "QueryError",
    "compile_query",
    "containment",
    "json_equal",
    "matches",
    "query_sql",
    "sql_expressible",
]

RangeKind = Literal["int64", "numeric", "text", "date", "timestamp"]
Path = tuple[str, ...]

_OPERATORS = ("%lt", "%lte", "%gt", "%gte")
_RANGE_KINDS: dict[type, RangeKind] = {
    TInt64: "int64",
    TNumeric: "numeric",
    TText: "text",
    TDate: "date",
    TTimestamp: "timestamp",
}
_MAX_CONDITIONS = 1_000


class QueryError(InvalidArgument):
    """A query that does not fit the template it is read against."""


@dataclass(frozen=True, slots=True)
class FieldEquals:
    path: Path
    value: object  # the canonical JSON encoding, as stored


@dataclass(frozen=True, slots=True)
class Bound:
    value: str  # the canonical JSON encoding (always a string for rangeable types)
    inclusive: bool


@dataclass(frozen=True, slots=True)
class FieldRange:
    path: Path
    kind: RangeKind
    lower: Bound | None
    upper: Bound | None


Condition = FieldEquals | FieldRange


@dataclass(frozen=True, slots=True)
class Query:
    """All of `conditions` must hold for a contract of `template` (none: every contract)."""

    template: Identifier
    conditions: tuple[Condition, ...]


# ------------------------------------------------------------------------------ compiling


def compile_query(query: object, template: Identifier, env: TypeEnvironment) -> Query:
    """The conditions `query` places on contracts of `template`; `QueryError` if ill-typed."""
    definition = env.get(template)
    if not isinstance(definition, RecordDef):
        raise QueryError(f"{template} is not a template with a record type")
    if not isinstance(query, dict):
        raise QueryError(f"query: expected an object of {template.qualified_name} fields")
    conditions: list[Condition] = []
    _compile_record(query, definition, (), env, conditions)
    return Query(template, tuple(conditions))


def _compile_record(query: dict[object, object], definition: RecordDef, path: Path,
                    env: TypeEnvironment, out: list[Condition]) -> None:
    fields = dict(definition.fields)
    for key, subquery in query.items():
        if not isinstance(key, str) or key not in fields:
            known = ", ".join(fields) or "none"
            raise QueryError(f"{_show((*path, str(key)))}: unknown field {str(key)!r}; "
                             f"the fields are {known}")
        _compile_field(subquery, fields[key], (*path, key), env, out)
        if len(out) > _MAX_CONDITIONS:
            raise QueryError(f"query has more than {_MAX_CONDITIONS} conditions")


def _compile_field(query: object, type_: Type, path: Path, env: TypeEnvironment,
                   out: list[Condition]) -> None:
    if isinstance(type_, TOptional) and not isinstance(type_.element, TOptional):
        if query is None:
            out.append(FieldEquals(path, None))
        else:  # Some x is written as x itself, at the same place
            _compile_field(query, type_.element, path, env, out)
        return
    if isinstance(type_, TypeCon) and isinstance(query, dict):
        definition = env.get(type_.identifier)
        if isinstance(definition, RecordDef):
            _compile_record(query, definition, path, env, out)
            return
    if _is_operator_object(query):
        assert isinstance(query, dict)
        out.append(_compile_range(query, type_, path, env))
        return
    out.append(FieldEquals(path, _canonical(query, type_, path, env)))


def _is_operator_object(query: object) -> bool:
    return (isinstance(query, dict) and bool(query)
            and any(isinstance(key, str) and key.startswith("%") for key in query))


def _compile_range(query: dict[object, object], type_: Type, path: Path,
                   env: TypeEnvironment) -> FieldRange:
    kind = _RANGE_KINDS.get(type(type_))
    if kind is None:
        raise QueryError(f"{_show(path)}: %lt, %lte, %gt and %gte apply to Int64, Numeric, "
                         "Text, Date and Time fields only")
    unknown = [str(key) for key in query if key not in _OPERATORS]
    if unknown:
        raise QueryError(f"{_show(path)}: unknown operator(s) {unknown}; "
                         f"use {', '.join(_OPERATORS)}")
    if "%lt" in query and "%lte" in query:
        raise QueryError(f"{_show(path)}: %lt and %lte may not be used together")
    if "%gt" in query and "%gte" in query:
        raise QueryError(f"{_show(path)}: %gt and %gte may not be used together")

    def bound(strict: str, loose: str) -> Bound | None:
        operator = strict if strict in query else loose if loose in query else None
        if operator is None:
            return None
        value = _canonical(query[operator], type_, (*path, operator), env)
        assert isinstance(value, str)
        return Bound(value, inclusive=operator == loose)

    return FieldRange(path, kind, bound("%gt", "%gte"), bound("%lt", "%lte"))


def _canonical(query: object, type_: Type, path: Path, env: TypeEnvironment) -> object:
    try:
        return encode_json(decode_json(query, type_, env), type_, env)
    except JsonDecodeError as error:
        where = _show(path) + (f".{error.path}" if error.path else "")
        raise QueryError(f"{where}: {error.message.removeprefix(error.path + ': ')}") from None


def _show(path: Path) -> str:
    return "query" + "".join(f".{step}" for step in path)


# ------------------------------------------------------------------------------ matching


def matches(query: Query, payload: object) -> bool:
    """Whether a contract payload (the JSON API encoding of the template's record) matches."""
    return all(_holds(condition, payload) for condition in query.conditions)


def _at(payload: object, path: Path) -> object:
    for step in path:
        if not isinstance(payload, dict):
            return None
        payload = payload.get(step)
    return payload


def _holds(condition: Condition, payload: object) -> bool:
    found = _at(payload, condition.path)
    if isinstance(condition, FieldEquals):
        return json_equal(found, condition.value)
    if not isinstance(found, str):
        return False
    key = _ORDER_KEYS[condition.kind]
    try:
        value = key(found)
    except (ArithmeticError, ValueError, InvalidArgument):
        return False  # not a value of the field's type: a stored payload never is
    lower, upper = condition.lower, condition.upper
    if lower is not None:
        bound = key(lower.value)
        if value < bound or (value == bound and not lower.inclusive):
            return False
    if upper is not None:
        bound = key(upper.value)
        if value > bound or (value == bound and not upper.inclusive):
            return False
    return True


def json_equal(left: object, right: object) -> bool:
    """JSON equality: unlike Python's ``==``, ``true`` is not ``1``."""
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(json_equal, left, right))
    return type(left) is type(right) and left == right


def _text_key(text: str) -> str:
    return text  # Python compares str by code point, like COLLATE "C" on UTF-8


_ORDER_KEYS: dict[RangeKind, Callable[[str], Any]] = {
    "int64": int,
    "numeric": Decimal,
    "text": _text_key,
    "date": _text_key,  # yyyy-mm-dd with a 4-digit year sorts as text
    "timestamp": parse_timestamp,
}


# ------------------------------------------------------------------------------------ SQL

_SQL_CASTS: dict[RangeKind, str] = {
    "int64": "::bigint",
    "numeric": "::numeric",
    "text": ' COLLATE "C"',
    "date": ' COLLATE "C"',
    "timestamp": "::timestamptz",
}


def query_sql(query: Query, column: str, params: list[object]) -> str:
    """A SQL boolean expression for `query` on the JSONB `column`; appends its parameters to
    `params` (numbered after those already there). `column` must be a trusted identifier."""
    parts = [_condition_sql(condition, column, params) for condition in query.conditions]
    return "(" + " AND ".join(parts) + ")" if parts else "true"


def sql_expressible(query: Query) -> bool:
    """Whether `query_sql` can say it: PostgreSQL text and jsonb cannot hold U+0000, so a
    query naming that character is matched in Python (`matches`) instead."""
    return not any(_has_nul(c.value) if isinstance(c, FieldEquals) else
                   any(b is not None and "\x00" in b.value for b in (c.lower, c.upper))
                   for c in query.conditions)


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def containment(query: Query) -> dict[str, object] | None:
    """A JSON document that every matching payload contains (``payload @> doc``), built from
    the scalar equalities: a necessary condition a GIN index can answer. None if there are
    none. (Only scalars: for arrays and objects containment is weaker than equality.)"""
    document: dict[str, object] = {}
    for condition in query.conditions:
        if (isinstance(condition, FieldEquals) and not isinstance(condition.value, list | dict)
                and not _has_nul(condition.value)):
            target = document
            for step in condition.path[:-1]:
                nested = target.setdefault(step, {})
                assert isinstance(nested, dict)
                target = nested
            target[condition.path[-1]] = condition.value
    return document or None


def _param(params: list[object], value: object) -> str:
    params.append(value)
    return f"${len(params)}"


def _condition_sql(condition: Condition, column: str, params: list[object]) -> str:
    path = _param(params, list(condition.path))
    if isinstance(condition, FieldEquals):
        value = _param(params, json.dumps(condition.value, ensure_ascii=False))
        return f"({column} #> {path}::text[]) = {value}::text::jsonb"
    cast = _SQL_CASTS[condition.kind]
    field = f"({column} #>> {path}::text[]){cast}"
    bound_cast = "" if cast.startswith(" ") else cast
    parts = []
    for bound, strict, loose in ((condition.lower, ">", ">="), (condition.upper, "<", "<=")):
        if bound is not None:
            operator = loose if bound.inclusive else strict
            parts.append(f"{field} {operator} {_param(params, bound.value)}::text{bound_cast}")
    return "(" + " AND ".join(parts) + ")" if parts else "true"
