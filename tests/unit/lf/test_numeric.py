"""Numeric 10 in package code: constants and arithmetic follow Daml, whatever the caller's
decimal context."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Context, localcontext

from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.package import load_package

RATE_SOURCE = """
from minicanton.dsl import Decimal, Party, Record

MODULE = "rates"

RATE = Decimal("1") / Decimal("3")
TOTAL = RATE * 3


class Rates(Record):
    owner: Party

    rate = RATE
    total = TOTAL
"""


def _constants(source: str) -> tuple[object, object]:
    package = load_package(source)
    rates = package.python_classes[Identifier(package.package_id, "rates", "Rates")]
    return rates.rate, rates.total  # type: ignore[attr-defined]


def test_module_constants_do_not_depend_on_the_loading_threads_decimal_context() -> None:
    plain = _constants(RATE_SOURCE)
    with localcontext(Context(prec=12)):
        narrow = _constants(RATE_SOURCE)
    with localcontext(Context(prec=60, rounding=ROUND_FLOOR)):
        wide = _constants(RATE_SOURCE)
    assert plain == narrow == wide
    assert [str(c) for c in plain] == [str(c) for c in narrow] == [str(c) for c in wide]
