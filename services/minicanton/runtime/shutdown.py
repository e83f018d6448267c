"""Graceful stop on SIGTERM / SIGINT: the signal only sets an event; the process's main
coroutine waits for it and then shuts its pieces down in order (finish in-flight work first)."""

from __future__ import annotations

import asyncio
import signal


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)


def install_uvloop() -> None:
    """uvloop is 20-30 % faster with grpc.aio here (DESIGN.md §8); fall back silently."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
