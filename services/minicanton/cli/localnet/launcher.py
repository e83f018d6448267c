"""`localnet up/down/status`: bring a whole local network up on 127.0.0.1, and down again.

Order matters: the sequencers first (one at a time: the first applies the shared database's
migrations), then the topology manager (it bootstraps the domain and lists the mediator as an
initial member), the mediator, and the participants. Each node signals readiness by writing
its ready file (bound ports, pid). Data lives in DIR and survives `down`; `--wipe` removes it.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from minicanton.cli.localnet.layout import (
    DVP_PARTICIPANTS,
    LocalnetLayout,
    NodeSpec,
    load_or_create_state,
    mediator_member,
    port_for,
    save_state,
)
from minicanton.cli.localnet.network import NetworkFileError, load_network, save_network
from minicanton.cli.localnet.supervisor import LocalnetError, is_alive, stop_pids, tail
from minicanton.runtime.embedded_postgres import EmbeddedPostgres
from minicanton.runtime.files import write_private
from minicanton.topology.changes import initial_key_mapping

Progress = Callable[[str], None]


def _spawn(spec: NodeSpec, directory: Path) -> int:
    import os
    import subprocess
    import sys

    config_path = directory / "configs" / f"{spec.name}.json"
    write_private(config_path, json.dumps(spec.config, indent=2))  # holds seeds and tokens
    Path(spec.config["ready_file"]).unlink(missing_ok=True)
    logs = directory / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / f"{spec.name}.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", spec.module, "--config", str(config_path)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return process.pid


def _wait_ready(spec: NodeSpec, pid: int, directory: Path, timeout_s: float) -> dict[str, Any]:
    ready_path = Path(spec.config["ready_file"])
    deadline = time.monotonic() + timeout_s
    while not ready_path.exists():
        if not is_alive(pid):
            raise LocalnetError(f"{spec.name} exited during start-up; its log ends with:\n"
                                + tail(directory / "logs" / f"{spec.name}.log"))
        if time.monotonic() > deadline:
            raise LocalnetError(f"{spec.name} not ready after {timeout_s:.0f} s; see "
                                f"{directory / 'logs' / (spec.name + '.log')}")
        time.sleep(0.1)
    return dict(json.loads(ready_path.read_text()))


def _start_postgres(directory: Path, dsn: str | None, names: list[str], port: int,
                    progress: Progress) -> tuple[dict[str, str], dict[str, Any]]:
    if dsn is not None:
        base = dsn.rsplit("/", 1)[0]
        progress(f"using PostgreSQL at {base} (databases must exist: {', '.join(names)})")
        return {name: f"{base}/{name}" for name in names}, {"dsn": dsn, "embedded": False}
    cluster = EmbeddedPostgres(directory / "postgres", port=port)
    if not cluster.is_running():
        progress(f"starting embedded PostgreSQL on 127.0.0.1:{port}")
        cluster.start()
    dsns = {name: cluster.create_database(name) for name in names}
    return dsns, {"dsn": cluster.dsn, "embedded": True}


def up(directory: Path, dsn: str | None, progress: Progress,
       participants: tuple[str, ...] = tuple(DVP_PARTICIPANTS)) -> dict[str, Any]:
    directory = directory.resolve()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)  # it holds the network's secrets
    already = running_network(directory)
    if already is not None:
        progress(f"the network in {directory} is already running")
        return already
    state = load_or_create_state(directory)
    ready_dir = directory / "run"
    ready_dir.mkdir(exist_ok=True)
    names = LocalnetLayout(directory, state, {}, ready_dir, participants).database_names()
    dsns, postgres = _start_postgres(directory, dsn, names, port_for(state, "postgres"),
                                     progress)
    layout = LocalnetLayout(directory, state, dsns, ready_dir, participants)
    network: dict[str, Any] = {"sequencers": {}, "mediators": {}, "participants": {},
                               "topology_manager": {}, "postgres": postgres,
                               "auth": {"hs256_secret": state["hs256_secret"]}, "parties": {}}
    try:
        _start_domain(layout, network, progress)
        _start_participants(layout, network, progress)
    finally:
        save_state(directory, state)
        save_network(directory, network)
    return network


def _start_domain(layout: LocalnetLayout, network: dict[str, Any], progress: Progress) -> None:
    directory = layout.directory
    for spec in layout.sequencers():
        progress(f"starting {spec.name}")
        pid = _spawn(spec, directory)
        network["sequencers"][spec.name] = {"endpoint": f"127.0.0.1:{spec.config['port']}",
                                            "pid": pid}
        _wait_ready(spec, pid, directory, 60)
    mediator_id, mediator_key = mediator_member(layout.state)
    members = [initial_key_mapping(mediator_id, [mediator_key]).to_bytes().hex()]
    spec = layout.topology_manager(members)
    progress("starting the topology manager")
    pid = _spawn(spec, directory)
    network["topology_manager"] = {"endpoint": layout.topology_endpoint(), "pid": pid}
    ready = _wait_ready(spec, pid, directory, 60)
    network["topology_manager"].update(domain_id=ready.get("domain_id"),
                                       admin_token=layout.state["topology_admin_token"])
    spec = layout.mediator()
    progress("starting the mediator")
    pid = _spawn(spec, directory)
    network["mediators"]["mediator"] = {"member": mediator_id, "pid": pid,
                                        "auditor_api": f"127.0.0.1:{spec.config['port']}"}
    _wait_ready(spec, pid, directory, 60)


def _start_participants(layout: LocalnetLayout, network: dict[str, Any],
                        progress: Progress) -> None:
    specs = [layout.participant(name) for name in layout.participants]
    pids = {}
    for spec in specs:
        progress(f"starting participant {spec.name}")
        pids[spec.name] = _spawn(spec, layout.directory)
        ledger_api = f"127.0.0.1:{spec.config['ledger_api']['port']}"
        network["participants"][spec.name] = {
            # Daml's admin services (parties, users, packages) share the Ledger API port
            "ledger_api": ledger_api, "admin_api": ledger_api,
            "health": f"http://127.0.0.1:{spec.config['health_port']}/readyz",
            "pid": pids[spec.name]}
    for spec in specs:
        ready = _wait_ready(spec, pids[spec.name], layout.directory, 120)
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
        pid = _spawn(spec, layout.directory)
        network["participants"][name].update(
            json_api=f"http://127.0.0.1:{spec.config['http']['port']}", json_api_pid=pid)
    for name, spec in specs.items():
        _wait_ready(spec, network["participants"][name]["json_api_pid"], layout.directory, 60)


def running_network(directory: Path) -> dict[str, Any] | None:
    """The network in `directory` if every one of its processes runs; None if none does.
    A partly running network is an error: the user must decide (down, then up)."""
    try:
        network = load_network(directory)
    except NetworkFileError:
        return None
    states = [(name, is_alive(pid)) for name, pid in _all_pids(network)]
    running = [name for name, alive in states if alive]
    if not running:
        return None
    if len(running) == len(states):
        return network
    stopped = [name for name, alive in states if not alive]
    raise LocalnetError(f"the network in {directory} is partly running ({', '.join(stopped)} "
                        f"stopped): 'minicanton localnet down --dir {directory}' first")


def _stop_groups(network: dict[str, Any]) -> list[list[tuple[str, int | None]]]:
    """Processes in the order they must stop: clients of the domain before the domain."""
    def members(group: str) -> list[tuple[str, int | None]]:
        return [(name, node.get("pid")) for name, node in network.get(group, {}).items()]

    json_apis = [(f"{name}-json-api", node.get("json_api_pid"))
                 for name, node in network.get("participants", {}).items()
                 if node.get("json_api_pid")]
    return [json_apis, members("participants"), members("mediators"),
            [("topology", network.get("topology_manager", {}).get("pid"))],
            members("sequencers")]


def _all_pids(network: dict[str, Any]) -> list[tuple[str, int | None]]:
    return [entry for group in _stop_groups(network) for entry in group]


def down(directory: Path, wipe: bool, progress: Progress) -> None:
    directory = directory.resolve()
    try:
        network = load_network(directory)
    except Exception:
        network = {}
    for group in _stop_groups(network):
        alive = [(name, pid) for name, pid in group if is_alive(pid)]
        if alive:
            progress(f"stopping {', '.join(name for name, _ in alive)}")
        for name, killed in zip([n for n, _ in alive], stop_pids([p for _, p in alive]),
                                strict=True):
            if killed:
                progress(f"{name} did not stop in time and was killed")
    postgres_dir = directory / "postgres"
    if postgres_dir.exists():
        progress("stopping embedded PostgreSQL")
        EmbeddedPostgres(postgres_dir).stop()
    if wipe and directory.exists():
        shutil.rmtree(directory)
        progress(f"removed {directory}")


def status(directory: Path) -> list[tuple[str, int | None, bool]]:
    network = load_network(directory.resolve())
    return [(name, pid, is_alive(pid)) for name, pid in _all_pids(network)]
