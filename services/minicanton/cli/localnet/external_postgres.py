"""`localnet up --dsn`: check an external PostgreSQL before any node depends on it.

The nodes would otherwise find a bad DSN, an unreachable server or a missing database one
at a time, deep in their own start-up. A new network (no state.json yet) must also start
from empty databases: tables left by an earlier network hold other keys and an old domain,
and the participants would time out against them instead of saying so.
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import SplitResult, urlsplit, urlunsplit

import asyncpg

from minicanton.cli.localnet.supervisor import LocalnetError

CONNECT_TIMEOUT_S = 5.0


def _parsed(dsn: str) -> SplitResult:
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
        raise LocalnetError(f"--dsn {redacted(dsn)!r} is not a PostgreSQL URL: expected "
                            "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
    try:
        _ = parts.port
    except ValueError:
        raise LocalnetError(f"--dsn {redacted(dsn)!r} has a bad port") from None
    return parts


def redacted(dsn: str) -> str:
    """`dsn` fit for a message: its password, in the user part or a `password=` query
    parameter (libpq takes both), replaced by ***."""
    try:
        parts = urlsplit(dsn)
        password = parts.password
    except ValueError:
        return "<unreadable URL>"
    if password is not None:
        parts = parts._replace(netloc=parts.netloc.replace(f":{password}@", ":***@", 1))
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    return urlunsplit(parts._replace(query=query))


def dsn_for(dsn: str, database: str) -> str:
    return urlunsplit(_parsed(dsn)._replace(path=f"/{database}"))


def server_of(dsn: str) -> str:
    parts = urlsplit(redacted(dsn))
    return urlunsplit(parts._replace(path="", query="", fragment=""))


def drop_hint(dsn: str, names: list[str]) -> str:
    drops = "; ".join(f"DROP DATABASE {name}" for name in names)
    return f"psql '{redacted(dsn)}' -c '{drops}'"


def check_external(dsn: str, names: list[str], fresh: bool) -> None:
    """Raise LocalnetError unless the server answers and holds every database in `names`
    (and, for a new network, none of them holds tables yet)."""
    _parsed(dsn)
    asyncio.run(_check(dsn, names, fresh))


async def _connect(dsn: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT_S)
    except (TimeoutError, OSError, asyncpg.PostgresError, ValueError) as error:
        raise LocalnetError(f"cannot use PostgreSQL at {server_of(dsn)}: "
                            f"{type(error).__name__}: {error}") from None


async def _check(dsn: str, names: list[str], fresh: bool) -> None:
    connection = await _connect(dsn)
    try:
        existing = {row["datname"] for row in await connection.fetch(
            "SELECT datname FROM pg_database")}
    finally:
        await connection.close()
    missing = [name for name in names if name not in existing]
    if missing:
        raise LocalnetError(
            f"PostgreSQL at {server_of(dsn)} lacks {len(missing)} of the network's databases: "
            f"{', '.join(missing)}; create them (e.g. createdb {' '.join(missing)}). The "
            f"network needs: {', '.join(names)}")
    if fresh:
        used = [name for name in names if await _has_tables(dsn_for(dsn, name))]
        if used:
            raise LocalnetError(
                f"a new network needs empty databases, but {', '.join(used)} at "
                f"{server_of(dsn)} hold data of an earlier network: drop and create them "
                f"again ({drop_hint(dsn, used)}, then createdb each)")


async def _has_tables(dsn: str) -> bool:
    connection = await _connect(dsn)
    try:
        count = await connection.fetchval(
            "SELECT count(*) FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
    finally:
        await connection.close()
    return bool(count)
