"""`python -m minicanton.participant --config FILE`: run one participant node until SIGTERM.

Exit codes: 0 after a clean stop, 1 when a background task failed, 2 for a configuration or
start-up error (printed as one line, never a stack trace); see runtime/process.py.
"""

from __future__ import annotations

import sys

from minicanton.participant.config import ParticipantConfig
from minicanton.runtime.process import run_node


def main(argv: list[str] | None = None) -> int:
    from minicanton.participant.node import ParticipantNode

    return run_node("participant", ParticipantConfig, ParticipantNode, lambda c: c.name, argv)


def run(config_path: str) -> int:
    return main(["--config", config_path])


if __name__ == "__main__":
    sys.exit(main())
