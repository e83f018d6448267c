"""The hooks that instrumented package code calls, and the meter they report to.

Theory of operation
-------------------
Interpretation must fail the same way on every participant, so its limits are counted, not
left to Python: how deep Python's stack may grow depends on the caller (a submitter runs a
command from its request handler, a validator one view's action from its event pump) and
on the Python version, so a ``RecursionError`` is not a function of the package and its
inputs.

`package_instrument` rewrites every function and lambda of a package to call `enter` on
entry and `leave` on exit, every ``while`` body to call `tick`, and every ``for`` loop and
comprehension to iterate through `iterate`, which ticks once per item; the builtins that
consume an iterable (`sum`, `sorted`, `min`, ...) get theirs through `iterate` too
(`metered_builtins`), and so does ``iter(callable, sentinel)``. A step is one package call
or one loop iteration; a body that never stops (``while True``, ``iter(int, 1)``) runs out
of steps, which no Python limit would ever catch. The calls go to the `Meter` of the
interpretation that is running
in this thread or task (a context variable set by `metered`); outside an interpretation
(loading a package, calling package code from a test) they do nothing. The meter counts and
raises the engine's typed errors (`engine_limits`); this module knows no limits itself, so
package loading does not depend on the engine.

The names below are bound in every package's globals under the reserved ``_mc_`` prefix,
which package source may not use (`package_check`), so contract code cannot call them.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

__all__ = ["HOOKS", "Meter", "iterate", "metered", "metered_builtins"]

T = TypeVar("T")


class Meter(Protocol):
    """What one interpretation counts; each method raises when a limit is exceeded."""

    def tick(self) -> None:
        """One step: a loop iteration."""
        ...

    def enter(self) -> None:
        """A package function or lambda was called (a step, one level deeper)."""
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


def _tick() -> None:
    meter = _CURRENT.get()
    if meter is not None:
        meter.tick()


def iterate(iterable: Iterable[T]) -> Iterator[T]:
    """The items of `iterable`, one step each."""
    meter = _CURRENT.get()
    if meter is None:
        yield from iterable
        return
    for item in iterable:
        meter.tick()
        yield item


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
    "_mc_tick": _tick,
    "_mc_iter": iterate,
}


def metered_builtins() -> dict[str, Callable[..., Any]]:
    """Replacements for the package builtins that loop over an iterable in C."""
    table: dict[str, Callable[..., Any]] = {
        name: _consuming(getattr(builtins, name), always=True)
        for name in ("all", "any", "sorted", "sum")
    }
    table.update(
        {name: _consuming(getattr(builtins, name), always=False) for name in ("max", "min")}
    )
    table["iter"] = _metered_iter
    return table


def _consuming(builtin: Callable[..., Any], always: bool) -> Callable[..., Any]:
    def metered(*args: Any, **kwargs: Any) -> Any:
        # max(a, b) compares its arguments; max(items) loops over its only one
        if args and (always or len(args) == 1):
            args = (iterate(args[0]), *args[1:])
        return builtin(*args, **kwargs)

    metered.__name__ = metered.__qualname__ = builtin.__name__
    return metered


def _metered_iter(*args: Any) -> Any:
    # iter(callable, sentinel) can be endless: make every call of it a step
    return iterate(builtins.iter(*args)) if len(args) == 2 else builtins.iter(*args)
