"""`localnet up/down/status`: bring a whole local network up on 127.0.0.1, and down again.

Order matters: the sequencers first (one at a time: the first applies the shared database's
migrations), then the topology manager (it bootstraps the domain and lists the mediator as an
initial member), the mediator, and the participants. Each node signals readiness by writing
its ready file (bound ports, pid). Data lives in DIR and survives `down`; `--wipe` removes it.
Stopping lives in processes.py; why a node failed to start, in diagnose.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from minicanton.cli.localnet.diagnose import check_ports_free, log_size, startup_failure
from minicanton.cli.localnet.external_postgres import check_external, dsn_for, server_of
from minicanton.cli.localnet.layout import (
    DVP_PARTICIPANTS,
    STATE_FILE,
    LocalnetLayout,
    NodeSpec,
    load_or_create_state,
    mediator_member,
    port_for,
    save_state,
)
from minicanton.cli.localnet.network import network_path
from minicanton.cli.localnet.processes import down, running_network, status, stop_leftovers
from minicanton.cli.localnet.supervisor import LocalnetError, is_alive, record_pid
from minicanton.runtime.embedded_postgres import EmbeddedPostgres
from minicanton.runtime.files import write_private
from minicanton.topology.changes import initial_key_mapping

__all__ = ["down", "start", "status", "up"]  # down, status: processes.py (benches call them here)
Progress = Callable[[str], None]


def _node_ports(spec: NodeSpec) -> list[int]:
    config = spec.config
    nested = [config[section].get("port") for section in ("ledger_api", "http")
              if isinstance(config.get(section), dict)]
    return [port for port in (config.get("port"), config.get("health_port"), *nested)
            if isinstance(port, int)]


def _spawn(spec: NodeSpec, layout: LocalnetLayout) -> int:
    import os
    import subprocess
    import sys

    directory = layout.directory
    check_ports_free(spec.name, _node_ports(spec), layout.state, directory / STATE_FILE)
    config_path = directory / "configs" / f"{spec.name}.json"
    write_private(config_path, json.dumps(spec.config, indent=2))  # holds seeds and tokens
    Path(spec.config["ready_file"]).unlink(missing_ok=True)
    log_path = directory / "logs" / f"{spec.name}.log"
    layout.log_offsets[spec.name] = log_size(log_path)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", spec.module, "--config", str(config_path)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    record_pid(layout.ready_dir, spec.name, process.pid)
    return process.pid


def _wait_ready(spec: NodeSpec, pid: int, layout: LocalnetLayout,
                timeout_s: float) -> dict[str, Any]:
    ready_path = Path(spec.config["ready_file"])
    log_path = layout.directory / "logs" / f"{spec.name}.log"
    deadline = time.monotonic() + timeout_s
    while not ready_path.exists():
        if not is_alive(pid):
            raise LocalnetError(startup_failure(
                spec.name, log_path, layout.log_offsets.get(spec.name, 0), layout.state,
                layout.directory / STATE_FILE))
        if time.monotonic() > deadline:
            raise LocalnetError(f"{spec.name} not ready after {timeout_s:.0f} s; see {log_path}")
        time.sleep(0.1)
    return dict(json.loads(ready_path.read_text()))


def _start_postgres(directory: Path, dsn: str | None, names: list[str],
                    state: dict[str, Any],
                    progress: Progress) -> tuple[dict[str, str], dict[str, Any]]:
    if dsn is not None:
        progress(f"checking PostgreSQL at {server_of(dsn)} (databases: {', '.join(names)})")
        # databases this network has not used yet must be empty
        check_external(dsn, names, fresh=state.get("external_dsn") != dsn)
        state["external_dsn"] = dsn
        return {name: dsn_for(dsn, name) for name in names}, {"dsn": dsn, "embedded": False}
    state.pop("external_dsn", None)
    port = port_for(state, "postgres")
    cluster = EmbeddedPostgres(directory / "postgres", port=port)
    if not cluster.is_running():
        check_ports_free("PostgreSQL", [port], state, directory / STATE_FILE)
        progress(f"starting embedded PostgreSQL on 127.0.0.1:{port}")
        cluster.start()
    dsns = {name: cluster.create_database(name) for name in names}
    return dsns, {"dsn": cluster.dsn, "embedded": True}


def _prepare_directory(directory: Path) -> Path:
    directory = directory.resolve()
    if directory.exists() and not directory.is_dir():
        raise LocalnetError(f"{directory} is a file, not a folder: give --dir a folder "
                            "(it is created if missing)")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)  # it holds the network's secrets
    return directory


def _private_folder(path: Path) -> Path:
    """Owner-only: as root DIR is 0711 (the postgres user must pass through it)."""
    path.mkdir(mode=0o700, exist_ok=True)
    path.chmod(0o700)
    return path


def up(directory: Path, dsn: str | None, progress: Progress,
       participants: tuple[str, ...] = tuple(DVP_PARTICIPANTS)) -> dict[str, Any]:
    """The network in `directory` if all of it runs, else `start` it."""
    already = running_network(directory.resolve(), progress)
    if already is not None:
        progress(f"the network in {directory.resolve()} is already running")
        return already
    return start(directory, dsn, progress, participants)


def start(directory: Path, dsn: str | None, progress: Progress,
          participants: tuple[str, ...] = tuple(DVP_PARTICIPANTS)) -> dict[str, Any]:
    """Start the nodes, stopping first what an unfinished start left. The caller bootstraps
    the parties and only then writes network.json: a network without it never counts as
    running, and the next `up` stops its leftovers."""
    directory = _prepare_directory(directory)
    state = load_or_create_state(directory)
    stop_leftovers(directory, progress)
    network_path(directory).unlink(missing_ok=True)  # written again once all is up
    ready_dir = _private_folder(directory / "run")
    _private_folder(directory / "logs")
    names = LocalnetLayout(directory, state, {}, ready_dir, participants).database_names()
    try:
        dsns, postgres = _start_postgres(directory, dsn, names, state, progress)
        layout = LocalnetLayout(directory, state, dsns, ready_dir, participants)
        network: dict[str, Any] = {
            "sequencers": {}, "mediators": {}, "participants": {}, "topology_manager": {},
            "postgres": postgres, "auth": {"hs256_secret": state["hs256_secret"]},
            "parties": {}}
        _start_domain(layout, network, progress)
        _start_participants(layout, network, progress)
    finally:
        save_state(directory, state)
    return network


def _start_domain(layout: LocalnetLayout, network: dict[str, Any], progress: Progress) -> None:
    for spec in layout.sequencers():
        progress(f"starting {spec.name}")
        pid = _spawn(spec, layout)
        network["sequencers"][spec.name] = {"endpoint": f"127.0.0.1:{spec.config['port']}",
                                            "pid": pid}
        _wait_ready(spec, pid, layout, 60)
    mediator_id, mediator_key = mediator_member(layout.state)
    members = [initial_key_mapping(mediator_id, [mediator_key]).to_bytes().hex()]
    spec = layout.topology_manager(members)
    progress("starting the topology manager")
    pid = _spawn(spec, layout)
    network["topology_manager"] = {"endpoint": layout.topology_endpoint(), "pid": pid}
    ready = _wait_ready(spec, pid, layout, 60)
    network["topology_manager"].update(domain_id=ready.get("domain_id"),
                                       admin_token=layout.state["topology_admin_token"])
    spec = layout.mediator()
    progress("starting the mediator")
    pid = _spawn(spec, layout)
    network["mediators"]["mediator"] = {"member": mediator_id, "pid": pid,
                                        "auditor_api": f"127.0.0.1:{spec.config['port']}"}
    _wait_ready(spec, pid, layout, 60)


def _start_participants(layout: LocalnetLayout, network: dict[str, Any],
                        progress: Progress) -> None:
    specs = [layout.participant(name) for name in layout.participants]
    pids = {}
    for spec in specs:
        progress(f"starting participant {spec.name}")
        pids[spec.name] = _spawn(spec, layout)
        ledger_api = f"127.0.0.1:{spec.config['ledger_api']['port']}"
        network["participants"][spec.name] = {
            # Daml's admin services (parties, users, packages) share the Ledger API port
            "ledger_api": ledger_api, "admin_api": ledger_api,
            "health": f"http://127.0.0.1:{spec.config['health_port']}/readyz",
            "pid": pids[spec.name]}
    for spec in specs:
        ready = _wait_ready(spec, pids[spec.name], layout, 120)
        network["participants"][spec.name]["participant_id"] = ready.get("participant_id")
        progress(f"participant {spec.name} ready")
    _start_json_apis(layout, network, progress)


def _start_json_apis(layout: LocalnetLayout, network: dict[str, Any],
                     progress: Progress) -> None:
    """One HTTP JSON API per participant, each with its own query store."""
    specs = {name: layout.json_api(name, node["participant_id"])
             for name, node in network["participants"].items()}
    for name, spec in specs.items():
        progress(f"starting the JSON API of {name}")
        pid = _spawn(spec, layout)
        network["participants"][name].update(
            json_api=f"http://127.0.0.1:{spec.config['http']['port']}", json_api_pid=pid)
    for name, spec in specs.items():
        _wait_ready(spec, network["participants"][name]["json_api_pid"], layout, 60)


