"""The hooks that instrumented package code calls, and the meter they report to.

Theory of operation
-------------------
Interpretation must fail the same way on every participant, so its limits are counted, not
left to Python: how deep Python's stack may grow depends on the caller (a submitter runs a
command from its request handler, a validator one view's action from its event pump) and
on the Python version, so a ``RecursionError`` is not a function of the package and its
inputs.

`package_instrument` rewrites every function and lambda of a package to call `enter` on
entry and `leave` on exit. The calls go to the `Meter` of the interpretation that is running
in this thread or task (a context variable set by `metered`); outside an interpretation
(loading a package, calling package code from a test) they do nothing. The meter counts and
raises the engine's typed errors (`engine_limits`); this module knows no limits itself, so
package loading does not depend on the engine.

The names below are bound in every package's globals under the reserved ``_mc_`` prefix,
which package source may not use (`package_check`), so contract code cannot call them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

__all__ = ["HOOKS", "Meter", "metered"]

T = TypeVar("T")


class Meter(Protocol):
    """What one interpretation counts; each method raises when a limit is exceeded."""

    def enter(self) -> None:
        """A package function or lambda was called."""
        ...

    def leave(self) -> None:
        """A package function or lambda returned (or raised)."""
        ...


_CURRENT: ContextVar[Meter | None] = ContextVar("minicanton_interpretation_meter", default=None)


@contextmanager
def metered(meter: Meter) -> Iterator[Meter]:
    """Package code called inside this block reports to `meter`."""
    token = _CURRENT.set(meter)
    try:
        yield meter
    finally:
        _CURRENT.reset(token)


def _enter() -> None:
    meter = _CURRENT.get()
    if meter is not None:
        meter.enter()


def _leave() -> None:
    meter = _CURRENT.get()
    if meter is not None:
        meter.leave()


def _leave_with(_: None, result: T) -> T:
    """``lambda x: _mc_leave_with(_mc_enter(), body)``: a lambda has no ``finally``."""
    _leave()
    return result


HOOKS: dict[str, Callable[..., Any]] = {
    "_mc_enter": _enter,
    "_mc_leave": _leave,
    "_mc_leave_with": _leave_with,
}
