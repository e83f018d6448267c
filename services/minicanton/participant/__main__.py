"""`python -m minicanton.participant --config FILE`: run one participant node until SIGTERM.

Exit codes: 0 after a clean stop, 1 when a background task failed, 2 for a configuration or
start-up error (printed as one line, never a stack trace).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from minicanton.core.errors import MinicantonError
from minicanton.participant.config import ParticipantConfig
from minicanton.runtime.config import load_config
from minicanton.runtime.logs import configure_logging
from minicanton.runtime.shutdown import install_uvloop, stop_on_signals

log = logging.getLogger("minicanton.participant")
EXIT_START_FAILED = 2


def describe(error: BaseException) -> str:
    if isinstance(error, MinicantonError):
        return f"{error.error_id}: {error.message}"
    return f"{type(error).__name__}: {error}"


async def serve(config: ParticipantConfig) -> int:
    from minicanton.participant.node import ParticipantNode

    node = ParticipantNode(config)
    stop = asyncio.Event()
    stop_on_signals(stop)
    starting = asyncio.ensure_future(node.start())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait([starting, stopping], return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():  # SIGTERM while still onboarding or waiting for the domain
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
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(node.stopped.wait())]
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()
    code = node.exit_code
    await node.stop()
    return code


def run(config_path: str) -> int:
    try:
        config = load_config(config_path, ParticipantConfig)
    except MinicantonError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return EXIT_START_FAILED
    configure_logging("participant", level=config.log_level, json_format=config.log_json,
                      node=config.name)
    install_uvloop()
    return asyncio.run(serve(config))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minicanton.participant")
    parser.add_argument("--config", required=True, help="a .json or .toml config file")
    return run(parser.parse_args(argv).config)


if __name__ == "__main__":
    sys.exit(main())
