"""Daml's ``Numeric 10`` arithmetic, as package code sees it.

Theory of operation
-------------------
Daml rounds at every operation: ``MUL_NUMERIC`` and ``DIV_NUMERIC`` take the exact product
or quotient and round it half-even ("banker's rounding") to the scale, 10 decimal places,
and any result of 10**28 or more in magnitude is an ``ArithmeticError``. So in Daml
``(1.0 / 3.0) * 3.0 == 0.9999999999``, where 38-digit decimal arithmetic would give 1.

`Numeric` is that number type for choice bodies: a `decimal.Decimal` (so comparisons,
hashing, ``str`` and ``int()`` behave as usual) whose arithmetic operators compute on exact
integers (the value times 10**10) and round half-even once per operation. Choice bodies
receive every Numeric field and argument as a `Numeric`, and in a package the name
``Decimal`` (``from minicanton.dsl import Decimal`` or ``from decimal import Decimal``) *is*
`Numeric`, so literals follow the same rule.

Strictly as in Daml: constructing a Numeric from a number with more than 10 decimal places
(a float such as ``0.1``, or ``"0.12345678901"``) or of magnitude 10**28 or more is an
``ArithmeticError`` (round explicitly first); ``**`` is refused (Daml has no primitive
power, so there is no rule to follow: multiply explicitly). Mixing with ``int`` is allowed;
``Decimal`` methods (``quantize``, ``sqrt``, ...) return plain decimals computed in
`NUMERIC_CONTEXT`, which are rounded half-even when they become a Numeric value.

`NUMERIC_CONTEXT` is the one decimal context package code runs under (module loading and
every contract-logic call), so a package's behaviour is a function of its id and never of
the calling thread's ``decimal.getcontext()``: 38 significant digits (all of Numeric 10),
half-even rounding, and division by zero, invalid operations and overflow raise.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Any

from mypy_extensions import mypyc_attr

from minicanton.core.lf.value import NUMERIC_PRECISION, NUMERIC_SCALE

__all__ = ["NUMERIC_CONTEXT", "Numeric", "numeric_of"]

NUMERIC_CONTEXT = Context(
    prec=NUMERIC_PRECISION,
    rounding=ROUND_HALF_EVEN,
    traps=[DivisionByZero, InvalidOperation, Overflow],
)

_ONE: int = 10**NUMERIC_SCALE  # the unscaled value of 1
_UNSCALED_LIMIT: int = 10**NUMERIC_PRECISION  # |unscaled| must stay below this
_INTEGER_LIMIT: int = 10 ** (NUMERIC_PRECISION - NUMERIC_SCALE)
_PARSING_CONTEXT = Context(traps=[InvalidOperation])  # only says "not a number"


# A regular Python subclass of `Decimal` even when compiled (its methods are compiled): mypyc's
# native binary-operator glue calls `__rpow__` without the optional third argument that
# `Decimal.__rpow__`'s signature requires us to keep, and fails to build (ADR 16).
@mypyc_attr(native_class=False)
class Numeric(Decimal):
    """A Daml ``Numeric 10``: exact to 10 decimal places, rounded half-even per operation."""

    __slots__ = ()

    def __new__(cls, value: object = 0) -> Numeric:
        if isinstance(value, bool) or not isinstance(value, int | str | float | Decimal):
            raise TypeError(f"Numeric() needs a number or a numeric string, got {value!r}")
        try:
            exact = Decimal(value.strip() if isinstance(value, str) else value, _PARSING_CONTEXT)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
        return _numeric(_unscaled(exact))

    def __repr__(self) -> str:
        return f"Numeric('{self}')"

    # ---------------------------------------------------------------- one rounding each

    def __add__(self, other: object) -> Any:
        b = _operand(other)
        return NotImplemented if b is None else _numeric(_unscaled_self(self) + b)

    def __radd__(self, other: object) -> Any:
        return self.__add__(other)

    def __sub__(self, other: object) -> Any:
        b = _operand(other)
        return NotImplemented if b is None else _numeric(_unscaled_self(self) - b)

    def __rsub__(self, other: object) -> Any:
        a = _operand(other)
        return NotImplemented if a is None else _numeric(a - _unscaled_self(self))

    def __mul__(self, other: object) -> Any:
        b = _operand(other)
        return NotImplemented if b is None else _numeric(_round(_unscaled_self(self) * b, _ONE))

    def __rmul__(self, other: object) -> Any:
        return self.__mul__(other)

    def __truediv__(self, other: object) -> Any:
        b = _operand(other)
        return NotImplemented if b is None else _numeric(_divide(_unscaled_self(self), b))

    def __rtruediv__(self, other: object) -> Any:
        a = _operand(other)
        return NotImplemented if a is None else _numeric(_divide(a, _unscaled_self(self)))

    def __floordiv__(self, other: object) -> Any:
        b = _operand(other)
        return NotImplemented if b is None else _numeric(_quotient(_unscaled_self(self), b) * _ONE)

    def __rfloordiv__(self, other: object) -> Any:
        a = _operand(other)
        return NotImplemented if a is None else _numeric(_quotient(a, _unscaled_self(self)) * _ONE)

    def __mod__(self, other: object) -> Any:
        b = _operand(other)
        return NotImplemented if b is None else _numeric(_remainder(_unscaled_self(self), b))

    def __rmod__(self, other: object) -> Any:
        a = _operand(other)
        return NotImplemented if a is None else _numeric(_remainder(a, _unscaled_self(self)))

    def __divmod__(self, other: object) -> Any:
        return self.__floordiv__(other), self.__mod__(other)

    def __rdivmod__(self, other: object) -> Any:
        return self.__rfloordiv__(other), self.__rmod__(other)

    def __pow__(self, other: object, modulo: object = None) -> Any:
        raise TypeError("Numeric has no **: multiply explicitly (each product rounds, as in Daml)")

    def __rpow__(self, other: object, modulo: object = None) -> Any:
        raise TypeError("Numeric has no **: multiply explicitly (each product rounds, as in Daml)")

    def __neg__(self) -> Any:
        return _numeric(-_unscaled_self(self))

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return _numeric(abs(_unscaled_self(self)))

    def __round__(self, places: int | None = None) -> Any:
        """``round(x)`` is an int; ``round(x, n)`` rounds half-even to n places (Daml's
        ``roundBankers``)."""
        unscaled = _unscaled_self(self)
        if places is None:
            return _round(unscaled, _ONE)
        if places >= NUMERIC_SCALE:
            return self
        step: int = 10 ** (NUMERIC_SCALE - places)
        return _numeric(_round(unscaled, step) * step)


def numeric_of(value: Decimal) -> Numeric:
    """The `Numeric` of a `NumericValue`'s decimal (already exact at scale 10)."""
    return _numeric(_unscaled(value))


# ------------------------------------------------------------------ exact integer core


def _numeric(unscaled: int) -> Numeric:
    if abs(unscaled) >= _UNSCALED_LIMIT:
        raise ArithmeticError(
            f"Numeric overflow: {Decimal(unscaled).scaleb(-NUMERIC_SCALE, _WIDE)} is not "
            f"below 10**{NUMERIC_PRECISION - NUMERIC_SCALE} in magnitude"
        )
    sign = "-" if unscaled < 0 else ""
    return Decimal.__new__(Numeric, f"{sign}{abs(unscaled)}E-{NUMERIC_SCALE}")


_WIDE = Context(prec=2 * NUMERIC_PRECISION + 2)  # for messages: shows any result exactly


def _unscaled_self(value: Numeric) -> int:
    sign, digits, exponent = value.as_tuple()
    assert exponent == -NUMERIC_SCALE  # every Numeric is built by `_numeric`
    magnitude = int("".join(map(str, digits)))
    return -magnitude if sign else magnitude


def _unscaled(exact: Decimal) -> int:
    """value * 10**10 as an int, or ArithmeticError if that is not an integral Numeric 10."""
    if not exact.is_finite():
        raise ArithmeticError(f"{exact} is not a finite Numeric")
    sign, digits, exponent = exact.as_tuple()
    assert isinstance(exponent, int)
    significant = "".join(map(str, digits)).rstrip("0")
    exponent += len(digits) - len(significant)
    if not significant:
        return 0
    if len(significant) + exponent > NUMERIC_PRECISION - NUMERIC_SCALE:
        raise ArithmeticError(
            f"Numeric overflow: {exact} is not below 10**{NUMERIC_PRECISION - NUMERIC_SCALE} "
            "in magnitude"
        )
    if exponent < -NUMERIC_SCALE:
        raise ArithmeticError(
            f"{exact} has more than {NUMERIC_SCALE} decimal places; round it first"
        )
    shift: int = 10 ** (exponent + NUMERIC_SCALE)
    magnitude = int(significant) * shift
    return -magnitude if sign else magnitude


def _operand(other: object) -> int | None:
    """The unscaled value of the other operand, or None for a type Numeric does not mix with."""
    if isinstance(other, Numeric):
        return _unscaled_self(other)
    if isinstance(other, bool):
        return None
    if isinstance(other, int):
        if abs(other) >= _INTEGER_LIMIT:
            raise ArithmeticError(f"Numeric overflow: {other} is not a Numeric {NUMERIC_SCALE}")
        return other * _ONE
    if isinstance(other, Decimal):
        return _unscaled(other)
    return None


def _round(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-even to an integer (denominator > 0)."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def _divide(a: int, b: int) -> int:
    if b == 0:
        raise ZeroDivisionError("Numeric division by zero")
    if b < 0:
        a, b = -a, -b
    return _round(a * _ONE, b)


def _quotient(a: int, b: int) -> int:
    """Decimal's ``//``: the quotient truncated toward zero."""
    if b == 0:
        raise ZeroDivisionError("Numeric division by zero")
    magnitude = abs(a) // abs(b)
    return -magnitude if (a < 0) != (b < 0) else magnitude


def _remainder(a: int, b: int) -> int:
    """Decimal's ``%``: a - b * (a // b), with the sign of the dividend."""
    return a - b * _quotient(a, b)
