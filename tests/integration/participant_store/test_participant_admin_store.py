"""Parties, users and rights, packages in the participant's database."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from minicanton.core.errors import InvalidArgument
from minicanton.store.migrations import apply_migrations
from minicanton.store.postgres.participant_admin_store import (
    PackageRow,
    PartyRow,
    PostgresParticipantAdminStore,
    UserAlreadyExists,
    UserNotFound,
    UserRight,
    UserRow,
)
from minicanton.store.postgres.participant_store import (
    MIGRATIONS,
    STORE_NAME,
    PostgresParticipantStore,
)


@pytest.fixture
async def admin(fresh_database: str) -> AsyncIterator[PostgresParticipantAdminStore]:
    store = await PostgresParticipantStore.open(fresh_database)
    try:
        yield PostgresParticipantAdminStore(store.pool)
    finally:
        await store.close()


async def test_parties_are_recorded_once(admin: PostgresParticipantAdminStore) -> None:
    assert await admin.add_party(PartyRow("alice::12ab", "Alice", True, 1))
    assert not await admin.add_party(PartyRow("alice::12ab", "Other", False, 2))
    assert await admin.add_party(PartyRow("bob::12ab", "", False, 3))
    assert [p.display_name for p in await admin.list_parties()] == ["Alice", ""]
    assert [p.party for p in await admin.get_parties(["bob::12ab", "zed::00"])] == ["bob::12ab"]


async def test_hosting_changes_is_local_and_keeps_the_display_name(
        admin: PostgresParticipantAdminStore) -> None:
    await admin.record_hosting("carol::12ab", True, 1)  # the pump first: no display name yet
    await admin.record_allocated_party(PartyRow("carol::12ab", "Carol", True, 2))
    await admin.record_hosting("dave::12ab", False, 3)
    await admin.record_hosting("dave::12ab", True, 4)  # now hosted here as well
    await admin.record_hosting("carol::12ab", False, 5)  # no longer hosted here
    parties = {p.party: (p.display_name, p.is_local, p.added_at_us)
               for p in await admin.list_parties()}
    assert parties == {"carol::12ab": ("Carol", False, 1), "dave::12ab": ("", True, 3)}


async def test_users_and_rights(admin: PostgresParticipantAdminStore) -> None:
    act = UserRight("can_act_as", "alice::12ab")
    read = UserRight("can_read_as", "bob::12ab")
    await admin.create_user(UserRow("u1", "alice::12ab", False, 1), [act])
    with pytest.raises(UserAlreadyExists) as exists:
        await admin.create_user(UserRow("u1", "", False, 2))
    assert exists.value.error_id == "USER_ALREADY_EXISTS"
    assert await admin.grant_rights("u1", [act, read]) == [read]
    assert await admin.list_rights("u1") == [act, read]
    assert await admin.revoke_rights("u1", [read, UserRight("participant_admin")]) == [read]
    assert (await admin.get_user("u1")).primary_party == "alice::12ab"
    await admin.create_user(UserRow("u2", "", False, 3))
    # participant_admin: every participant's database starts with it, as Daml's does
    assert [u.user_id for u in await admin.list_users()] == ["participant_admin", "u1", "u2"]
    assert [u.user_id for u in await admin.list_users(after_user_id="u1")] == ["u2"]
    await admin.delete_user("u1")
    for missing in (admin.get_user("u1"), admin.delete_user("u1"), admin.list_rights("u1"),
                    admin.grant_rights("u1", [act])):
        with pytest.raises(UserNotFound):
            await missing


def test_rights_name_a_party_exactly_when_they_need_one() -> None:
    with pytest.raises(InvalidArgument):
        UserRight("can_act_as")
    with pytest.raises(InvalidArgument):
        UserRight("participant_admin", "alice::12ab")


async def test_packages_by_content_id(admin: PostgresParticipantAdminStore) -> None:
    package = PackageRow("f" * 64, "dvp", b"source", 5)
    assert await admin.add_package(package)
    assert not await admin.add_package(package)
    assert await admin.get_package("f" * 64) == package
    assert await admin.get_package("0" * 64) is None
    assert await admin.list_packages() == [package]


async def test_participant_admin_is_created_once_per_database(fresh_database: str) -> None:
    """Daml's default admin user comes with the database; deleted, it stays deleted when the
    node opens its store again (a start must not overrule the operator)."""
    store = await PostgresParticipantStore.open(fresh_database)
    try:
        admin = PostgresParticipantAdminStore(store.pool)
        assert await admin.list_rights("participant_admin") == [UserRight("participant_admin")]
        await admin.delete_user("participant_admin")
    finally:
        await store.close()
    reopened = await PostgresParticipantStore.open(fresh_database)
    try:
        users = await PostgresParticipantAdminStore(reopened.pool).list_users()
        assert "participant_admin" not in [u.user_id for u in users]
    finally:
        await reopened.close()


async def test_a_participant_admin_made_before_the_migration_keeps_its_rights(
        fresh_database: str, tmp_path: Path) -> None:
    """An operator's own `participant_admin` from before the default user existed is not
    made an admin by the migration that brings the default."""
    earlier = tmp_path / "migrations"
    earlier.mkdir()
    for migration in sorted(MIGRATIONS.glob("*.sql")):
        if not migration.name.startswith("0013_"):
            shutil.copy(migration, earlier / migration.name)
        else:
            break
    await apply_migrations(fresh_database, STORE_NAME, earlier)
    connection = await asyncpg.connect(fresh_database)
    try:
        await connection.execute("INSERT INTO users (user_id, created_at_us) "
                                 "VALUES ('participant_admin', 1)")
        await connection.execute("INSERT INTO user_rights (user_id, kind, party) "
                                 "VALUES ('participant_admin', 'can_read_as', 'alice::12ab')")
    finally:
        await connection.close()
    store = await PostgresParticipantStore.open(fresh_database)
    try:
        rights = await PostgresParticipantAdminStore(store.pool).list_rights("participant_admin")
        assert rights == [UserRight("can_read_as", "alice::12ab")]
    finally:
        await store.close()
