"""Numeric 10 in package code: constants and arithmetic follow Daml, whatever the caller's
decimal context."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Context, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicanton.core.lf.commands import CreateAndExerciseCommand, template_reference
from minicanton.core.lf.engine import interpret
from minicanton.core.lf.engine_errors import UnhandledException
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.numeric import Numeric
from minicanton.core.lf.package import PackageRegistry, load_package
from minicanton.core.lf.transaction import ExerciseNode
from minicanton.core.lf.value import NumericValue, PartyValue, RecordValue, TextValue

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


# ------------------------------------------------------------- Daml's per-operation rounding

CALC_SOURCE = """
from decimal import Decimal as StdlibName
from minicanton.dsl import Decimal, Numeric, Party, Template, Text, choice

MODULE = "calc"

THIRD = Decimal("1") / Decimal("3")


class Calc(Template):
    owner: Party
    amount: Numeric
    signatories = "owner"

    @choice(controller="owner", consuming=False)
    def ThirdTimesThree(self, ctx) -> Numeric:
        return self.amount / 3 * 3

    @choice(controller="owner", consuming=False)
    def LiteralThirdTimesThree(self, ctx) -> Numeric:
        return Decimal(1) / Decimal(3) * 3

    @choice(controller="owner", consuming=False)
    def StdlibThirdTimesThree(self, ctx) -> Numeric:
        return StdlibName(1) / StdlibName(3) * 3

    @choice(controller="owner", consuming=False)
    def ConstantTimesThree(self, ctx) -> Numeric:
        return THIRD * 3

    @choice(controller="owner", consuming=False)
    def Times(self, ctx, factor: Numeric) -> Numeric:
        return self.amount * factor

    @choice(controller="owner", consuming=False)
    def Over(self, ctx, divisor: Numeric) -> Numeric:
        return self.amount / divisor

    @choice(controller="owner", consuming=False)
    def Kinds(self, ctx, factor: Numeric) -> Text:
        return f"{isinstance(self.amount * factor, Numeric)} {isinstance(factor, Decimal)}"

    @choice(controller="owner", consuming=False)
    def TooPrecise(self, ctx) -> Numeric:
        return Decimal("0.12345678901")

    @choice(controller="owner", consuming=False)
    def Squared(self, ctx) -> Numeric:
        return self.amount ** 2
"""
OWNER = "Owner::1220ee"


def _calc(choice: str, amount: str = "1", **arguments: str) -> Decimal:
    registry = PackageRegistry([load_package(CALC_SOURCE)])
    command = CreateAndExerciseCommand(
        template_reference("calc:Calc"),
        RecordValue(None, (("owner", PartyValue(OWNER)), ("amount", _numeric(amount)))),
        choice,
        RecordValue(None, tuple((name, _numeric(v)) for name, v in arguments.items())),
    )
    result = interpret(
        [command], frozenset({OWNER}), frozenset(), 0, b"seed", _NoContracts(), registry
    )
    node = result.transaction.nodes[1]
    assert isinstance(node, ExerciseNode)
    if isinstance(node.exercise_result, TextValue):
        return node.exercise_result.value  # type: ignore[return-value]
    assert isinstance(node.exercise_result, NumericValue)
    return node.exercise_result.value


def _numeric(text: str) -> NumericValue:
    with localcontext(Context(prec=40)):
        return NumericValue(Decimal(text))


class _NoContracts:
    def lookup_contract(self, contract_id: str) -> None:
        return None

    def lookup_key(self, template_id: Identifier, key: object) -> None:
        return None


@pytest.mark.parametrize(
    "choice",
    ["ThirdTimesThree", "LiteralThirdTimesThree", "StdlibThirdTimesThree", "ConstantTimesThree"],
)
def test_one_third_times_three_is_0_9999999999_as_in_daml(choice: str) -> None:
    assert str(_calc(choice)) == "0.9999999999"


def test_module_constants_are_numeric_10() -> None:
    rate, total = _constants(RATE_SOURCE)
    assert (str(rate), str(total)) == ("0.3333333333", "0.9999999999")


@pytest.mark.parametrize(
    ("amount", "factor", "product"),
    [
        ("0.0000000001", "0.5", "0"),  # a tie rounds to the even neighbour: 0
        ("0.0000000003", "0.5", "0.0000000002"),  # ... and here up to 2
        ("0.0000000005", "0.5", "0.0000000002"),  # 2.5e-10 -> 2e-10
        ("-0.0000000003", "0.5", "-0.0000000002"),
        ("1.0000000001", "1.0000000001", "1.0000000002"),  # exact 1.00000000020000000001
        ("3000000000000000000000000000.0000000003", "2", "6000000000000000000000000000.0000000006"),
    ],
)
def test_every_product_rounds_half_even_to_10_places(
    amount: str, factor: str, product: str
) -> None:
    assert _calc("Times", amount, factor=factor) == Decimal(product)


def test_every_quotient_rounds_half_even_to_10_places() -> None:
    assert _calc("Over", "2", divisor="3") == Decimal("0.6666666667")
    assert _calc("Over", "0.0000000001", divisor="2") == Decimal("0")
    assert _calc("Over", "0.0000000003", divisor="2") == Decimal("0.0000000002")
    assert _calc("Over", "-1", divisor="3") == Decimal("-0.3333333333")


def test_bodies_see_numeric_and_decimal_is_numeric() -> None:
    assert _calc("Kinds", factor="2") == "True True"


@pytest.mark.parametrize(
    ("choice", "arguments", "complaint"),
    [
        ("Times", {"amount": "9999999999999999999999999999", "factor": "10"},
         "ArithmeticError: Numeric overflow"),
        ("Over", {"divisor": "0"}, "ZeroDivisionError: Numeric division by zero"),
        ("TooPrecise", {}, "ArithmeticError: 0.12345678901 has more than 10 decimal places"),
        ("Squared", {}, "TypeError: Numeric has no **"),
    ],
)
def test_numeric_mistakes_are_daml_arithmetic_errors(
    choice: str, arguments: dict[str, str], complaint: str
) -> None:
    with pytest.raises(UnhandledException) as caught:
        _calc(choice, **arguments)
    assert caught.value.error_id == "UNHANDLED_EXCEPTION"
    assert complaint in caught.value.message


# ------------------------------------------------------------------- the Numeric type itself

_UNSCALED = st.integers(-(10**38) + 1, 10**38 - 1)
_SMALL_UNSCALED = st.integers(-(10**19), 10**19)  # products and quotients stay in range


def _exact(unscaled: int) -> Fraction:
    return Fraction(unscaled, 10**10)


def _expected(exact: Fraction) -> Numeric:
    return Numeric(Decimal(round(exact * 10**10)).scaleb(-10, Context(prec=60)))


def _of(unscaled: int) -> Numeric:
    return Numeric(Decimal(unscaled).scaleb(-10, Context(prec=60)))


@settings(max_examples=200, deadline=None)
@given(_UNSCALED, _UNSCALED)
def test_sums_are_exact(a: int, b: int) -> None:
    if abs(a + b) < 10**38:
        assert _of(a) + _of(b) == _expected(_exact(a) + _exact(b))
        assert _of(a) - _of(-b) == _of(a) + _of(b)


@settings(max_examples=200, deadline=None)
@given(_SMALL_UNSCALED, _SMALL_UNSCALED)
def test_products_and_quotients_round_the_exact_result_once_half_even(a: int, b: int) -> None:
    # Python's round() of a Fraction is half-even: the reference for Daml's rounding.
    x, y = _of(a), _of(b)
    with localcontext(Context(prec=3)):  # the caller's context has no say
        product = x * y
        quotient = x / y if b else None
    assert product == _expected(_exact(a) * _exact(b))
    assert type(product) is Numeric
    if quotient is not None:
        assert quotient == _expected(_exact(a) / _exact(b))


def test_numeric_mixes_with_int_and_decimal_on_either_side() -> None:
    third = Numeric(1) / 3
    assert type(third) is Numeric and str(third) == "0.3333333333"
    assert 1 - third == Numeric("0.6666666667")
    assert Decimal(1) / Numeric(3) == third  # the subclass's reflected operator wins
    assert sum([third, third, third]) == Numeric("0.9999999999")
    assert -third == Numeric("-0.3333333333") and abs(-third) == third
    assert round(Numeric("2.5")) == 2 and round(Numeric("2.345"), 2) == Numeric("2.34")
    assert divmod(Numeric(-7), 2) == (Numeric(-3), Numeric(-1))  # Decimal's truncation


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        ("0.12345678901", "more than 10 decimal places"),
        (0.1, "more than 10 decimal places"),
        (10**28, "Numeric overflow"),
        ("1e28", "Numeric overflow"),
        ("NaN", "not a finite Numeric"),
    ],
)
def test_a_numeric_is_never_built_by_rounding_silently(raw: object, complaint: str) -> None:
    with pytest.raises(ArithmeticError, match=complaint):
        Numeric(raw)
