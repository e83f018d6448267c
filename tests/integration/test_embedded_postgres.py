import socket
from pathlib import Path

import asyncpg
import pytest

from minicanton.runtime.embedded_postgres import (
    EmbeddedPostgres,
    EmbeddedPostgresError,
    _cause,
)


async def test_fresh_database_is_empty_and_writable(fresh_database: str) -> None:
    connection = await asyncpg.connect(fresh_database)
    try:
        tables = await connection.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
        assert tables == 0
        await connection.execute("CREATE TABLE probe (n int)")
        await connection.execute("INSERT INTO probe VALUES (42)")
        assert await connection.fetchval("SELECT n FROM probe") == 42
    finally:
        await connection.close()


def test_each_test_gets_its_own_database(fresh_database: str, postgres_cluster) -> None:
    other = postgres_cluster.create_database("t_other_probe")
    assert other != fresh_database
    assert postgres_cluster.psql("SELECT 1", database="t_other_probe").strip() == "1"


def test_a_cluster_in_a_folder_with_spaces_starts(tmp_path: Path) -> None:
    """pg_ctl passes the server options through a shell: the socket folder must be quoted."""
    cluster = EmbeddedPostgres(tmp_path / "my net" / "postgres", durable=False)
    try:
        cluster.start()
        assert cluster.psql("SELECT 1").strip() == "1"
        assert (tmp_path / "my net" / "postgres" / f".s.PGSQL.{cluster.port}").is_socket()
    finally:
        cluster.stop()
    assert not cluster.is_running()


def _start_on_a_taken_port(cluster: EmbeddedPostgres) -> str:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        cluster.port = holder.getsockname()[1]
        with pytest.raises(EmbeddedPostgresError) as failure:
            cluster.start()
    return str(failure.value)


def test_a_failed_start_names_this_start_s_cause_only(tmp_path: Path) -> None:
    """The server log keeps every start; the error quotes this one's FATAL line, not those
    of the earlier starts above it."""
    cluster = EmbeddedPostgres(tmp_path / "postgres", durable=False)
    _start_on_a_taken_port(cluster)  # the log now holds an earlier failure
    message = _start_on_a_taken_port(cluster)
    assert f"did not start on 127.0.0.1:{cluster.port}" in message
    assert message.count("could not create any TCP/IP sockets") == 1, message
    assert "\n" not in message


def test_a_start_whose_server_writes_no_log_is_explained_by_pg_ctl(tmp_path: Path) -> None:
    """pg_ctl's own complaint (a data directory it cannot open, say) when the server never
    got to write to its log: the error must not end with an empty cause."""
    log_file = tmp_path / "server.log"
    log_file.write_text("2026-01-01 LOG:  an earlier start\n")
    cause = _cause(log_file, log_file.stat().st_size,
                   'pg_ctl: could not open PID file "/x/postmaster.pid": Permission denied\n'
                   "pg_ctl: could not start server\nExamine the log output.\n")
    assert cause.startswith('pg_ctl: could not open PID file "/x/postmaster.pid"')
    assert "earlier start" not in cause and "Examine" not in cause
