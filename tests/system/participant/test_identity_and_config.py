"""The participant's key file and its config errors, through the real entry point."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from minicanton.core.entropy import SeededEntropy
from minicanton.participant import keys as key_file
from minicanton.participant.keys import DomainBinding, KeyFileError
from minicanton.runtime.ports import free_port


def test_keys_are_created_once_owner_only_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "keys.json"
    created, fresh = key_file.load_or_create(path, "bank", SeededEntropy(1))
    assert fresh
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    again, fresh_again = key_file.load_or_create(path, "bank", SeededEntropy(2))
    assert not fresh_again
    assert again.participant_id == created.participant_id
    assert again.participant_id.startswith("PAR::bank::1220")
    assert again.encryption.public == created.encryption.public
    assert "private" not in repr(again) and again.signing.private_raw.hex() not in repr(again)


def test_domain_binding_survives_a_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    keys, _ = key_file.load_or_create(path, "bank", SeededEntropy(1))
    key_file.save(path, keys.bound_to(DomainBinding("domain1", "1220" + "ab" * 32)))
    assert key_file.load(path).domain == DomainBinding("domain1", "1220" + "ab" * 32)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["keys.json"]  # no temporary left


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    key_file.load_or_create(path, "bank", SeededEntropy(1))
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        key_file.load(path)


def test_a_key_file_of_another_participant_or_corrupt_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    key_file.load_or_create(path, "bank", SeededEntropy(1))
    with pytest.raises(KeyFileError, match="'bank'"):
        key_file.load_or_create(path, "alice", SeededEntropy(1))
    path.write_text('{"version": 1, "name": "bank", "signing_key": "zz"}')
    with pytest.raises(KeyFileError, match="not a valid participant key file"):
        key_file.load(path)


def _run(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "minicanton.participant", "--config", str(config)],
        capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('name = "bank"\n', "database_dsn: Field required"),
        ('name = "b a"\ndatabase_dsn="x"\nkey_file="k"\nsequencers=["h:1"]\n'
         'topology_manager="h:2"\n[auth]\nhs256_secret="s"\n', "name: Value error, a name is 1-64"),
        ('name = "bank"\ndatabase_dsn="x"\nkey_file="k"\nsequencers=["h:1"]\n'
         'topology_manager="h:2"\n[auth]\n', "exactly one of hs256_secret"),
        ('name = "bank"\ndatabase_dsn="x"\nkey_file="k"\nsequencers=["nope"]\n'
         'topology_manager="h:2"\n[auth]\nhs256_secret="a-development-secret-of-32-bytes!!"\n',
         "host:port"),
        ('name = "bank\n', "not valid TOML"),
    ],
)
def test_config_errors_exit_non_zero_with_one_clear_line(
    tmp_path: Path, content: str, expected: str
) -> None:
    config = tmp_path / "participant.toml"
    config.write_text(content)
    result = _run(config)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    result = _run(tmp_path / "absent.toml")
    assert result.returncode == 2
    assert "cannot read config" in result.stderr and "Traceback" not in result.stderr


def test_the_cli_runs_the_same_entry_point(tmp_path: Path) -> None:
    config = tmp_path / "participant.json"
    config.write_text('{"name": "bank"}')
    result = subprocess.run(
        [sys.executable, "-m", "minicanton.cli.main", "participant", "run", "--config",
         str(config)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "database_dsn: Field required" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_topology_manager_is_a_clear_start_error(
        tmp_path: Path, fresh_database: str) -> None:
    config = tmp_path / "participant.json"
    config.write_text(json.dumps({
        "name": "bank", "database_dsn": fresh_database, "key_file": str(tmp_path / "k.json"),
        "sequencers": [f"127.0.0.1:{free_port()}"],
        "topology_manager": f"127.0.0.1:{free_port()}", "onboarding_timeout_ms": 500,
        "auth": {"hs256_secret": "a-development-secret-of-32-bytes!!"}, "log_json": False,
    }))
    result = _run(config)
    assert result.returncode == 2
    assert "cannot reach the topology manager" in result.stderr
    assert "Traceback" not in result.stderr
    assert stat.S_IMODE((tmp_path / "k.json").stat().st_mode) == 0o600
