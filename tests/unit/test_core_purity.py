"""The core must stay pure: no I/O, no clock, no ambient randomness (DESIGN.md §5).

Checked on the source, so a forbidden import fails here before it can make a simulation
non-reproducible.
"""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "services" / "minicanton" / "core"
FORBIDDEN = {
    "asyncio", "grpc", "asyncpg", "time", "random", "os", "socket", "subprocess", "threading",
    "secrets", "uuid", "datetime", "httpx", "fastapi", "uvicorn", "pathlib", "io", "shutil",
}
# Layers above the core must never be imported by it (dependencies flow one way).
FORBIDDEN_INTERNAL = ("minicanton.codec", "minicanton.store", "minicanton.runtime",
                      "minicanton.sequencer", "minicanton.mediator", "minicanton.participant",
                      "minicanton.topology", "minicanton.json_api", "minicanton.cli")


def _imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def test_core_imports_nothing_impure() -> None:
    offences = []
    sources = sorted(CORE.rglob("*.py"))
    assert sources, "the core has no source files"
    for source in sources:
        tree = ast.parse(source.read_text(), filename=str(source))
        for line, module in _imported_modules(tree):
            top = module.split(".")[0]
            if top in FORBIDDEN or module.startswith(FORBIDDEN_INTERNAL):
                offences.append(f"{source.relative_to(CORE)}:{line} imports {module}")
    assert not offences, "impure imports in core/:\n" + "\n".join(offences)
