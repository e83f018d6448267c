"""The Kubernetes manifests, the image and deploy/make_env.py, beyond what every deployment
shares (test_deploy_configs.py): replicas and HA modes, Services that select real pods on
real ports, the ConfigMap made from deploy/config, the Secret's keys, and the image's
install."""

from __future__ import annotations

import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.unit.deploy.deploy_files import (
    CONFIG_DIR,
    DEPLOY,
    K8S_DIR,
    ROOT,
    compose,
    config_files,
    k8s_documents,
    k8s_nodes,
    kustomization,
    load_make_env,
    loaded,
    pod_labels,
    service_port,
    services,
    settings_keys,
    variables,
)

make_env = load_make_env()


def workload(kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in k8s_documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def test_every_manifest_parses_and_the_kustomization_names_them() -> None:
    listed = {DEPLOY / r for r in kustomization()["resources"]}
    on_disk = set(K8S_DIR.glob("*.yaml"))
    assert listed <= on_disk
    assert on_disk - listed == {K8S_DIR / "secrets.yaml"}, "only the placeholder stays out"
    for path in on_disk:
        for document in yaml.safe_load_all(path.read_text()):
            assert document is None or {"apiVersion", "kind", "metadata"} <= set(document)


def test_the_config_map_is_made_from_deploy_config() -> None:
    generators = {g["name"]: g["files"] for g in kustomization()["configMapGenerator"]}
    assert sorted(DEPLOY / f for f in generators["minicanton-config"]) == config_files()
    assert [DEPLOY / f for f in generators["postgres-init"]] == [
        DEPLOY / "postgres" / "init-databases.sql"]


def test_ha_modes_replicas_and_update_strategies(generated: dict[str, str]) -> None:
    total_nodes = loaded(generated)["sequencer.json"].total_nodes
    sequencer = workload("StatefulSet", "sequencer")
    assert sequencer["spec"]["replicas"] == total_nodes  # active-active, one node index each
    mediator, topology = workload("Deployment", "mediator"), workload("Deployment", "topology")
    assert mediator["spec"]["replicas"] == 2  # active-passive on the lease
    assert mediator["spec"]["strategy"]["type"] == "Recreate"  # a passive pod is never Ready
    assert topology["spec"]["replicas"] == 1 and topology["spec"]["strategy"]["type"] == (
        "Recreate")
    for node in k8s_nodes():
        if node.kind == "participant":
            assert node.spec["kind"] == "StatefulSet" and node.replicas == 1
            assert node.mounts["/var/lib/minicanton"] == "claim"


def _matching(selector: dict[str, str]) -> list[tuple[dict[str, Any], dict[str, str]]]:
    return [(w, labels) for w, labels in pod_labels()
            if all(labels.get(k) == v for k, v in selector.items())]


def test_every_service_selects_pods_exposing_its_target_port() -> None:
    for name, service in services().items():
        matched = _matching(service["spec"]["selector"])
        assert matched, f"Service {name} selects no pod"
        for port in service["spec"]["ports"]:
            for workload_, _ in matched:
                containers = workload_["spec"]["template"]["spec"]["containers"]
                named = {p["name"] for c in containers for p in c.get("ports", [])}
                assert port["targetPort"] in named, f"Service {name}: {port['targetPort']}"


def _endpoints(config: Any) -> list[str]:
    found = [*getattr(config, "sequencers", []), *getattr(config, "sequencer_endpoints", [])]
    for name in ("topology_manager", "ledger_api"):
        if isinstance(getattr(config, name, None), str):
            found.append(getattr(config, name))
    return found


def test_config_endpoints_are_services_on_the_right_ports(generated: dict[str, str]) -> None:
    """`host:port` in a config is a Service `host` whose `port` leads to pods whose node
    listens on that same port."""
    configs, known = loaded(generated), services()
    for node in k8s_nodes():
        for endpoint in _endpoints(configs[node.config.name]):
            host, port = endpoint.rsplit(":", 1)
            assert host in known, f"{node.where}: no Service {host}"
            service = known[host]
            (target,) = [p["targetPort"] for p in service["spec"]["ports"]
                         if p["port"] == int(port)]
            selected = [w for w, _ in _matching(service["spec"]["selector"])]
            behind = [n for n in k8s_nodes() if n.spec in selected]
            assert behind, f"{endpoint}: the Service selects no minicanton node"
            for server in behind:
                assert server.ports[target] == int(port), f"{endpoint} -> {server.where}"
                assert service_port(configs[server.config.name]) == int(port)


def test_secret_keys_are_the_ones_make_env_writes(generated: dict[str, str]) -> None:
    (placeholder,) = yaml.safe_load_all((K8S_DIR / "secrets.yaml").read_text())
    assert set(placeholder["stringData"]) == set(generated)
    referenced = set()
    for document in k8s_documents():
        if document["kind"] not in ("Deployment", "StatefulSet"):
            continue
        pod = document["spec"]["template"]["spec"]
        for container in pod["containers"]:
            referenced |= {e["valueFrom"]["secretKeyRef"]["key"] for e in container.get("env", [])
                           if "secretKeyRef" in e.get("valueFrom", {})}
        for volume in pod.get("volumes", []):
            referenced |= {i["key"] for i in volume.get("secret", {}).get("items", [])}
    assert referenced == set(generated)


def test_settings_are_read_by_every_node() -> None:
    for path in config_files():
        assert settings_keys() <= variables(path)[0], path.name


def test_pods_run_as_the_image_user_without_privileges() -> None:
    user = next(line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines()
                if line.startswith("USER "))
    for node in k8s_nodes():
        pod = node.spec["spec"]["template"]["spec"]["securityContext"]
        assert f"{pod['runAsUser']}:{pod['runAsGroup']}" == user and pod["runAsNonRoot"]
        (container,) = [c for c in node.spec["spec"]["template"]["spec"]["containers"]
                        if c["command"][2] == f"minicanton.{node.kind}"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False


# --- the image ---------------------------------------------------------------------------------


def test_the_image_installs_the_project_with_its_constraints_as_non_root() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    bases = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert bases and all(base == "python:3.11-slim" for base in bases)
    assert any("pip install -c constraints.txt ." in line for line in lines)
    user = next(line.split()[1] for line in lines if line.startswith("USER "))
    assert user.split(":")[0] not in ("0", "root")


def test_the_build_context_holds_what_the_install_reads_and_no_secret() -> None:
    patterns = [line for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line and not line.startswith("#")]
    assert patterns[0] == "*", "an allow-list: deploy/.env and deploy/secrets stay out"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    copied = {part for line in (ROOT / "Dockerfile").read_text().splitlines()
              if line.startswith("COPY ") and "--from" not in line
              for part in line.split()[1:-1]}
    assert copied == allowed
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["readme"] in allowed
    assert all((ROOT / path).exists() for path in allowed)


def test_compose_runs_the_image_this_dockerfile_builds() -> None:
    for name, service in compose()["services"].items():
        if name != "postgres":
            assert service["build"] == "." and service["image"].startswith("minicanton:")


# --- deploy/make_env.py ------------------------------------------------------------------------


def test_make_env_writes_private_files_and_never_overwrites(tmp_path: Path) -> None:
    values = {"PGPASSWORD": "p", "JSON_API_ACCESS_TOKEN": "a.b.c"}
    env_path, token_path = make_env.write_files(values, tmp_path, force=False)
    assert env_path.read_text() == "PGPASSWORD=p\nJSON_API_ACCESS_TOKEN=a.b.c\n"
    assert token_path.read_text() == "a.b.c"
    assert stat.S_IMODE(env_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_path.parent.stat().st_mode) == 0o700
    with pytest.raises(make_env.MakeEnvError, match="--force"):
        make_env.write_files({**values, "PGPASSWORD": "q"}, tmp_path, force=False)
    assert env_path.read_text().startswith("PGPASSWORD=p\n")
    make_env.write_files({**values, "PGPASSWORD": "q"}, tmp_path, force=True)
    assert env_path.read_text().startswith("PGPASSWORD=q\n")


def test_generated_values_are_safe_in_env_files_and_dsns(generated: dict[str, str]) -> None:
    for name, value in generated.items():
        assert value and all(c.isalnum() or c in "-_." for c in value), name
    assert (CONFIG_DIR / "sequencer.json").read_text().count("${PGPASSWORD}") == 1


# --- init containers ---------------------------------------------------------------------------


def init_containers() -> list[tuple[str, dict[str, Any]]]:
    return [(f"{d['kind']}/{d['metadata']['name']}", c) for d in k8s_documents()
            if d["kind"] in ("Deployment", "StatefulSet")
            for c in d["spec"]["template"]["spec"].get("initContainers", [])]


def test_nodes_wait_at_start_for_services_that_exist_on_those_ports() -> None:
    known = services()
    waited = {where: c["command"][3:] for where, c in init_containers()}
    assert set(waited) == {n.where.removeprefix("k8s ") for n in k8s_nodes()}
    for where, endpoints in waited.items():
        assert endpoints, where
        for endpoint in endpoints:
            host, port = endpoint.rsplit(":", 1)
            assert int(port) in {p["port"] for p in known[host]["spec"]["ports"]}, where


def test_the_wait_holds_until_its_endpoint_accepts_connections() -> None:
    (_, container), *_ = init_containers()
    assert container["command"][0] == "python"
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        endpoint = f"127.0.0.1:{listener.getsockname()[1]}"  # bound, not yet listening
        waiting = subprocess.Popen([sys.executable, *container["command"][1:3], endpoint],
                                   stdout=subprocess.PIPE, text=True)
        try:
            assert waiting.stdout is not None
            assert waiting.stdout.readline() == f"waiting for {endpoint}\n"
            listener.listen()
            assert waiting.wait(timeout=10) == 0
        finally:
            waiting.kill()
