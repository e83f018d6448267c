"""What a newcomer sees when `minicanton localnet` meets bad input: one line naming the
file, port or server and what is wrong (never a traceback), and nothing left running."""

from __future__ import annotations

import fcntl
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.cli.localnet_cli import minicanton, one_error_line, state_with_ports

from minicanton.cli.localnet.layout import LocalnetLayout
from minicanton.runtime.embedded_postgres import EmbeddedPostgres

DATABASES = LocalnetLayout(Path("."), {}, {}, Path(".")).database_names()


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def _drop_all(cluster: EmbeddedPostgres) -> None:
    for name in DATABASES:
        cluster.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def external_server(postgres_cluster: EmbeddedPostgres) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL server holding the network's databases, all empty."""
    _drop_all(postgres_cluster)
    for name in DATABASES:
        postgres_cluster.create_database(name)
    yield postgres_cluster
    _drop_all(postgres_cluster)


def test_a_truncated_state_json_is_named(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text('{"hs256_secret": "ab')
    result = minicanton("localnet", "up", "--dir", str(tmp_path))
    assert result.returncode == 1
    assert f"{tmp_path / 'state.json'} is not valid JSON" in one_error_line(result)
    assert not (tmp_path / "postgres").exists(), "nothing starts on a broken state"


def test_state_json_ports_that_are_not_an_object_are_named(tmp_path: Path) -> None:
    state_with_ports(tmp_path)
    state = json.loads((tmp_path / "state.json").read_text())
    (tmp_path / "state.json").write_text(json.dumps({**state, "ports": "nope"}))
    result = minicanton("localnet", "up", "--dir", str(tmp_path))
    assert result.returncode == 1
    assert "'ports' must be an object" in one_error_line(result)


@pytest.mark.parametrize(("content", "fault"), [
    ('{"participants": 5}', "'participants' must be an object"),
    ('{"participants": {', "is not valid JSON"),
])
def test_a_malformed_network_json_is_named_by_status_token_and_down(
        tmp_path: Path, content: str, fault: str) -> None:
    (tmp_path / "network.json").write_text(content)
    for command in (["localnet", "status"], ["token", "--act-as", "Alice"]):
        result = minicanton(*command, "--dir", str(tmp_path))
        assert result.returncode != 0
        line = one_error_line(result)
        assert str(tmp_path / "network.json") in line and fault in line, line
    down = minicanton("localnet", "down", "--dir", str(tmp_path))
    assert down.returncode == 0 and "Traceback" not in down.stderr
    assert fault in down.stderr and "stopping the processes recorded in" in down.stderr


def test_a_dir_that_is_a_file_is_one_line_without_hints(tmp_path: Path) -> None:
    a_file = tmp_path / "afile"
    a_file.write_text("not a folder")
    for command in ("up", "down"):
        result = minicanton("localnet", command, "--dir", str(a_file))
        assert result.returncode == 1
        assert "is a file, not" in one_error_line(result)
        assert "logs" not in result.stderr and "stopped" not in result.stderr
    assert a_file.read_text() == "not a folder"


def test_up_and_down_refuse_while_another_command_works_on_the_folder(tmp_path: Path) -> None:
    """A second command on the same folder while one works (here: its lock held) is one
    line, and touches nothing: an `up` would otherwise stop the first one's new nodes."""
    (tmp_path / "run").mkdir()
    with (tmp_path / "run" / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        for command in (("up",), ("down", "--wipe")):
            result = minicanton("localnet", *command, "--dir", str(tmp_path))
            assert result.returncode == 1
            assert "another 'minicanton localnet' command is working on" in one_error_line(
                result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_wipe_refuses_a_folder_that_holds_no_network(tmp_path: Path) -> None:
    """`down --wipe --dir` given the wrong folder (a home, a project) deletes nothing."""
    notes = tmp_path / "docs" / "thesis.txt"
    notes.parent.mkdir()
    notes.write_text("three years of work")
    result = minicanton("localnet", "down", "--wipe", "--dir", str(tmp_path))
    assert result.returncode == 1
    assert "holds no local network" in one_error_line(result)
    assert notes.read_text() == "three years of work"


def test_a_malformed_dsn_with_a_password_is_refused_without_showing_it(
        tmp_path: Path) -> None:
    result = minicanton("localnet", "up", "--dir", str(tmp_path), "--dsn",
                        "postgres://admin:hunter2@/x?password=hunter3")
    assert result.returncode == 1
    line = one_error_line(result)
    assert "is not a PostgreSQL URL" in line
    assert "hunter2" not in result.stderr + result.stdout
    assert "hunter3" not in result.stderr + result.stdout


def test_a_taken_postgres_port_names_the_port_and_the_key_to_change(
        tmp_path: Path, held_port: int) -> None:
    state_with_ports(tmp_path, postgres=held_port)
    result = minicanton("localnet", "up", "--dir", str(tmp_path))
    assert result.returncode == 1
    line = one_error_line(result)
    assert f"PostgreSQL cannot listen on 127.0.0.1:{held_port}" in line
    assert f"delete 'postgres' from \"ports\" in {tmp_path / 'state.json'}" in line
    assert not (tmp_path / "postgres").exists()


def test_a_malformed_dsn_is_refused_before_anything_starts(tmp_path: Path) -> None:
    result = minicanton("localnet", "up", "--dir", str(tmp_path), "--dsn", "notadsn")
    assert result.returncode == 1
    assert "--dsn 'notadsn' is not a PostgreSQL URL" in one_error_line(result)
    assert not (tmp_path / "configs").exists()


def test_an_unreachable_dsn_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    dsn = f"postgresql://postgres:hush@127.0.0.1:{closed}/postgres"
    result = minicanton("localnet", "up", "--dir", str(tmp_path), "--dsn", dsn)
    line = one_error_line(result)
    assert result.returncode == 1 and "hush" not in result.stderr
    assert f"cannot use PostgreSQL at postgresql://postgres:***@127.0.0.1:{closed}" in line


def test_missing_databases_are_listed_with_all_the_network_needs(
        tmp_path: Path, external_server: EmbeddedPostgres) -> None:
    for name in ("mc_mediator", "mc_bob_json_api"):
        external_server.psql(f'DROP DATABASE "{name}"')
    result = minicanton("localnet", "up", "--dir", str(tmp_path), "--dsn", external_server.dsn)
    assert result.returncode == 1
    line = one_error_line(result)
    assert "lacks 2 of the network's databases: mc_mediator, mc_bob_json_api" in line
    assert f"needs: {', '.join(DATABASES)}" in line


def test_a_new_network_refuses_databases_an_earlier_one_filled(
        tmp_path: Path, external_server: EmbeddedPostgres) -> None:
    external_server.psql("CREATE TABLE leftover (n int)", database="mc_topology")
    result = minicanton("localnet", "up", "--dir", str(tmp_path), "--dsn", external_server.dsn)
    assert result.returncode == 1
    line = one_error_line(result)
    assert "a new network needs empty databases, but mc_topology" in line
    assert "DROP DATABASE mc_topology" in line


def test_a_taken_node_port_then_wipe_leaves_the_external_databases_and_says_so(
        tmp_path: Path, external_server: EmbeddedPostgres, held_port: int) -> None:
    state_with_ports(tmp_path, sequencer1=held_port)
    result = minicanton("localnet", "up", "--dir", str(tmp_path), "--dsn", external_server.dsn)
    assert result.returncode == 1
    line = one_error_line(result)
    assert f"sequencer1 cannot listen on 127.0.0.1:{held_port}" in line
    assert "delete 'sequencer1' from \"ports\"" in line
    wipe = minicanton("localnet", "down", "--dir", str(tmp_path), "--wipe")
    assert wipe.returncode == 0 and not tmp_path.exists()
    assert "(external PostgreSQL) were left alone" in wipe.stderr
    assert "DROP DATABASE mc_sequencer; DROP DATABASE mc_topology" in wipe.stderr
    assert external_server.psql("SELECT 1", database="mc_sequencer").strip() == "1"
