"""`python -m minicanton.sequencer --config FILE`: run one sequencer instance until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from minicanton.core.errors import MinicantonError
from minicanton.runtime.config import load_config
from minicanton.runtime.logs import configure_logging
from minicanton.runtime.shutdown import install_uvloop, stop_on_signals
from minicanton.sequencer.config import SequencerConfig
from minicanton.sequencer.node import SequencerNode

log = logging.getLogger("minicanton.sequencer")


async def serve(config: SequencerConfig) -> int:
    node = SequencerNode(config)
    stop = asyncio.Event()
    stop_on_signals(stop)
    try:
        await node.start()
    except Exception as error:  # a clear line for the operator, not a stack trace
        log.error("cannot start: %s", error.message if isinstance(error, MinicantonError)
                  else f"{type(error).__name__}: {error}")
        await node.stop()
        return 2
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(node.stopped.wait())]
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()
    code = node.exit_code
    await node.stop()
    return code


def run(config_path: str) -> int:
    try:
        config = load_config(config_path, SequencerConfig)
    except MinicantonError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    configure_logging("sequencer", level=config.log_level, json_format=config.log_json,
                      node=config.node_name)
    install_uvloop()
    return asyncio.run(serve(config))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minicanton.sequencer")
    parser.add_argument("--config", required=True, help="a .json or .toml config file")
    return run(parser.parse_args(argv).config)


if __name__ == "__main__":
    sys.exit(main())
