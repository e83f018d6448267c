"""deploy/config, run for real: the files compose and Kubernetes mount, each node started as
`python -m minicanton.<kind> --config deploy/config/<name>.json` with the variables compose
gives it. No Docker here, so each node listens on its own loopback address (127.x.y.n), where
the containers' fixed ports (5001, 5020, 6865, 7575, 8080) do not collide; only the endpoint
variables, BIND_HOST and the data folders differ from the containers'.

The DvP runs across the four participants, each party reads its contracts through its own
JSON API, and killing the active mediator instance hands over to the passive one.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from minicanton.runtime.auth import mint_dev_token
from minicanton.runtime.embedded_postgres import EmbeddedPostgres

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[3]
CONFIG_DIR = ROOT / "deploy" / "config"
PARTICIPANTS = ("bank", "sr", "alice", "bob")
NODES = [("sequencer-0", "sequencer", "sequencer.json"),
         ("sequencer-1", "sequencer", "sequencer.json"),
         ("topology", "topology", "topology.json"),
         ("mediator-0", "mediator", "mediator.json"),
         ("mediator-1", "mediator", "mediator.json"),
         *((p, "participant", f"{p}.json") for p in PARTICIPANTS),
         *((f"{p}-json-api", "json_api", f"{p}-json-api.json") for p in PARTICIPANTS)]


@dataclass
class DeployNetwork:
    directory: Path
    secrets: dict[str, str]
    address: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    parties: dict[str, str] = field(default_factory=dict)  # hint -> party id

    def health_url(self, name: str) -> str:
        port = 7575 if name.endswith("json-api") else 8080
        return f"http://{self.address[name]}:{port}/readyz"

    def wait_ready(self, name: str, timeout_s: float = 120) -> float:
        started = time.monotonic()
        while not ready(self.health_url(name)):
            log = (self.directory / f"{name}.log").read_text()[-2000:]
            assert self.processes[name].poll() is None, f"{name} exited:\n{log}"
            assert time.monotonic() - started < timeout_s, f"{name} not ready:\n{log}"
            time.sleep(0.2)
        return time.monotonic() - started


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def generate_secrets(directory: Path) -> dict[str, str]:
    subprocess.run([sys.executable, str(ROOT / "deploy" / "make_env.py"), "--out",
                    str(directory)], check=True, capture_output=True, timeout=120)
    lines = (directory / ".env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


def node_env(net: DeployNetwork, name: str, cluster: EmbeddedPostgres) -> dict[str, str]:
    """What compose gives the node (its secrets, PG*), and where the others are here."""
    env = {"PATH": os.environ["PATH"], **net.secrets, "PGHOST": "127.0.0.1",
           "PGPORT": str(cluster.port), "PGUSER": "postgres", "BIND_HOST": net.address[name],
           "SEQUENCER_0_ENDPOINT": f"{net.address['sequencer-0']}:5001",
           "SEQUENCER_1_ENDPOINT": f"{net.address['sequencer-1']}:5001",
           "TOPOLOGY_ENDPOINT": f"{net.address['topology']}:5020",
           "MINICANTON_SECRETS_DIR": str(net.directory / "secrets"),
           "MINICANTON_DATA_DIR": str(net.directory / "data" / name)}
    if name.startswith("sequencer"):
        env["SEQUENCER_NODE_NAME"] = name
    if name.endswith("-json-api"):
        env["LEDGER_API_ENDPOINT"] = f"{net.address[name.removesuffix('-json-api')]}:6865"
    return env


def start(net: DeployNetwork, names: list[str], cluster: EmbeddedPostgres) -> None:
    for name, kind, config in NODES:
        if name in names:
            with (net.directory / f"{name}.log").open("ab") as log:
                net.processes[name] = subprocess.Popen(
                    [sys.executable, "-m", f"minicanton.{kind}", "--config",
                     str(CONFIG_DIR / config)], stdout=log, stderr=subprocess.STDOUT,
                    env=node_env(net, name, cluster), start_new_session=True)


@pytest.fixture(scope="module")
def network(postgres_cluster: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[DeployNetwork]:
    directory = tmp_path_factory.mktemp("deploy")
    for line in (ROOT / "deploy" / "postgres" / "init-databases.sql").read_text().splitlines():
        if line.startswith("CREATE DATABASE"):
            postgres_cluster.psql(line)
    prefix = f"127.{random.randint(100, 250)}.{random.randint(1, 250)}"
    net = DeployNetwork(directory, generate_secrets(directory),
                        {name: f"{prefix}.{i + 1}" for i, (name, _, _) in enumerate(NODES)})
    try:  # the order of compose's depends_on
        for group in (["sequencer-0", "sequencer-1"], ["topology"],
                      ["mediator-0", "mediator-1", *PARTICIPANTS],
                      [f"{p}-json-api" for p in PARTICIPANTS]):
            start(net, group, postgres_cluster)
            for name in group:
                if not name.startswith("mediator"):  # one of them stays passive
                    net.wait_ready(name)
        wait_for_active_mediator(net)
        bootstrap_client(net)
        yield net
    finally:
        for process in net.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in net.processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_for_active_mediator(net: DeployNetwork, timeout_s: float = 60) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for name in ("mediator-0", "mediator-1"):
            if ready(net.health_url(name)):
                return name
        time.sleep(0.2)
    raise AssertionError("no mediator instance became active")


def bootstrap_client(net: DeployNetwork) -> None:
    """deploy/bootstrap_dvp.py, as a user runs it once the nodes are up: the DvP parties and
    package, and a network.json for `minicanton demo dvp`."""
    endpoints = [f"--participant={p}={net.address[p]}:6865" for p in PARTICIPANTS]
    result = subprocess.run([sys.executable, str(ROOT / "deploy" / "bootstrap_dvp.py"),
                             "--env", str(net.directory / ".env"), "--dir",
                             str(net.directory / "client"), *endpoints],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    network = json.loads((net.directory / "client" / "network.json").read_text())
    net.parties = {hint: entry["party"] for hint, entry in network["parties"].items()}


def run_demo(net: DeployNetwork) -> str:
    result = subprocess.run([sys.executable, "-m", "minicanton.cli.main", "demo", "dvp",
                             "--dir", str(net.directory / "client")],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def json_api_query(net: DeployNetwork, participant: str, party: str, template: str) -> list[str]:
    token = mint_dev_token(net.secrets["LEDGER_API_HS256_SECRET"], act_as=[party])
    request = urllib.request.Request(
        f"http://{net.address[participant + '-json-api']}:7575/v1/query",
        data=json.dumps({"templateIds": [template]}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return [c["templateId"] for c in json.loads(response.read())["result"]]


def test_the_deploy_configs_run_the_dvp_and_each_json_api_shows_its_party_only(
        network: DeployNetwork) -> None:
    assert "Alice swapped" in run_demo(network)
    party = network.parties
    assert [t.endswith(":Share") for t in json_api_query(network, "alice", party["Alice"],
                                                         "dvp:Share")] == [True]
    assert json_api_query(network, "bank", party["Bank"], "dvp:Share") == []
    assert len(json_api_query(network, "bob", party["Bob"], "dvp:Iou")) == 1


def test_the_passive_mediator_instance_takes_over_from_a_killed_active_one(
        network: DeployNetwork) -> None:
    active = [m for m in ("mediator-0", "mediator-1") if ready(network.health_url(m))]
    assert len(active) == 1, "exactly one instance holds the lease"
    (passive,) = {"mediator-0", "mediator-1"} - set(active)
    assert network.processes[passive].poll() is None and not ready(network.health_url(passive))
    network.processes[active[0]].kill()
    assert network.wait_ready(passive, timeout_s=30) < 20  # lease_ttl_ms is 5 s
    assert "Alice swapped" in run_demo(network)
