"""Bounded waits on the hot loops, without a task or a Timeout object per turn."""

from __future__ import annotations

import asyncio
from typing import TypeVar

T = TypeVar("T")


async def wait_at_most(event: asyncio.Event, timeout_s: float) -> None:
    """Until `event` is set or `timeout_s` passed. Costs nothing when it is set already
    (under load it usually is: sends arrived while we wrote), and otherwise one timer
    handle: cheaper than `asyncio.timeout` (an object, a reschedule and an uncancel check
    per turn) or `wait_for` (a task per turn)."""
    if event.is_set():
        return
    handle = asyncio.get_running_loop().call_later(timeout_s, event.set)
    try:
        await event.wait()
    finally:
        handle.cancel()


async def result_within(future: asyncio.Future[T], timeout_s: float) -> T | None:
    """`future`'s result, or None if `timeout_s` passed first; `future` itself is never
    cancelled (others may still await it). What `asyncio.wait_for` of `asyncio.shield(future)`
    does, with one callback and one timer instead of two futures, a task check and three
    callbacks per call."""
    if future.done():
        return future.result()
    loop = asyncio.get_running_loop()
    woken: asyncio.Future[None] = loop.create_future()

    def wake(_: object) -> None:
        if not woken.done():
            woken.set_result(None)

    future.add_done_callback(wake)
    timer = loop.call_later(timeout_s, wake, None)
    try:
        await woken
    finally:
        timer.cancel()
        future.remove_done_callback(wake)
    return future.result() if future.done() else None
