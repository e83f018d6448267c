"""deploy/ stays in step with the code: every config loads into its node's model, and
docker-compose.yml and the Kubernetes manifests run existing modules on existing configs,
give each node the variables its config reads, probe the ports it listens on, and describe
the network `minicanton localnet up` starts.

Values come from deploy/make_env.py itself (real keys, the mediator's real key mapping), so
the secrets a user generates are the ones these tests prove the configs accept.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml
from tests.unit.deploy.deploy_files import (
    COMPOSE_FILE,
    CONFIG_DIR,
    CONFIG_MOUNT,
    DEPLOY,
    MODELS,
    PER_INSTANCE,
    ROOT,
    Node,
    compose,
    compose_nodes,
    config_files,
    health_port,
    k8s_nodes,
    kind_of,
    listen_host,
    load,
    load_make_env,
    loaded,
    service_port,
    variables,
)

from minicanton.cli.localnet.layout import DVP_PARTICIPANTS, SEQUENCER_NAMES, LocalnetLayout
from minicanton.core.topology.transactions import SignedTopologyTransaction
from minicanton.runtime.auth import DAML_CLAIMS
from minicanton.runtime.config import ConfigError

make_env = load_make_env()


# --- (1) the configs -------------------------------------------------------------------------


def test_the_configs_are_the_localnet_network() -> None:
    names = {f.stem for f in config_files()}
    assert {kind_of(f) for f in config_files()} == set(MODELS)
    assert names == {"sequencer", "topology", "mediator", *DVP_PARTICIPANTS,
                     *(f"{p}-json-api" for p in DVP_PARTICIPANTS)}


@pytest.mark.parametrize("config_file", config_files(), ids=lambda f: f.name)
def test_every_config_loads_into_its_node_model(config_file: Path, generated: dict[str, str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    config = load(config_file, {**generated, **PER_INSTANCE}, monkeypatch)
    assert isinstance(config, MODELS[kind_of(config_file)])
    assert "${" not in config.model_dump_json()
    assert listen_host(config) == "0.0.0.0", "a container listens on all its interfaces"


def test_make_env_writes_every_secret_the_configs_need(generated: dict[str, str]) -> None:
    required = set().union(*(variables(f)[1] for f in config_files()))
    assert required - set(PER_INSTANCE) == set(generated) - {"JSON_API_ACCESS_TOKEN"}


def test_generated_values_fit_the_configs_together(generated: dict[str, str]) -> None:
    configs = loaded(generated)
    sequencer, mediator = configs["sequencer.json"], configs["mediator.json"]
    pinned = sequencer.signing_key.public.raw.hex()
    for config in configs.values():
        if hasattr(config, "trusted_sequencer_keys_hex"):
            assert config.trusted_sequencer_keys_hex == [pinned]
    (mapping_hex,) = configs["topology.json"].initial_members
    signed = SignedTopologyTransaction.from_bytes(bytes.fromhex(mapping_hex))
    assert signed.transaction.mapping.member == mediator.mediator_id
    assert signed.signers == {mediator.signing_key.fingerprint}
    claims = jwt.decode(generated["JSON_API_ACCESS_TOKEN"],
                        configs["bank.json"].auth.hs256_secret, algorithms=["HS256"])
    assert claims[DAML_CLAIMS]["admin"] is True


def _database(dsn: str) -> str:
    return dsn.split("?")[0].rsplit("/", 1)[1]


def test_one_database_per_node_created_by_the_init_script(generated: dict[str, str]) -> None:
    configs = loaded(generated)
    databases = [_database(c.query_store.dsn if hasattr(c, "query_store") else c.database_dsn)
                 for c in configs.values()]
    assert len(set(databases)) == len(databases), "two kinds of node share a database"
    created = re.findall(r"CREATE DATABASE (\w+);",
                         (DEPLOY / "postgres" / "init-databases.sql").read_text())
    assert sorted(created) == sorted(databases)
    layout = LocalnetLayout(Path("unused"), {}, {}, Path("unused"))
    assert sorted(databases) == sorted(layout.database_names())
    assert configs["sequencer.json"].total_nodes == len(SEQUENCER_NAMES)


def test_a_missing_secret_is_a_config_error_naming_it(generated: dict[str, str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    values = {k: v for k, v in generated.items() if k != "SEQUENCER_SIGNING_KEY_SEED_HEX"}
    with pytest.raises(ConfigError, match="SEQUENCER_SIGNING_KEY_SEED_HEX is not set"):
        load(CONFIG_DIR / "sequencer.json", {**values, **PER_INSTANCE}, monkeypatch)


# --- (2) compose and Kubernetes run those configs ----------------------------------------------


def deployments() -> list[Node]:
    return compose_nodes() + k8s_nodes()


@pytest.mark.parametrize("node", deployments(), ids=lambda n: n.where)
def test_each_node_runs_an_existing_module_on_an_existing_config_of_its_kind(node: Node
                                                                              ) -> None:
    assert importlib.util.find_spec(f"minicanton.{node.kind}.__main__") is not None
    assert node.config.is_file(), f"{node.where}: {node.config} does not exist"
    assert kind_of(node.config) == node.kind
    assert node.mounts[CONFIG_MOUNT] in ("./deploy/config", "configMap:minicanton-config")


@pytest.mark.parametrize("node", deployments(), ids=lambda n: n.where)
def test_each_node_gets_exactly_the_variables_its_config_reads(node: Node) -> None:
    every, required = variables(node.config)
    assert required <= node.env, f"{node.where} lacks {sorted(required - node.env)}"
    assert node.env <= every, f"{node.where} sets unread {sorted(node.env - every)}"


@pytest.mark.parametrize("node", deployments(), ids=lambda n: n.where)
def test_probes_ask_the_health_port_the_config_opens(node: Node, generated: dict[str, str]
                                                     ) -> None:
    config = loaded(generated)[node.config.name]
    assert node.probes["readiness"] == ("/readyz", health_port(config))
    if "liveness" in node.probes:
        assert node.probes["liveness"] == node.probes["startup"] == ("/livez",
                                                                     health_port(config))
        assert service_port(config) in node.ports.values()


def test_every_config_is_run_by_compose_and_by_kubernetes() -> None:
    files = {f.name for f in config_files()}
    assert {n.config.name for n in compose_nodes()} == files
    assert {n.config.name for n in k8s_nodes()} == files


def test_participants_keep_their_key_file_and_json_apis_read_their_token(
        generated: dict[str, str]) -> None:
    configs = loaded(generated)
    for node in deployments():
        config = configs[node.config.name]
        if node.kind == "participant":
            source = node.mounts[str(config.key_file.parent)]
            assert source == "claim" or source in compose()["volumes"], node.where
        if node.kind == "json_api":
            token = config.access_token_file
            assert token.name == make_env.TOKEN_FILE
            source = node.mounts.get(str(token)) or node.mounts[str(token.parent)]
            assert source in (f"secret:{make_env.TOKEN_FILE}", "secret:minicanton-secrets:"
                              f"JSON_API_ACCESS_TOKEN={make_env.TOKEN_FILE}"), node.where


# --- compose in particular ---------------------------------------------------------------------


def _endpoints(config: Any) -> list[str]:
    found = list(getattr(config, "sequencers", None) or getattr(config, "sequencer_endpoints",
                                                                 None) or [])
    for name in ("topology_manager", "ledger_api"):
        value = getattr(config, name, None)
        if isinstance(value, str):
            found.append(value)
    return found


def _port_of(service_name: str, nodes: list[Node], configs: dict[str, Any]) -> set[int]:
    return {service_port(configs[n.config.name]) for n in nodes
            if n.where.endswith(f" {service_name}") or n.where.endswith(f"/{service_name}")}


def test_compose_services_reach_each_other_by_the_configs_endpoints(
        generated: dict[str, str]) -> None:
    configs, nodes, spec = loaded(generated), compose_nodes(), compose()["services"]
    for node in nodes:
        for endpoint in _endpoints(configs[node.config.name]):
            host, port = endpoint.rsplit(":", 1)
            assert _port_of(host, nodes, configs) == {int(port)}, f"{node.where}: {endpoint}"
        for dependency in node.spec.get("depends_on", {}):
            assert dependency in spec
        for published in node.spec.get("ports", []):
            assert published.startswith("127.0.0.1:"), "no TLS: publish on loopback only"
            assert int(published.rsplit(":", 1)[1]) == service_port(configs[node.config.name])
    sequencers = [n for n in nodes if n.kind == "sequencer"]
    assert len(sequencers) == configs["sequencer.json"].total_nodes
    assert len({n.spec["environment"]["SEQUENCER_NODE_NAME"] for n in sequencers}) == 2
    assert len([n for n in nodes if n.kind == "mediator"]) == 2


def resolve_compose(value: Any, env: dict[str, str]) -> Any:
    """Compose's own interpolation (${X}, ${X:-d}, ${X:?message}, $$), to check that the
    generated .env satisfies every mandatory variable."""
    if isinstance(value, dict):
        return {k: resolve_compose(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_compose(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, rest = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        assert operator != ":?", f"compose needs {name}: {rest}"
        return rest if operator == ":-" else ""
    return re.sub(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}", substitute, value)


def test_compose_file_resolves_with_the_generated_env(generated: dict[str, str],
                                                     tmp_path: Path) -> None:
    """Checked by our reading of compose's rules always, and by docker-compose itself when it
    is installed (`apt-get install docker-compose`; no Docker engine is needed for this)."""
    ours = resolve_compose(compose(), generated)
    assert ours["services"]["sequencer-0"]["environment"]["SEQUENCER_SIGNING_KEY_SEED_HEX"] == (
        generated["SEQUENCER_SIGNING_KEY_SEED_HEX"])
    binary = shutil.which("docker-compose")
    if binary is None:
        return
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in generated.items()))
    result = subprocess.run([binary, "-f", str(COMPOSE_FILE), "--env-file", str(env_file),
                             "config"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    theirs = yaml.safe_load(result.stdout)["services"]
    assert set(theirs) == set(ours["services"])
    for name, service in theirs.items():
        assert service.get("environment") == ours["services"][name].get("environment"), name
        assert service.get("command") == ours["services"][name].get("command"), name
