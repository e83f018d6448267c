"""`python -m minicanton.json_api --config FILE`: run one HTTP JSON API until SIGTERM.

Exit codes (runtime/process.py): 0 after a clean stop, 1 when the HTTP server failed, 2 for a
configuration or start-up error (printed as one line, never a stack trace).
"""

from __future__ import annotations

import sys

from minicanton.json_api.config import JsonApiConfig
from minicanton.json_api.server import JsonApiServer
from minicanton.runtime.process import run_node


def main(argv: list[str] | None = None) -> int:
    return run_node("json_api", JsonApiConfig, JsonApiServer, lambda config: config.name, argv)


def run(config_path: str) -> int:
    return main(["--config", config_path])


if __name__ == "__main__":
    sys.exit(main())
