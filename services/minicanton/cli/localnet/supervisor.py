"""Start, watch and stop the local network's processes.

Each node is its own OS process in its own session (so a Ctrl-C at the terminal reaches only
`localnet`, which then stops them in order), with stdout/stderr in DIR/logs/NAME.log and its
pid recorded in network.json. Stopping sends SIGTERM (graceful: in-flight work finishes),
then SIGKILL after a bounded wait, so `down` never leaves an orphan.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


class LocalnetError(RuntimeError):
    pass


@dataclass
class NodeProcess:
    name: str
    kind: str  # sequencer, mediator, topology, participant, json_api
    module: str  # python -m target
    config_path: Path
    health_port: int
    endpoints: dict[str, str] = field(default_factory=dict)
    pid: int | None = None

    @property
    def readyz(self) -> str:
        return f"http://127.0.0.1:{self.health_port}/readyz"


def start_process(node: NodeProcess, logs_dir: Path) -> None:
    logs_dir.mkdir(parents=True, exist_ok=True)
    log_file = (logs_dir / f"{node.name}.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", node.module, "--config", str(node.config_path)],
        stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    log_file.close()
    node.pid = process.pid


def is_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(ChildProcessError):
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    return True


def probe_ready(node: NodeProcess, timeout_s: float = 1.0) -> tuple[bool, str]:
    try:
        response = httpx.get(node.readyz, timeout=timeout_s)
    except httpx.HTTPError as error:
        return False, f"no answer ({type(error).__name__})"
    if response.status_code == 200:
        return True, "ready"
    try:
        reason = str(response.json().get("reason", response.text))
    except ValueError:
        reason = response.text
    return False, reason


def wait_ready(node: NodeProcess, logs_dir: Path, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    reason = "not started"
    while time.monotonic() < deadline:
        if not is_alive(node.pid):
            raise LocalnetError(
                f"{node.name} exited during start-up; last lines of its log:\n"
                + tail(logs_dir / f"{node.name}.log")
            )
        ready, reason = probe_ready(node)
        if ready:
            return
        time.sleep(0.2)
    raise LocalnetError(f"{node.name} not ready after {timeout_s:.0f} s: {reason}")


def stop_pids(pids: list[int | None], grace_s: float = 20.0) -> list[bool]:
    """SIGTERM them all, wait up to `grace_s`, then SIGKILL the rest. Which were killed."""
    for pid in pids:
        if is_alive(pid):
            assert pid is not None
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(is_alive(pid) for pid in pids):
        time.sleep(0.1)
    killed = []
    for pid in pids:
        stubborn = is_alive(pid)
        if stubborn:
            assert pid is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        killed.append(stubborn)
    return killed


def tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
