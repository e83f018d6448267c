"""Watch and stop the local network's processes.

Stopping sends SIGTERM (graceful: in-flight work finishes), then SIGKILL after a bounded wait,
so `down` never leaves an orphan. Each spawned node's pid is written at once to
DIR/run/NAME.pid, before it is ready and whether or not network.json is ever written (that
file appears only once the whole network is up), so an interrupted or failed `up`, or a
network.json that no longer parses, still leaves `down` every process to stop. Pids may be
stale after a reboot, so a pid is only signalled while it still runs a minicanton node.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path


class LocalnetError(RuntimeError):
    pass


PID_SUFFIX = ".pid"


def is_alive(pid: int | None) -> bool:
    if not pid:
        return False
    with contextlib.suppress(ChildProcessError):
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """A killed process nobody reaped still answers kill(0) but serves nothing."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc (not Linux), or it just went
    return stat.rsplit(")", 1)[-1].split()[:1] in (["Z"], ["X"])


def record_pid(run_dir: Path, name: str, pid: int) -> None:
    (run_dir / f"{name}{PID_SUFFIX}").write_text(f"{pid}\n")


def recorded_pids(run_dir: Path) -> dict[str, int]:
    """Node name -> pid from DIR/run/*.pid; unreadable files are skipped (nothing to stop)."""
    pids = {}
    for path in sorted(run_dir.glob(f"*{PID_SUFFIX}")) if run_dir.is_dir() else []:
        with contextlib.suppress(OSError, ValueError):
            pids[path.name[:-len(PID_SUFFIX)]] = int(path.read_text().strip())
    return pids


def forget_pids(run_dir: Path, names: list[str]) -> None:
    for name in names:
        (run_dir / f"{name}{PID_SUFFIX}").unlink(missing_ok=True)


def is_our_node(pid: int | None) -> bool:
    """Alive and running `python -m minicanton.<kind>`: never signal a recycled pid."""
    if not is_alive(pid):
        return False
    try:
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (not Linux): trust the pid as recorded
    return b"minicanton." in command_line


def stop_pids(pids: list[int | None], grace_s: float = 20.0) -> list[bool]:
    """SIGTERM them all, wait up to `grace_s`, then SIGKILL the rest. Which were killed."""
    ours = [pid if is_our_node(pid) else None for pid in pids]
    for pid in ours:
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(is_alive(pid) for pid in ours):
        time.sleep(0.1)
    killed = []
    for pid in ours:
        stubborn = pid is not None and is_our_node(pid)
        if stubborn:
            assert pid is not None
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        killed.append(stubborn)
    return killed


def tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
