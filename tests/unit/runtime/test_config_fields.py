"""One set of config field types for every node (runtime/config_fields.py, shells review #14):
each kind of value is checked the same way in every node config, as strictly as the
strictest node checked it before, and a bad value is a `ConfigError` naming the file and the
field, never a traceback and never the secret it carried. Every config here is a real file
read by the real loader (`load_config`), as a node reads it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from minicanton.cli.localnet.layout import LocalnetLayout, load_or_create_state
from minicanton.json_api.config import JsonApiConfig
from minicanton.mediator.config import MediatorConfig
from minicanton.participant.config import ParticipantConfig
from minicanton.runtime.config import ConfigError, ParametersConfig, load_config
from minicanton.runtime.config_fields import NodeSettings
from minicanton.sequencer.config import SequencerConfig
from minicanton.topology.config import TopologyManagerConfig

PASSWORD = "hunter2-db-password"
TOKEN = "admin-token-0123456789"
SEED = "5e" * 32


def _bases(tmp_path: Path) -> dict[type[BaseModel], dict[str, Any]]:
    dsn = "postgresql://mc:pw@127.0.0.1:5432/db"
    return {
        SequencerConfig: {"domain_id": "d", "database_dsn": dsn, "signing_key_seed_hex": SEED,
                          "admin_token": TOKEN},
        MediatorConfig: {"database_dsn": dsn, "signing_key_seed_hex": SEED,
                         "domain_id": "d", "domain_namespace": "1220" + "ab" * 32,
                         "sequencers": ["127.0.0.1:5001"], "admin_token": TOKEN},
        TopologyManagerConfig: {"database_dsn": dsn, "admin_token": TOKEN,
                                "sequencer_endpoints": ["sequencer-0:5001"]},
        ParticipantConfig: {"name": "bank", "database_dsn": dsn,
                            "key_file": str(tmp_path / "keys" / "bank.json"),
                            "sequencers": ["127.0.0.1:5001"], "topology_manager": "tm:5020",
                            "auth": {"hs256_secret": "s" * 32}},
        JsonApiConfig: {"ledger_api": "bank:6865", "participant_id": "bank::1220ab",
                        "auth": {"hs256_secret": "s" * 32}},
    }


def _load(tmp_path: Path, model: type[BaseModel], data: dict[str, Any]) -> Any:
    path = tmp_path / f"{model.__name__}.json"
    path.write_text(json.dumps(data))
    return load_config(path, model)


def _refused(tmp_path: Path, model: type[BaseModel], data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as refused:
        _load(tmp_path, model, data)
    assert refused.value.error_id == "CONFIG_INVALID"
    return refused.value.message


def test_every_node_config_builds_on_the_shared_node_settings(tmp_path: Path) -> None:
    for model, data in _bases(tmp_path).items():
        assert issubclass(model, NodeSettings)
        loaded = _load(tmp_path, model, {**data, "log_level": "warning", "log_json": "false"})
        assert loaded.log_level == "WARNING" and loaded.log_json is False
        assert "extra" in _refused(tmp_path, model, {**data, "log_levle": "INFO"}).lower()


def test_every_duration_in_ms_of_every_node_is_a_bounded_number(tmp_path: Path) -> None:
    checked = 0
    for model, data in _bases(tmp_path).items():
        for name in (n for n in model.model_fields if n.endswith("_ms")):
            for bad in (-1, True, 10**15, "soon"):
                assert name in _refused(tmp_path, model, {**data, name: bad}), (model, name)
            checked += 1
    assert checked == 16  # a new _ms field is covered here by its name
    topology = _bases(tmp_path)[TopologyManagerConfig]
    for name in (n for n in ParametersConfig.model_fields if n.endswith("_ms")):
        for bad in (-1, True, 10**15):
            assert name in _refused(tmp_path, TopologyManagerConfig,
                                    {**topology, "parameters": {name: bad}})
    loaded = _load(tmp_path, MediatorConfig, {**_bases(tmp_path)[MediatorConfig],
                                             "lease_ttl_ms": "6000"})  # as ${VAR} gives it
    assert loaded.lease_ttl_ms == 6000
    # a field's own minimum still holds on top of the shared type
    assert "greater than or equal to 200" in _refused(
        tmp_path, MediatorConfig, {**_bases(tmp_path)[MediatorConfig], "lease_ttl_ms": 100})


@pytest.mark.parametrize(("value", "expected"), [
    ("::1", "IPv6"), ("bad host", "not a host name"), ("", "not a host name"),
    ("-x", "not a host name"),
])
def test_a_listen_host_is_a_name_or_ipv4_address_in_every_node(
    tmp_path: Path, value: str, expected: str,
) -> None:
    for model, data in _bases(tmp_path).items():
        nested = {ParticipantConfig: "ledger_api", JsonApiConfig: "http"}.get(model)
        bad = {**data, nested: {"host": value}} if nested else {**data, "host": value}
        assert expected in _refused(tmp_path, model, bad)
        good = {**data, nested: {"host": "0.0.0.0"}} if nested else {**data, "host": "0.0.0.0"}
        _load(tmp_path, model, good)


@pytest.mark.parametrize("value", [-1, 65536, True, "http"])
def test_ports_are_checked_alike_in_every_node(tmp_path: Path, value: object) -> None:
    for model, data in _bases(tmp_path).items():
        if "health_port" in model.model_fields:
            assert "health_port" in _refused(tmp_path, model, {**data, "health_port": value})
        nested = {ParticipantConfig: "ledger_api", JsonApiConfig: "http"}.get(model)
        bad = {**data, nested: {"port": value}} if nested else {**data, "port": value}
        assert "port" in _refused(tmp_path, model, bad)


@pytest.mark.parametrize("value", ["127.0.0.1", "127.0.0.1:0", "h:99999", "a b:1", "[::1]:5",
                                   "http://h:1", ""])
def test_an_endpoint_is_host_colon_port_wherever_a_node_names_another(
    tmp_path: Path, value: str,
) -> None:
    bases = _bases(tmp_path)
    cases: list[tuple[type[BaseModel], str, object]] = [
        (MediatorConfig, "sequencers", [value]), (MediatorConfig, "topology_manager", value),
        (ParticipantConfig, "sequencers", ["h:1", value]),
        (ParticipantConfig, "topology_manager", value),
        (TopologyManagerConfig, "sequencer_endpoints", [value]),
        (JsonApiConfig, "ledger_api", value)]
    for model, field, bad in cases:
        message = _refused(tmp_path, model, {**bases[model], field: bad})
        assert field in message and "endpoint" in message


@pytest.mark.parametrize("dsn", [f"mysql://mc:{PASSWORD}@h/db",
                                 f"host=h user=mc password={PASSWORD}", ""])
def test_a_database_dsn_is_a_postgres_url_and_a_refusal_never_shows_it(
    tmp_path: Path, dsn: str,
) -> None:
    for model, data in _bases(tmp_path).items():
        if model is JsonApiConfig:
            message = _refused(tmp_path, model, {**data, "query_store": {"dsn": dsn}})
        else:
            message = _refused(tmp_path, model, {**data, "database_dsn": dsn})
        assert "PostgreSQL DSN" in message and (PASSWORD not in message)
    loaded = _load(tmp_path, SequencerConfig, {**_bases(tmp_path)[SequencerConfig],
                                               "database_dsn": f"postgresql://mc:{PASSWORD}@h/d"})
    assert PASSWORD not in repr(loaded)


def test_admin_tokens_and_seeds_are_checked_alike_and_never_shown(tmp_path: Path) -> None:
    bases = _bases(tmp_path)
    for model in (SequencerConfig, MediatorConfig, TopologyManagerConfig):
        for bad in ("short", "has a space in it", "tab\tinside-token", "é" * 10):
            message = _refused(tmp_path, model, {**bases[model], "admin_token": bad})
            assert "admin_token" in message and bad not in message
        loaded = _load(tmp_path, model, bases[model])
        assert TOKEN not in repr(loaded) and SEED not in repr(loaded)
    # the manager's copy of the sequencers' token is checked as the sequencers check theirs
    assert "sequencer_admin_token" in _refused(tmp_path, TopologyManagerConfig, {
        **bases[TopologyManagerConfig], "sequencer_admin_token": "short"})
    for model in (SequencerConfig, MediatorConfig):
        for bad in ("zz" * 32, "ab" * 31, "ab" * 33):
            message = _refused(tmp_path, model, {**bases[model], "signing_key_seed_hex": bad})
            assert "64 hex digits" in message and bad not in message


def test_names_namespaces_pools_and_hex_are_checked_alike(tmp_path: Path) -> None:
    bases = _bases(tmp_path)
    named: list[tuple[type[BaseModel], str]] = [
        (SequencerConfig, "node_name"), (MediatorConfig, "node_name"),
        (TopologyManagerConfig, "node_name"), (ParticipantConfig, "name"),
        (JsonApiConfig, "name")]
    for model, field in named:
        assert field in _refused(tmp_path, model, {**bases[model], field: "bank::x"})
    for model in (MediatorConfig, ParticipantConfig):
        assert "namespace" in _refused(tmp_path, model, {
            **bases[model], "domain_namespace": "1220" + "AB" * 32})
    for model in (SequencerConfig, MediatorConfig, TopologyManagerConfig, ParticipantConfig):
        for bad in (1, 65, True):
            assert "pool_size" in _refused(tmp_path, model, {**bases[model], "pool_size": bad})
    assert _load(tmp_path, SequencerConfig, {**bases[SequencerConfig], "pool_size": 40})
    for model in (MediatorConfig, TopologyManagerConfig):  # their own tighter ceiling holds
        assert "pool_size" in _refused(tmp_path, model, {**bases[model], "pool_size": 40})
    assert "initial_members.1" in _refused(tmp_path, TopologyManagerConfig, {
        **bases[TopologyManagerConfig], "initial_members": ["abcd", "xyz"]})


def test_file_paths_are_checked_before_the_node_starts(tmp_path: Path) -> None:
    bases = _bases(tmp_path)
    for model, data in bases.items():
        missing_dir = str(tmp_path / "nowhere" / "node.ready")
        assert "does not exist" in _refused(tmp_path, model, {**data, "ready_file": missing_dir})
        assert "directory" in _refused(tmp_path, model, {**data, "ready_file": str(tmp_path)})
        assert "must not be empty" in _refused(tmp_path, model, {**data, "ready_file": ""})
        loaded = _load(tmp_path, model, {**data, "ready_file": str(tmp_path / "n.ready")})
        assert loaded.ready_file == tmp_path / "n.ready"
    participant = bases[ParticipantConfig]
    assert "key_file" in _refused(tmp_path, ParticipantConfig, {**participant, "key_file": ""})
    assert "key_file" in _refused(tmp_path, ParticipantConfig,
                                  {**participant, "key_file": str(tmp_path)})
    assert "access_token_file" in _refused(tmp_path, JsonApiConfig, {
        **bases[JsonApiConfig], "access_token_file": str(tmp_path)})


def test_seconds_and_domain_parameters_are_refused_when_out_of_range_in_toml(
    tmp_path: Path,
) -> None:
    path = tmp_path / "json_api.toml"
    path.write_text('ledger_api = "bank:6865"\nparticipant_id = "bank::1"\n'
                    'command_timeout_s = inf\n[auth]\nhs256_secret = "' + "s" * 32 + '"\n')
    with pytest.raises(ConfigError, match="command_timeout_s"):
        load_config(path, JsonApiConfig)
    path = tmp_path / "topology.toml"
    path.write_text('database_dsn = "postgresql://h/t"\nadmin_token = "' + TOKEN + '"\n'
                    'sequencer_endpoints = ["h:1"]\n[parameters]\n'
                    'topology_change_delay_ms = 0\n')
    with pytest.raises(ConfigError, match=r"parameters.*topology_change_delay"):
        load_config(path, TopologyManagerConfig)  # was accepted, then refused at genesis


def test_the_configs_localnet_writes_load_through_the_shared_types(tmp_path: Path) -> None:
    ready_dir = tmp_path / "run"
    ready_dir.mkdir()
    dsns = {name: f"postgresql://mc@127.0.0.1:5432/{name}" for name in LocalnetLayout(
        tmp_path, {}, {}, ready_dir).database_names()}
    layout = LocalnetLayout(tmp_path, load_or_create_state(tmp_path), dsns, ready_dir)
    specs = [*layout.sequencers(), layout.topology_manager(["ab" * 40]), layout.mediator(),
             *(layout.participant(name) for name in layout.participants),
             *(layout.json_api(name, f"{name}::1220ab") for name in layout.participants)]
    models: dict[str, type[BaseModel]] = {
        "sequencer": SequencerConfig, "topology": TopologyManagerConfig,
        "mediator": MediatorConfig, "participant": ParticipantConfig, "json_api": JsonApiConfig}
    for spec in specs:
        path = tmp_path / f"{spec.name}.json"
        path.write_text(json.dumps(spec.config))
        loaded: Any = load_config(path, models[spec.kind])
        assert loaded.ready_file == Path(spec.config["ready_file"])


@pytest.mark.parametrize(("service", "model"), [("sequencer", SequencerConfig),
                                                ("json_api", JsonApiConfig)])
def test_a_bad_value_is_one_line_and_exit_2_without_the_secret_at_the_entry_point(
    tmp_path: Path, service: str, model: type[BaseModel],
) -> None:
    data = _bases(tmp_path)[model]
    bad_dsn = f"mysql://mc:{PASSWORD}@h/db"
    data = ({**data, "database_dsn": bad_dsn} if service == "sequencer"
            else {**data, "query_store": {"dsn": bad_dsn}})
    path = tmp_path / f"{service}.json"
    path.write_text(json.dumps(data))
    done = subprocess.run([sys.executable, "-m", f"minicanton.{service}", "--config", str(path)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and PASSWORD not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "dsn" in done.stderr
