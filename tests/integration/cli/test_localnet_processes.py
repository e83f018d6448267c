"""The localnet's view of its processes: a zombie is dead, and a failed start is explained
from that start's own log lines."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from minicanton.cli.localnet.diagnose import log_size, startup_failure
from minicanton.cli.localnet.supervisor import is_alive

# A parent that kills its child and never reaps it: the child stays a zombie, as a killed
# node does when its launcher is gone and nothing reaps orphans (a container's PID 1).
ZOMBIE_MAKER = ("import subprocess, time; child = subprocess.Popen(['sleep', '60']); "
                "child.kill(); print(child.pid, flush=True); time.sleep(60)")


def _state_of(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]


def test_a_killed_but_unreaped_process_is_not_alive() -> None:
    parent = subprocess.Popen([sys.executable, "-c", ZOMBIE_MAKER], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert parent.stdout is not None
        zombie = int(parent.stdout.readline())
        deadline = time.monotonic() + 5
        while _state_of(zombie) != "Z" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _state_of(zombie) == "Z"
        assert not is_alive(zombie)
        assert is_alive(parent.pid)
    finally:
        parent.kill()
        parent.wait()


def _record(level: str, msg: str) -> str:
    return json.dumps({"level": level, "msg": msg, "node": "alice"})


def test_a_failed_start_is_told_from_this_starts_lines_only(tmp_path: Path) -> None:
    log = tmp_path / "alice.log"
    log.write_text(_record("ERROR", "cannot start: Failed to bind to address 127.0.0.1:1111")
                   + "\n" + _record("INFO", "an earlier run") + "\n")
    offset = log_size(log)
    with log.open("a") as appended:
        appended.write("E1123 04:42:28.226833751 chttp2_server.cc:1060] UNKNOWN:No address "
                       "added out of total 1 resolved for '127.0.0.1:2222'\n"
                       "children:[UNKNOWN:Address already in use {syscall:\"bind\"}]}\n")
        appended.write(_record("ERROR", "cannot start: RuntimeError: Failed to bind to "
                               "address 127.0.0.1:2222; set GRPC_VERBOSITY=debug") + "\n")
    state = {"ports": {"alice-health": 1111, "alice-ledger-api": 2222}}
    message = startup_failure("alice", log, offset, state, tmp_path / "state.json")
    assert message.startswith("alice cannot listen on 127.0.0.1:2222")
    assert "'alice-ledger-api'" in message and "1111" not in message
    assert "chttp2" not in message and "\n" not in message


def test_a_failed_start_for_another_cause_shows_its_error_lines(tmp_path: Path) -> None:
    log = tmp_path / "bob.log"
    log.write_text(_record("ERROR", "an old failure, fixed since") + "\n")
    offset = log_size(log)
    with log.open("a") as appended:
        appended.write(_record("INFO", "participant starting") + "\n")
        appended.write(_record("ERROR", "cannot start: database mc_bob is gone") + "\n")
    message = startup_failure("bob", log, offset, {"ports": {}}, tmp_path / "state.json")
    assert message.splitlines()[1:] == ["cannot start: database mc_bob is gone"]
