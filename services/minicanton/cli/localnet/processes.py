"""Which processes a local network has, whether it runs, and stopping it (`down`, `status`).

A network runs when DIR/network.json exists (it is written only once every node is up and
the parties are allocated) and every process it lists is alive. What to stop is the union
of network.json's pids and DIR/run/*.pid (written as each node spawns), so a half-started
network, or one whose network.json no longer parses, is still stopped whole. Processes stop
clients first: JSON APIs, participants, the mediator, the topology manager, the sequencers.
PostgreSQL's data is never wiped while a process recorded for the network still runs.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from minicanton.cli.localnet.external_postgres import drop_hint, server_of
from minicanton.cli.localnet.layout import (
    SEQUENCER_NAMES,
    STATE_FILE,
    LocalnetLayout,
    StateFileError,
)
from minicanton.cli.localnet.layout import load_or_create_state as _load_state
from minicanton.cli.localnet.network import NetworkFileError, load_network
from minicanton.cli.localnet.supervisor import (
    LocalnetError,
    forget_pids,
    is_alive,
    is_our_node,
    recorded_pids,
    stop_pids,
)
from minicanton.runtime.embedded_postgres import EmbeddedPostgres

Progress = Callable[[str], None]
Process = tuple[str, int]


def _network_processes(network: dict[str, Any]) -> list[Process]:
    found = [(name, node.get("pid")) for group in ("participants", "mediators", "sequencers")
             for name, node in network.get(group, {}).items()]
    found += [(f"{name}-json-api", node.get("json_api_pid"))
              for name, node in network.get("participants", {}).items()]
    found.append(("topology", network.get("topology_manager", {}).get("pid")))
    return [(name, pid) for name, pid in found if pid]


def _stop_rank(name: str) -> int:
    if name.endswith("-json-api"):
        return 0
    if name in SEQUENCER_NAMES:
        return 4
    return {"topology": 3, "mediator": 2}.get(name, 1)


def known_processes(directory: Path, network: dict[str, Any] | None) -> list[Process]:
    """Every (name, pid) recorded for the network in stop order, each pid once."""
    found = _network_processes(network or {})
    found += list(recorded_pids(directory / "run").items())
    unique = {pid: name for name, pid in reversed(found)}
    return sorted(((name, pid) for pid, name in unique.items()),
                  key=lambda process: (_stop_rank(process[0]), process[0]))


def running_network(directory: Path, progress: Progress) -> dict[str, Any] | None:
    """The network in `directory` if it is complete and all of it runs, else None."""
    try:
        network = load_network(directory)
    except NetworkFileError as error:
        if network_file_exists(directory):
            progress(f"{error}; starting the network again")
        return None
    processes = known_processes(directory, network)
    return network if processes and all(is_alive(pid) for _, pid in processes) else None


def network_file_exists(directory: Path) -> bool:
    return (directory / "network.json").exists()


def stop_processes(processes: list[Process], progress: Progress) -> list[str]:
    """Stop them group by group (clients of the domain first); the names that ran."""
    stopped: list[str] = []
    for rank in sorted({_stop_rank(name) for name, _ in processes}):
        alive = [(name, pid) for name, pid in processes
                 if _stop_rank(name) == rank and is_our_node(pid)]
        if not alive:
            continue
        progress(f"stopping {', '.join(name for name, _ in alive)}")
        killed = stop_pids([pid for _, pid in alive])
        for (name, _), was_killed in zip(alive, killed, strict=True):
            if was_killed:
                progress(f"{name} did not stop in time and was killed")
        stopped += [name for name, _ in alive]
    return stopped


def stop_leftovers(directory: Path, progress: Progress) -> None:
    """Before a start: stop what an interrupted or partly failed start left running."""
    leftovers = [(name, pid) for name, pid in known_processes(directory, _readable(directory))
                 if is_our_node(pid)]
    if leftovers:
        progress(f"an earlier start left {len(leftovers)} processes running; stopping them")
        stop_processes(leftovers, progress)
    forget_pids(directory / "run", list(recorded_pids(directory / "run")))


def _readable(directory: Path) -> dict[str, Any] | None:
    try:
        return load_network(directory)
    except NetworkFileError:
        return None


def stop_all(directory: Path, progress: Progress) -> list[str]:
    """Every recorded process, then the embedded PostgreSQL; what was running."""
    try:
        network = load_network(directory)
    except NetworkFileError as error:
        network = None
        if network_file_exists(directory):
            progress(f"{error}; stopping the processes recorded in {directory / 'run'}")
    processes = known_processes(directory, network)
    stopped = stop_processes(processes, progress)
    time.sleep(0.2 if stopped else 0)
    still = [name for name, pid in processes if is_our_node(pid)]
    if still:
        raise LocalnetError(f"{', '.join(still)} still running after SIGKILL: data kept")
    forget_pids(directory / "run", list(recorded_pids(directory / "run")))
    cluster_dir = directory / "postgres"
    if cluster_dir.exists():
        cluster = EmbeddedPostgres(cluster_dir)
        if cluster.is_running():
            progress("stopping embedded PostgreSQL")
            cluster.stop()
            stopped.append("PostgreSQL")
    return stopped


def down(directory: Path, wipe: bool, progress: Progress) -> None:
    directory = directory.resolve()
    if directory.exists() and not directory.is_dir():
        raise LocalnetError(f"{directory} is a file, not a local network folder")
    if wipe and directory.exists() and not _is_network_folder(directory):
        raise LocalnetError(f"{directory} holds no local network (no state.json, network.json, "
                            f"run/ or postgres/): not wiped")
    stop_all(directory, progress)
    if wipe and directory.exists():
        external = _external_dsn(directory)
        shutil.rmtree(directory)
        progress(f"removed {directory}")
        if external:
            names = LocalnetLayout(directory, {}, {}, directory).database_names()
            progress(f"the databases at {server_of(external)} (external PostgreSQL) were left "
                     f"alone; to start over, drop and create them: {drop_hint(external, names)}")


def _is_network_folder(directory: Path) -> bool:
    """What `up` leaves in a folder, so `--wipe` never deletes one `up` did not make."""
    return any((directory / name).exists()
               for name in ("state.json", "network.json", "run", "postgres"))


def _external_dsn(directory: Path) -> str | None:
    network = _readable(directory)
    postgres = network.get("postgres", {}) if network else {}
    if not postgres.get("embedded", True):
        return str(postgres["dsn"])
    if not (directory / STATE_FILE).exists():
        return None
    try:
        return _load_state(directory).get("external_dsn") or None
    except StateFileError:
        return None


def status(directory: Path) -> list[tuple[str, int | None, bool]]:
    directory = directory.resolve()
    try:
        network = load_network(directory)
    except NetworkFileError as error:
        alive = [name for name, pid in known_processes(directory, None) if is_our_node(pid)]
        if alive:
            raise LocalnetError(f"{error}; yet {len(alive)} processes of an unfinished start "
                                f"run ({', '.join(alive)}): 'minicanton localnet down --dir "
                                f"{directory}' stops them") from None
        raise
    rows = [(name, pid, is_alive(pid)) for name, pid in known_processes(directory, network)]
    return rows + _postgres_row(directory)


def _postgres_row(directory: Path) -> list[tuple[str, int | None, bool]]:
    """The embedded cluster, from its postmaster.pid (absent when stopped)."""
    if not (directory / "postgres" / "PG_VERSION").exists():
        return []
    try:
        pid: int | None = int((directory / "postgres" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pid = None
    return [("postgres", pid, is_alive(pid))]
