"""`python -m minicanton.topology --config FILE`: run the topology manager until SIGTERM."""

from __future__ import annotations

import sys

from minicanton.runtime.process import run_node
from minicanton.topology.config import TopologyManagerConfig


def main(argv: list[str] | None = None) -> int:
    from minicanton.topology.node import TopologyManagerNode

    return run_node("topology", TopologyManagerConfig, TopologyManagerNode,
                    lambda c: c.node_name, argv)


def run(config_path: str) -> int:
    return main(["--config", config_path])


if __name__ == "__main__":
    sys.exit(main())
