"""One way to run a node process: `python -m minicanton.<kind> --config FILE`.

Every node (sequencer, mediator, topology manager, participant, JSON API) loads its config,
configures logging, starts, runs until SIGTERM/SIGINT or until it stops itself, then stops
gracefully. A SIGTERM during start-up (onboarding, waiting for the domain) cancels the start
cleanly. Exit codes: 0 after a clean stop, the node's own code when it stopped itself (e.g. 1
when a background task failed), 2 for a configuration or start-up error — printed as one
line, never a stack trace. `write_ready_file` is how a node tells a supervisor (localnet,
tests, an orchestrator's probe script) that it is ready and which ports it bound.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from minicanton import _native
from minicanton.core.errors import MinicantonError
from minicanton.runtime.config import load_config
from minicanton.runtime.logs import configure_logging
from minicanton.runtime.shutdown import install_uvloop, stop_on_signals

EXIT_START_FAILED = 2
# Allocations between young-generation collections (CPython's default is 700). A node makes
# millions of short-lived objects per second, almost none in cycles, and each collection
# walks all young objects: ~4% of a node's CPU with the default.
GC_YOUNG_THRESHOLD = 50_000
C = TypeVar("C", bound=BaseModel)


class Node(Protocol):
    stopped: asyncio.Event
    exit_code: int

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def describe(error: BaseException) -> str:
    if isinstance(error, MinicantonError):
        return f"{error.error_id}: {error.message}"
    return f"{type(error).__name__}: {error}"


def tune_gc() -> None:
    """Once the node has started: what start-up made (modules, packages, topology, pools)
    lives as long as the process, so the collector stops walking it (`gc.freeze`), and young
    collections run far less often. Cycles are still collected, only later."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, max(middle, 50), max(old, 100))


async def serve(node: Node, log: logging.Logger, *, gc_tuning: bool = False) -> int:
    stop = asyncio.Event()
    stop_on_signals(stop)
    starting = asyncio.ensure_future(node.start())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait([starting, stopping], return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():  # SIGTERM while still starting
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        await node.stop()
        return 0
    stopping.cancel()
    error = starting.exception()
    if error is not None:
        log.error("cannot start: %s", describe(error))
        await node.stop()
        return EXIT_START_FAILED
    if gc_tuning:
        tune_gc()
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(node.stopped.wait())]
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()
    code = node.exit_code
    await node.stop()
    return code


def run_node(service: str, config_model: type[C], make_node: Callable[[C], Node],
             node_name: Callable[[C], str | None], argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m minicanton.{service}")
    parser.add_argument("--config", required=True, help="a .json or .toml config file")
    config_path = parser.parse_args(argv).config
    try:
        config = load_config(config_path, config_model)
    except MinicantonError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return EXIT_START_FAILED
    settings: Any = config
    configure_logging(service, level=settings.log_level, json_format=settings.log_json,
                      node=node_name(config))
    install_uvloop()
    log = logging.getLogger(f"minicanton.{service}")
    log.info("core: %s", _native.STATE.describe())  # what its CPU figures measured
    with _profiled(service):
        return asyncio.run(serve(make_node(config), log, gc_tuning=True))


@contextlib.contextmanager
def _profiled(service: str) -> Iterator[None]:
    """With MINICANTON_CPROFILE_DIR set, the node runs under cProfile and writes
    `DIR/SERVICE-PID.prof` when it stops: exact call counts per transaction for performance
    work (docs/performance.md), at about twice the CPU. Times are wall-clock (time spent
    blocked counts) unless MINICANTON_CPROFILE_TIMER=cpu, which times the main thread's CPU
    (slower to profile, but a blocking wait costs nothing)."""
    folder = os.environ.get("MINICANTON_CPROFILE_DIR")
    if not folder:
        yield
        return
    cpu = os.environ.get("MINICANTON_CPROFILE_TIMER") == "cpu"
    profile = cProfile.Profile(time.thread_time) if cpu else cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        Path(folder).mkdir(parents=True, exist_ok=True)
        profile.dump_stats(Path(folder) / f"{service}-{os.getpid()}.prof")


def write_ready_file(path: str | Path | None, payload: dict[str, Any]) -> None:
    """Atomically (write, then rename) so a reader never sees half a file."""
    if path is None:
        return
    target = Path(path)
    temporary = target.with_suffix(".tmp")
    temporary.write_text(json.dumps(payload))
    temporary.replace(target)
