"""`python -m minicanton.mediator --config FILE`: run one mediator instance until SIGTERM.

Several instances of one mediator may run against the same database: one is active (it holds
the lease), the others wait passively and take over when the lease expires."""

from __future__ import annotations

import sys

from minicanton.mediator.config import MediatorConfig
from minicanton.runtime.process import run_node


def main(argv: list[str] | None = None) -> int:
    from minicanton.mediator.node import MediatorNode

    return run_node("mediator", MediatorConfig, MediatorNode, lambda c: c.node_name, argv)


def run(config_path: str) -> int:
    return main(["--config", config_path])


if __name__ == "__main__":
    sys.exit(main())
