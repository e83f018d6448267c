"""`python -m minicanton.json_api --config FILE`: run one HTTP JSON API until SIGTERM.

Exit codes: 0 after a clean stop, 2 for a configuration or start-up error (printed as one
line, never a stack trace).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from minicanton.core.errors import MinicantonError
from minicanton.json_api.config import JsonApiConfig
from minicanton.json_api.server import JsonApiServer
from minicanton.runtime.config import load_config
from minicanton.runtime.logs import configure_logging
from minicanton.runtime.shutdown import install_uvloop, stop_on_signals

log = logging.getLogger("minicanton.json_api")
EXIT_START_FAILED = 2


async def serve(config: JsonApiConfig) -> int:
    server = JsonApiServer(config)
    stop = asyncio.Event()
    stop_on_signals(stop)
    try:
        await server.start()
    except (MinicantonError, OSError) as error:
        message = error.message if isinstance(error, MinicantonError) else str(error)
        log.error("cannot start: %s", message)
        await server.stop()
        return EXIT_START_FAILED
    assert server.stopped is not None
    waiters = [asyncio.ensure_future(stop.wait()), server.stopped]
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    waiters[0].cancel()
    await server.stop()
    return 0


def run(config_path: str) -> int:
    try:
        config = load_config(config_path, JsonApiConfig)
    except MinicantonError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return EXIT_START_FAILED
    configure_logging("json-api", level=config.log_level, json_format=config.log_json,
                      node=config.name)
    install_uvloop()
    return asyncio.run(serve(config))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minicanton.json_api")
    parser.add_argument("--config", required=True, help="a .json or .toml config file")
    return run(parser.parse_args(argv).config)


if __name__ == "__main__":
    sys.exit(main())
