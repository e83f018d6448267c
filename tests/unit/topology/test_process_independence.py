"""Processes never import each other (DESIGN §5; shells review #12): what two of them share
lives in core/ (protocol rules such as the topology planner) or runtime/ (config types such as
`ParametersConfig`). Checked on the source, like the core's purity."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "services" / "minicanton"
PROCESSES = ("sequencer", "mediator", "topology", "participant", "json_api")


def _imports(source: Path) -> list[tuple[int, str]]:
    tree = ast.parse(source.read_text(), filename=str(source))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def test_no_process_package_imports_another() -> None:
    offences = []
    for process in PROCESSES:
        others = tuple(f"minicanton.{p}" for p in PROCESSES if p != process)
        for source in sorted((PACKAGE / process).rglob("*.py")):
            for line, module in _imports(source):
                if module in others or module.startswith(tuple(o + "." for o in others)):
                    offences.append(f"{source.relative_to(PACKAGE)}:{line} imports {module}")
    assert not offences, "a process imports another:\n" + "\n".join(offences)


def test_the_planner_is_in_the_core_and_the_old_path_re_exports_it() -> None:
    from minicanton.core.topology import planning
    from minicanton.topology import changes

    assert changes.Planner is planning.Planner
    assert changes.initial_key_mapping is planning.initial_key_mapping
