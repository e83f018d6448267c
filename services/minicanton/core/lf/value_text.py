"""Text forms of Daml-LF values and types: dates, timestamps, numerics, type names, paths.

Shared by the JSON codec and by anything that shows a value or a type to a person. Dates
and timestamps are converted with plain integer arithmetic on the proleptic Gregorian
calendar (the core may not import `datetime`), over Daml's range 0001-01-01 .. 9999-12-31.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

from minicanton.core.errors import InvalidArgument
from minicanton.core.lf.types import (
    TContractId,
    TGenMap,
    TList,
    TNumeric,
    TOptional,
    TTextMap,
    Type,
    TypeCon,
)

_US_PER_SECOND = 1_000_000
_SECONDS_PER_DAY = 86_400
_DATE_TEXT = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIMESTAMP_TEXT = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})"
)
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# -------------------------------------------------------------------------------- values


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of a day count since 1970-01-01; inverse of `days_from_civil`."""
    days += 719468
    era = days // 146097
    day_of_era = days - era * 146097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = shifted_month + 3 if shifted_month < 10 else shifted_month - 9
    return year_of_era + era * 400 + (month <= 2), month, day


def format_date(days_since_epoch: int) -> str:
    year, month, day = civil_from_days(days_since_epoch)
    return f"{year:04d}-{month:02d}-{day:02d}"


def format_timestamp(micros_since_epoch: int) -> str:
    """RFC 3339 in UTC with no, 3 or 6 fraction digits, as Daml's JSON API writes it."""
    seconds, micros = divmod(micros_since_epoch, _US_PER_SECOND)
    days, second_of_day = divmod(seconds, _SECONDS_PER_DAY)
    hour, rest = divmod(second_of_day, 3600)
    if micros == 0:
        fraction = ""
    elif micros % 1000 == 0:
        fraction = f".{micros // 1000:03d}"
    else:
        fraction = f".{micros:06d}"
    return f"{format_date(days)}T{hour:02d}:{rest // 60:02d}:{rest % 60:02d}{fraction}Z"


def parse_date(text: str) -> int:
    """Days since the epoch of a ``yyyy-mm-dd`` date; InvalidArgument if there is none."""
    match = _DATE_TEXT.fullmatch(text)
    if match is None:
        raise InvalidArgument("not a yyyy-mm-dd date")
    return _checked_days(*[int(part) for part in match.groups()])


def _checked_days(year: int, month: int, day: int) -> int:
    days = days_from_civil(year, month, day)
    if year < 1 or not 1 <= month <= 12 or civil_from_days(days) != (year, month, day):
        raise InvalidArgument(f"{year:04d}-{month:02d}-{day:02d} is not a calendar date")
    return days


def parse_timestamp(text: str) -> int:
    """Microseconds since the epoch of an ISO 8601 date-time with ``Z`` or a ``±hh:mm`` offset."""
    match = _TIMESTAMP_TEXT.fullmatch(text)
    if match is None:
        raise InvalidArgument("not an ISO 8601 timestamp like 2024-01-31T12:00:00.000001Z")
    year, month, day, hour, minute, second = [int(part) for part in match.groups()[:6]]
    fraction, zone = match.group(7) or "", match.group(8)
    if hour > 23 or minute > 59 or second > 59:
        raise InvalidArgument(f"{hour:02d}:{minute:02d}:{second:02d} is not a time of day")
    offset_seconds = 0
    if zone != "Z":
        offset_hours, offset_minutes = int(zone[1:3]), int(zone[4:6])
        if offset_hours > 23 or offset_minutes > 59:
            raise InvalidArgument(f"{zone} is not a UTC offset")
        offset_seconds = (offset_hours * 60 + offset_minutes) * 60 * (-1 if zone[0] == "-" else 1)
    seconds = _checked_days(year, month, day) * _SECONDS_PER_DAY + hour * 3600 + minute * 60
    micros = int((fraction + "000000")[:6])  # past microseconds is dropped, as in Daml
    return (seconds + second - offset_seconds) * _US_PER_SECOND + micros


# ----------------------------------------------------------------------------- scalars


def format_numeric(value: Decimal) -> str:
    """Plain notation without trailing zeros but with at least one decimal, like Daml's
    ``Numeric.toUnscaledString``: 42 is ``"42.0"``, 0.25 is ``"0.25"``."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # a NumericValue is always finite
    magnitude = int("".join(map(str, digits)) or "0")
    scale = max(0, -exponent)
    magnitude *= 10 ** max(0, exponent)
    whole, fraction = divmod(magnitude, 10**scale)
    fraction_text = f"{fraction:0{scale}d}".rstrip("0") if scale else ""
    minus = "-" if sign and magnitude else ""
    return f"{minus}{whole}.{fraction_text or '0'}"


# --------------------------------------------------------------------------- types, paths


def describe_type(type_: Type) -> str:
    """A type as Daml writes it: ``Optional (List Int64)``, ``Module:Entity``."""
    if isinstance(type_, TNumeric):
        return f"Numeric {type_.scale}"
    if isinstance(type_, TContractId):
        return "ContractId" + (f" {type_.template.qualified_name}" if type_.template else "")
    if isinstance(type_, TList | TOptional | TTextMap):
        inner = type_.element if isinstance(type_, TList | TOptional) else type_.value
        return f"{type(type_).__name__[1:]} {_argument(inner)}"
    if isinstance(type_, TGenMap):
        return f"GenMap {_argument(type_.key)} {_argument(type_.value)}"
    if isinstance(type_, TypeCon):
        return type_.identifier.qualified_name
    return type(type_).__name__[1:]


def _argument(type_: Type) -> str:
    text = describe_type(type_)
    return f"({text})" if " " in text else text


def describe_json(data: object) -> str:
    """What a parsed JSON value is, for an error message: ``the string "abc"``, ``null``."""
    if data is None or isinstance(data, bool):
        return json.dumps(data)
    if isinstance(data, int | float | Decimal):
        return f"the number {_clip(str(data))}"
    if isinstance(data, str):
        return f"the string {_clip(json.dumps(data))}"
    if isinstance(data, list | tuple):
        return f"an array of {len(data)} items"
    if isinstance(data, dict):
        return "an object" + (f" with keys {_clip(', '.join(map(str, data)))}" if data else " {}")
    return f"a Python {type(data).__name__}"


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def field_path(path: str, name: str) -> str:
    """``items[2].owner``; a key that is not a plain name is quoted: ``m["a b"]``."""
    if not _PLAIN_KEY.fullmatch(name):
        return f"{path}[{json.dumps(name)}]"
    return f"{path}.{name}" if path else name


def index_path(path: str, position: int) -> str:
    return f"{path}[{position}]"
