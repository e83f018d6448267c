"""Bounded waits on the hot loops, without a task or a Timeout object per turn."""

from __future__ import annotations

import asyncio


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
