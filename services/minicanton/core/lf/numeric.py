"""Daml's ``Numeric 10`` arithmetic, as package code sees it.

`NUMERIC_CONTEXT` is the one decimal context package code runs under (module loading and
every contract-logic call), so a package's behaviour is a function of its id and never of
the calling thread's ``decimal.getcontext()``: 38 significant digits (all of Numeric 10),
half-even rounding, and division by zero, invalid operations and overflow raise.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, DivisionByZero, InvalidOperation, Overflow

from minicanton.core.lf.value import NUMERIC_PRECISION

__all__ = ["NUMERIC_CONTEXT"]

NUMERIC_CONTEXT = Context(
    prec=NUMERIC_PRECISION,
    rounding=ROUND_HALF_EVEN,
    traps=[DivisionByZero, InvalidOperation, Overflow],
)
