"""The participant's administrative state in PostgreSQL: parties, users and rights, packages.

Same database (and migration) as `PostgresParticipantStore`; kept apart because none of it is
written by sequenced events, and so none of it moves the clean position. Error ids are the
Ledger API's (USER_NOT_FOUND, USER_ALREADY_EXISTS).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg

from minicanton.core.errors import InvalidArgument, MinicantonError

RightKind = Literal["participant_admin", "can_act_as", "can_read_as"]
_PARTY_RIGHTS = ("can_act_as", "can_read_as")


class UserNotFound(MinicantonError):
    error_id = "USER_NOT_FOUND"


class UserAlreadyExists(MinicantonError):
    error_id = "USER_ALREADY_EXISTS"


@dataclass(frozen=True, slots=True)
class PartyRow:
    party: str
    display_name: str
    is_local: bool
    added_at_us: int


@dataclass(frozen=True, slots=True)
class UserRight:
    kind: RightKind
    party: str = ""  # empty for participant_admin

    def __post_init__(self) -> None:
        if (self.kind in _PARTY_RIGHTS) != bool(self.party):
            needs = "needs a" if self.kind in _PARTY_RIGHTS else "takes no"
            raise InvalidArgument(f"user right {self.kind} {needs} party")


@dataclass(frozen=True, slots=True)
class UserRow:
    user_id: str
    primary_party: str
    is_deactivated: bool
    created_at_us: int


@dataclass(frozen=True, slots=True)
class PackageRow:
    package_id: str
    name: str
    source: bytes
    uploaded_at_us: int


class PostgresParticipantAdminStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    # -- parties ---------------------------------------------------------------------------

    async def add_party(self, party: PartyRow) -> bool:
        """Record a party; False if it was already known (the first record stays)."""
        status: str = await self._pool.execute(
            "INSERT INTO parties (party, display_name, is_local, added_at_us) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (party) DO NOTHING",
            party.party, party.display_name, party.is_local, party.added_at_us,
        )
        return status.endswith(" 1")

    async def record_allocated_party(self, party: PartyRow) -> None:
        """A party this node allocated: its display name wins over a bare record the event
        pump may have made first, when the hosting became effective."""
        await self._pool.execute(
            "INSERT INTO parties (party, display_name, is_local, added_at_us) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (party) DO UPDATE "
            "SET display_name = EXCLUDED.display_name, is_local = EXCLUDED.is_local",
            party.party, party.display_name, party.is_local, party.added_at_us,
        )

    async def record_hosting(self, party: str, is_local: bool, at_us: int) -> None:
        """A party as the domain's topology now hosts it: new ones are added, known ones
        keep their display name and change `is_local` only."""
        await self._pool.execute(
            "INSERT INTO parties (party, display_name, is_local, added_at_us) "
            "VALUES ($1, '', $2, $3) ON CONFLICT (party) DO UPDATE "
            "SET is_local = EXCLUDED.is_local WHERE parties.is_local <> EXCLUDED.is_local",
            party, is_local, at_us,
        )

    async def list_parties(self) -> list[PartyRow]:
        rows = await self._pool.fetch("SELECT * FROM parties ORDER BY party")
        return [_party(r) for r in rows]

    async def get_parties(self, parties: Collection[str]) -> list[PartyRow]:
        rows = await self._pool.fetch(
            "SELECT * FROM parties WHERE party = ANY($1::text[]) ORDER BY party", list(parties)
        )
        return [_party(r) for r in rows]

    # -- users and rights ------------------------------------------------------------------

    async def create_user(self, user: UserRow, rights: Iterable[UserRight] = ()) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                await conn.execute(
                    "INSERT INTO users (user_id, primary_party, is_deactivated, created_at_us) "
                    "VALUES ($1, $2, $3, $4)",
                    user.user_id, user.primary_party, user.is_deactivated, user.created_at_us,
                )
            except asyncpg.UniqueViolationError:
                raise UserAlreadyExists(f"user {user.user_id!r} already exists") from None
            await _insert_rights(conn, user.user_id, rights)

    async def get_user(self, user_id: str) -> UserRow:
        row = await self._pool.fetchrow("SELECT * FROM users WHERE user_id = $1", user_id)
        if row is None:
            raise UserNotFound(f"user {user_id!r} not found")
        return UserRow(row["user_id"], row["primary_party"], row["is_deactivated"],
                       row["created_at_us"])

    async def delete_user(self, user_id: str) -> None:
        status = await self._pool.execute("DELETE FROM users WHERE user_id = $1", user_id)
        if status.endswith(" 0"):
            raise UserNotFound(f"user {user_id!r} not found")

    async def list_users(self, after_user_id: str = "", limit: int = 1000) -> list[UserRow]:
        rows = await self._pool.fetch(
            "SELECT * FROM users WHERE user_id > $1 ORDER BY user_id LIMIT $2",
            after_user_id, limit,
        )
        return [UserRow(r["user_id"], r["primary_party"], r["is_deactivated"],
                        r["created_at_us"]) for r in rows]

    async def grant_rights(self, user_id: str, rights: Iterable[UserRight]) -> list[UserRight]:
        """Grant rights; returns those the user did not have before."""
        async with self._pool.acquire() as conn, conn.transaction():
            await _require_user(conn, user_id)
            return await _insert_rights(conn, user_id, rights)

    async def revoke_rights(self, user_id: str, rights: Iterable[UserRight]) -> list[UserRight]:
        """Revoke rights; returns those the user had."""
        revoked = []
        async with self._pool.acquire() as conn, conn.transaction():
            await _require_user(conn, user_id)
            for right in dict.fromkeys(rights):
                status = await conn.execute(
                    "DELETE FROM user_rights WHERE user_id = $1 AND kind = $2 AND party = $3",
                    user_id, right.kind, right.party,
                )
                if status.endswith(" 1"):
                    revoked.append(right)
        return revoked

    async def list_rights(self, user_id: str) -> list[UserRight]:
        async with self._pool.acquire() as conn:
            await _require_user(conn, user_id)
            rows = await conn.fetch(
                "SELECT kind, party FROM user_rights WHERE user_id = $1 ORDER BY kind, party",
                user_id,
            )
        return [UserRight(r["kind"], r["party"]) for r in rows]

    # -- packages --------------------------------------------------------------------------

    async def add_package(self, package: PackageRow) -> bool:
        """Store a package; False if its id was already stored (ids are content hashes)."""
        status: str = await self._pool.execute(
            "INSERT INTO packages (package_id, name, source, uploaded_at_us) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (package_id) DO NOTHING",
            package.package_id, package.name, package.source, package.uploaded_at_us,
        )
        return status.endswith(" 1")

    async def list_packages(self) -> list[PackageRow]:
        rows = await self._pool.fetch("SELECT * FROM packages ORDER BY package_id")
        return [_package(r) for r in rows]

    async def get_package(self, package_id: str) -> PackageRow | None:
        row = await self._pool.fetchrow(
            "SELECT * FROM packages WHERE package_id = $1", package_id
        )
        return None if row is None else _package(row)


async def _require_user(conn: Any, user_id: str) -> None:
    if await conn.fetchval("SELECT 1 FROM users WHERE user_id = $1", user_id) is None:
        raise UserNotFound(f"user {user_id!r} not found")


async def _insert_rights(conn: Any, user_id: str, rights: Iterable[UserRight]) -> list[UserRight]:
    granted = []
    for right in dict.fromkeys(rights):
        status = await conn.execute(
            "INSERT INTO user_rights (user_id, kind, party) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING", user_id, right.kind, right.party,
        )
        if status.endswith(" 1"):
            granted.append(right)
    return granted


def _party(row: Any) -> PartyRow:
    return PartyRow(row["party"], row["display_name"], row["is_local"], row["added_at_us"])


def _package(row: Any) -> PackageRow:
    return PackageRow(row["package_id"], row["name"], bytes(row["source"]),
                      row["uploaded_at_us"])
