from pathlib import Path

import asyncpg

from minicanton.runtime.embedded_postgres import EmbeddedPostgres


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
