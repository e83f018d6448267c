"""Reading the deployment files (deploy/, docker-compose.yml) as the tests compare them.

A *node* is one process the deployment runs: its `python -m minicanton.<kind>` command, the
config file it reads, and the environment it gets. `compose_nodes()` and `k8s_nodes()` return
the same shape, so one set of checks holds both to deploy/config. Parsed files are cached:
tests only read them.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from minicanton.json_api.config import JsonApiConfig
from minicanton.mediator.config import MediatorConfig
from minicanton.participant.config import ParticipantConfig
from minicanton.runtime.config import load_config
from minicanton.sequencer.config import SequencerConfig
from minicanton.topology.config import TopologyManagerConfig

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
CONFIG_DIR = DEPLOY / "config"
K8S_DIR = DEPLOY / "k8s"
COMPOSE_FILE = ROOT / "docker-compose.yml"
CONFIG_MOUNT = "/etc/minicanton"
IMAGE = "minicanton"

MODELS: dict[str, type[BaseModel]] = {
    "sequencer": SequencerConfig, "topology": TopologyManagerConfig,
    "mediator": MediatorConfig, "participant": ParticipantConfig, "json_api": JsonApiConfig,
}
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}")  # runtime/config.py's syntax
COMMAND = re.compile(r"^minicanton\.([a-z_]+)$")
PER_INSTANCE = {"SEQUENCER_NODE_NAME": "sequencer-0"}  # set by compose / k8s, not a secret


def kind_of(config_file: Path) -> str:
    """Which node reads a deploy/config file, by its name (the tests then check that every
    compose service and k8s container running it runs that kind)."""
    if config_file.stem.endswith("-json-api"):
        return "json_api"
    return config_file.stem if config_file.stem in MODELS else "participant"


def config_files() -> list[Path]:
    return sorted(CONFIG_DIR.glob("*.json"))


def variables(config_file: Path) -> tuple[set[str], set[str]]:
    """(every variable the file reads, those without a default)."""
    text = config_file.read_text()
    every = {m.group(1) for m in VARIABLE.finditer(text)}
    required = {m.group(1) for m in VARIABLE.finditer(text) if m.group(2) is None}
    return every, required


def load_make_env() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_env", DEPLOY / "make_env.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load(config_file: Path, values: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The file as its node loads it, with `values` as the only variables set."""
    every, _ = variables(config_file)
    for name in every:
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return load_config(config_file, MODELS[kind_of(config_file)])


def loaded(generated: dict[str, str]) -> dict[str, Any]:
    """Every config by file name, loaded with the generated secrets."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        return {f.name: load(f, {**generated, **PER_INSTANCE}, monkeypatch)
                for f in config_files()}


def service_port(config: Any) -> int:
    """The port a node serves its API on (gRPC, the Ledger API, or HTTP)."""
    if isinstance(config, ParticipantConfig):
        return config.ledger_api.port
    if isinstance(config, JsonApiConfig):
        return config.http.port
    return int(config.port)


def health_port(config: Any) -> int:
    """Where /livez and /readyz answer: the health port, or the JSON API's own HTTP port."""
    if isinstance(config, JsonApiConfig):
        return config.http.port
    assert config.health_port, "a deployed node needs a fixed health port"
    return int(config.health_port)


def listen_host(config: Any) -> str:
    if isinstance(config, ParticipantConfig):
        return config.ledger_api.host
    if isinstance(config, JsonApiConfig):
        return config.http.host
    return str(config.host)


@dataclass
class Node:
    where: str                     # "compose service bank", "k8s StatefulSet/bank"
    kind: str                      # minicanton.<kind>
    config: Path                   # under deploy/config
    env: set[str]                  # variables the node's process gets
    ports: dict[str, int] = field(default_factory=dict)  # container port name -> number
    probes: dict[str, tuple[str, int]] = field(default_factory=dict)  # kind -> (path, port)
    mounts: dict[str, str] = field(default_factory=dict)  # mount path -> volume/source
    replicas: int = 1
    spec: dict[str, Any] = field(default_factory=dict)    # the raw service / workload


def parse_command(where: str, command: list[str]) -> tuple[str, Path]:
    assert command[:2] == ["python", "-m"] and command[3] == "--config" and len(command) == 5, (
        f"{where}: command must be python -m minicanton.<kind> --config FILE, not {command}")
    match = COMMAND.match(command[2])
    assert match, f"{where}: {command[2]} is not minicanton.<kind>"
    assert command[4].startswith(CONFIG_MOUNT + "/"), f"{where}: config outside {CONFIG_MOUNT}"
    return match.group(1), CONFIG_DIR / command[4].removeprefix(CONFIG_MOUNT + "/")


# --- docker-compose.yml ----------------------------------------------------------------------


@functools.cache
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE_FILE.read_text()))


@functools.cache
def compose_nodes() -> list[Node]:
    nodes = []
    for name, service in compose()["services"].items():
        if not str(service.get("image", "")).startswith(IMAGE + ":"):
            continue  # postgres
        where = f"compose service {name}"
        kind, config = parse_command(where, service["command"])
        mounts = {}
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            mounts[target] = source
        for secret in service.get("secrets", []):
            mounts[f"/run/secrets/{secret}"] = f"secret:{secret}"
        health = re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", service["healthcheck"]["test"][-1])
        assert health, f"{where}: healthcheck must GET http://127.0.0.1:PORT/readyz"
        nodes.append(Node(where, kind, config, set(service.get("environment", {})),
                          probes={"readiness": (health.group(2), int(health.group(1)))},
                          mounts=mounts, spec=service))
    return nodes


# --- Kubernetes --------------------------------------------------------------------------------


@functools.cache
def kustomization() -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / "kustomization.yaml").read_text()))


@functools.cache
def k8s_documents() -> list[dict[str, Any]]:
    documents = []
    for resource in kustomization()["resources"]:
        documents += [d for d in yaml.safe_load_all((DEPLOY / resource).read_text()) if d]
    return documents


def settings_keys() -> set[str]:
    settings = [d for d in k8s_documents()
                if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "minicanton-settings"]
    assert len(settings) == 1
    return set(settings[0]["data"])


def _probe(where: str, container: dict[str, Any], which: str, ports: dict[str, int]
           ) -> tuple[str, int]:
    get = container[f"{which}Probe"]["httpGet"]
    port = get["port"]
    assert isinstance(port, int) or port in ports, f"{where}: {which} probe port {port} unknown"
    return get["path"], ports[port] if isinstance(port, str) else port


def _k8s_node(workload: dict[str, Any], container: dict[str, Any], shared_env: set[str]
              ) -> Node:
    where = f"k8s {workload['kind']}/{workload['metadata']['name']}"
    kind, config = parse_command(where, container["command"])
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    env = {e["name"] for e in container.get("env", [])}
    refs = {e["configMapRef"]["name"] for e in container.get("envFrom", [])}
    if "minicanton-settings" in refs:
        env |= shared_env
    pod = workload["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    claims = {c["metadata"]["name"] for c in workload["spec"].get("volumeClaimTemplates", [])}
    mounts = {}
    for mount in container.get("volumeMounts", []):
        volume = volumes.get(mount["name"])
        assert volume is not None or mount["name"] in claims, f"{where}: no volume {mount}"
        mounts[mount["mountPath"]] = "claim" if volume is None else _volume_source(volume)
    probes = {which: _probe(where, container, which, ports)
              for which in ("startup", "liveness", "readiness")}
    return Node(where, kind, config, env, ports, probes, mounts,
                workload["spec"].get("replicas", 1), workload)


def _volume_source(volume: dict[str, Any]) -> str:
    if "configMap" in volume:
        return f"configMap:{volume['configMap']['name']}"
    if "secret" in volume:
        items = volume["secret"].get("items", [])
        return f"secret:{volume['secret']['secretName']}:" + ",".join(
            f"{i['key']}={i['path']}" for i in items)
    return next(iter(k for k in volume if k != "name"))


@functools.cache
def k8s_nodes() -> list[Node]:
    shared = settings_keys()
    nodes = []
    for document in k8s_documents():
        if document["kind"] not in ("Deployment", "StatefulSet"):
            continue
        for container in document["spec"]["template"]["spec"]["containers"]:
            if container["image"].split(":")[0] == IMAGE:
                nodes.append(_k8s_node(document, container, shared))
    return nodes


def services() -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in k8s_documents() if d["kind"] == "Service"}


def pod_labels() -> list[tuple[dict[str, Any], dict[str, str]]]:
    """(workload, its pod labels), with the pod-name label each StatefulSet pod will carry."""
    found = []
    for d in k8s_documents():
        if d["kind"] not in ("Deployment", "StatefulSet"):
            continue
        labels = dict(d["spec"]["template"]["metadata"]["labels"])
        if d["kind"] == "Deployment":
            found.append((d, labels))
        for ordinal in range(d["spec"].get("replicas", 1) if d["kind"] == "StatefulSet" else 0):
            pod_name = f"{d['metadata']['name']}-{ordinal}"
            found.append((d, {**labels, "statefulset.kubernetes.io/pod-name": pod_name}))
    return found
