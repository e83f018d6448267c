"""Bad config and file input fails at load with one clear typed error (shells review #10):
never a traceback, never only once the node has acted on it (onboarded, subscribed).

The field types the node configs share (`LogLevel`, `Ed25519PublicKeyHex`) are validated in
one place, runtime/config.py; each node config below must use them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from minicanton.core.entropy import SeededEntropy
from minicanton.mediator.config import MediatorConfig
from minicanton.participant import keys as key_file
from minicanton.participant.config import ParticipantConfig
from minicanton.participant.keys import KeyFileError
from minicanton.runtime.config import ConfigError, load_config
from minicanton.topology.config import TopologyManagerConfig

SEQUENCER_KEY_HEX = "5e" * 32


def _mediator() -> dict[str, Any]:
    return {"database_dsn": "postgresql://x/m", "signing_key_seed_hex": "11" * 32,
            "domain_id": "d", "domain_namespace": "1220" + "ab" * 32,
            "sequencers": ["127.0.0.1:1"], "admin_token": "x" * 8, "health_port": None}


def _topology() -> dict[str, Any]:
    return {"database_dsn": "postgresql://x/t", "admin_token": "x" * 8,
            "sequencer_endpoints": ["127.0.0.1:1"]}


def _participant(tmp_path: Path) -> dict[str, Any]:
    return {"name": "bank", "database_dsn": "postgresql://x/p",
            "key_file": str(tmp_path / "keys.json"), "sequencers": ["127.0.0.1:1"],
            "topology_manager": "127.0.0.1:2", "auth": {"hs256_secret": "s" * 32}}


def _configs(tmp_path: Path) -> list[tuple[type[BaseModel], dict[str, Any]]]:
    return [(MediatorConfig, _mediator()), (TopologyManagerConfig, _topology()),
            (ParticipantConfig, _participant(tmp_path))]


def _load(tmp_path: Path, model: type[BaseModel], data: dict[str, Any]) -> BaseModel:
    path = tmp_path / f"{model.__name__}.json"
    path.write_text(json.dumps(data))
    return load_config(path, model)


def test_log_level_is_validated_at_load_by_every_node_config(tmp_path: Path) -> None:
    for model, data in _configs(tmp_path):
        with pytest.raises(ConfigError, match="log_level must be one of") as refused:
            _load(tmp_path, model, {**data, "log_level": "VERBOSE"})
        assert refused.value.error_id == "CONFIG_INVALID"
        loaded: Any = _load(tmp_path, model, {**data, "log_level": "debug"})
        assert loaded.log_level == "DEBUG"


@pytest.mark.parametrize("bad", ["zz", "ab" * 31, "ab" * 33])
def test_a_pinned_sequencer_key_must_be_a_32_byte_hex_key_in_every_node_config(
    tmp_path: Path, bad: str,
) -> None:
    for model, data in _configs(tmp_path):
        field = "trusted_sequencer_keys_hex"
        with pytest.raises(ConfigError, match=field):
            _load(tmp_path, model, {**data, field: [SEQUENCER_KEY_HEX, bad]})
        loaded: Any = _load(tmp_path, model, {**data, field: [SEQUENCER_KEY_HEX.upper()]})
        assert loaded.trusted_sequencer_keys_hex == [SEQUENCER_KEY_HEX]


@pytest.mark.parametrize(("auth", "expected"), [
    ({"hs256_secret": "short"}, "at least 32 bytes"),
    ({"public_key_file": "/nonexistent/key.pem"}, "cannot read public_key_file"),
    ({"public_key_file": "__NOT_PEM__"}, "not a PEM public key"),
])
def test_the_ledger_api_key_source_is_checked_at_load(
    tmp_path: Path, auth: dict[str, str], expected: str,
) -> None:
    if auth.get("public_key_file") == "__NOT_PEM__":
        (tmp_path / "key.pem").write_text("not a key")
        auth = {"public_key_file": str(tmp_path / "key.pem")}
    with pytest.raises(ConfigError, match=expected):
        _load(tmp_path, ParticipantConfig, {**_participant(tmp_path), "auth": auth})


@pytest.mark.parametrize("service", ["mediator", "topology", "participant"])
def test_a_bad_config_is_one_line_and_exit_2_at_the_process_entry_point(
    tmp_path: Path, service: str,
) -> None:
    data = {"mediator": _mediator(), "topology": _topology(),
            "participant": _participant(tmp_path)}[service]
    path = tmp_path / f"{service}.json"
    path.write_text(json.dumps({**data, "log_level": "LOUD"}))
    done = subprocess.run([sys.executable, "-m", f"minicanton.{service}", "--config", str(path)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "log_level" in done.stderr
    assert not (tmp_path / "keys.json").exists()  # the participant did nothing


@pytest.mark.parametrize("content", ["[]", '"x"', "42", "null"])
def test_a_key_file_that_is_json_but_not_an_object_is_a_key_file_error(
    tmp_path: Path, content: str,
) -> None:
    path = tmp_path / "keys.json"
    key_file.load_or_create(path, "bank", SeededEntropy(1))
    path.write_text(content)
    with pytest.raises(KeyFileError, match="not a JSON object"):
        key_file.load(path)
