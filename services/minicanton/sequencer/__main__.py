"""`python -m minicanton.sequencer --config FILE`: run one sequencer instance until SIGTERM."""

from __future__ import annotations

import sys

from minicanton.runtime.process import run_node
from minicanton.sequencer.config import SequencerConfig


def main(argv: list[str] | None = None) -> int:
    from minicanton.sequencer.node import SequencerNode

    return run_node("sequencer", SequencerConfig, SequencerNode, lambda c: c.node_name, argv)


def run(config_path: str) -> int:
    return main(["--config", config_path])


if __name__ == "__main__":
    sys.exit(main())
