"""Why a node of the local network did not start, in one line a newcomer can act on.

Ports are pinned in DIR/state.json ("ports": {KEY: PORT}) so a restart keeps its endpoints;
another program may have taken one since. Each node's ports are tried before it is spawned,
so the usual cause is named before anything is logged. If a node still dies, only this
start's part of its (appended) log is read, and its error lines are preferred to the rest
(gRPC's C-core prints multi-line dumps that bury the cause).
"""

from __future__ import annotations

import errno
import json
import re
import socket
from pathlib import Path
from typing import Any

from minicanton.cli.localnet.supervisor import LocalnetError

_BIND_FAILURE = re.compile(r"(?:Failed to bind to address|[Aa]ddress already in use)")
_PORT_IN_LINE = re.compile(r"127\.0\.0\.1(?::|', )(\d+)")


def port_taken_error(node: str, port: int, state: dict[str, Any], state_path: Path) -> str:
    keys = [key for key, value in state.get("ports", {}).items() if value == port]
    key = keys[0] if keys else "?"
    return (f"{node} cannot listen on 127.0.0.1:{port}: another process holds that port; "
            f"stop it, or delete {key!r} from \"ports\" in {state_path} and the next up "
            "picks a free port (data is kept)")


def check_ports_free(node: str, ports: list[int], state: dict[str, Any],
                     state_path: Path) -> None:
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise
                raise LocalnetError(port_taken_error(node, port, state, state_path)) from None


def log_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def startup_failure(node: str, log_path: Path, offset: int, state: dict[str, Any],
                    state_path: Path) -> str:
    """The message for a node that exited before it was ready; `offset` is where this
    start's output begins in its log."""
    with log_path.open("rb") as log:
        log.seek(offset)
        lines = log.read().decode(errors="replace").splitlines()
    for line in lines:
        found = _BIND_FAILURE.search(line) and _PORT_IN_LINE.search(line)
        if found:
            return port_taken_error(node, int(found.group(1)), state, state_path)
    errors = [_message(line) for line in lines if _is_error(line)]
    shown = errors[-5:] or lines[-15:] or ["(it wrote nothing)"]
    return f"{node} exited during start-up ({log_path}):\n" + "\n".join(shown)


def _is_error(line: str) -> bool:
    return line.startswith("{") and _record(line).get("level") in ("ERROR", "CRITICAL")


def _message(line: str) -> str:
    return str(_record(line).get("msg", line))


def _record(line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}
