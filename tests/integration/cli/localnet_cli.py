"""Run the real `minicanton` CLI in a subprocess, as a user at a terminal would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from minicanton.cli.localnet.layout import load_or_create_state, save_state


def minicanton(*args: str, timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "minicanton.cli.main", *args],
                          capture_output=True, text=True, timeout=timeout_s,
                          env={**os.environ, "COLUMNS": "200"})


def spawn_minicanton(*args: str) -> subprocess.Popen[str]:
    """In its own process group, so a test can send it a terminal's Ctrl-C (killpg)."""
    return subprocess.Popen([sys.executable, "-m", "minicanton.cli.main", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env={**os.environ, "COLUMNS": "200"})


def state_with_ports(directory: Path, **ports: int) -> None:
    """A network folder whose state.json pins these ports (keys as in state.json, with
    '_' for '-'), as if an earlier `up` had picked them."""
    directory.mkdir(parents=True, exist_ok=True)
    state = load_or_create_state(directory)
    state["ports"].update({key.replace("_", "-"): port for key, port in ports.items()})
    save_state(directory, state)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single 'error:' line a failed command printed; fails on a traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]
