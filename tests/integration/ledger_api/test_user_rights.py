"""User tokens against the real server and store: the rights cache and live re-checks.

- within the cache's TTL, calls with a user token read the user from the store once (even a
  burst of concurrent calls at expiry reads it once);
- a UserManagementService write on this participant applies to the next call at once (the
  tests raise the TTL to a minute so only the invalidation can explain it);
- a change made behind the Ledger API's back (SQL) applies within the TTL;
- an open stream ends with PERMISSION_DENIED when its user's rights are revoked (before it
  delivers anything the user may no longer read), when the user is deleted, and when the user
  is deactivated out of band.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
import pytest
from tests.integration.ledger_api.harness import (
    PARTICIPANT_ID,
    SECRET,
    Harness,
    auth,
    rich_status,
)
from tests.integration.ledger_api.test_admin import act_as, read_as
from tests.integration.ledger_api.test_reads import BEGIN, END, tx_filter
from tests.unit.lf.engine_helpers import ALICE, BANK, BOB, numeric, party, record, ref, text

from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    command_completion_service_pb2 as completion_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    command_completion_service_pb2_grpc as completion_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    transaction_service_pb2 as tx_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    transaction_service_pb2_grpc as tx_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    user_management_service_pb2 as user_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    user_management_service_pb2_grpc as user_grpc,
)
from minicanton.core.lf.commands import CreateCommand
from minicanton.runtime.auth import mint_dev_user_token
from minicanton.store.postgres.participant_admin_store import UserRow

USER = "alice-app"
DENIED = grpc.StatusCode.PERMISSION_DENIED


class CountingAdmin:
    """The real admin store, counting the user reads the rights lookup makes."""

    def __init__(self, admin: Any) -> None:
        self.admin = admin
        self.user_reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.admin, name)

    async def get_user(self, user_id: str) -> UserRow:
        self.user_reads += 1
        return await self.admin.get_user(user_id)  # type: ignore[no-any-return]


def user_token(user_id: str = USER) -> tuple[tuple[str, str], ...]:
    return auth(mint_dev_user_token(SECRET, user_id, PARTICIPANT_ID))


async def create_user(api: Harness, *rights: user_pb2.Right, user_id: str = USER) -> None:
    await user_grpc.UserManagementServiceStub(api.channel).CreateUser(
        user_pb2.CreateUserRequest(user=user_pb2.User(id=user_id), rights=list(rights)),
        metadata=auth(api.token(admin=True)))


async def read_as_user(api: Harness, reader: str) -> grpc.StatusCode:
    """A bounded GetTransactions as `reader` with the user's token: its final status."""
    request = tx_pb2.GetTransactionsRequest(begin=BEGIN, end=END, filter=tx_filter(**{
        reader: None}))
    try:
        async for _ in tx_grpc.TransactionServiceStub(api.channel).GetTransactions(
                request, metadata=user_token()):
            pass
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def commit_iou_to_alice(api: Harness) -> None:
    await api.writer.commit([CreateCommand(ref("dvp:Iou"), record(
        issuer=party(BANK), owner=party(ALICE), amount=numeric("5"), currency=text("USD")))],
        [BANK])


async def expect_denied(call: Any, within_s: float) -> grpc.aio.AioRpcError:
    """The next read of `call` fails with PERMISSION_DENIED (Daml id) within `within_s`."""
    with pytest.raises(grpc.aio.AioRpcError) as ended:
        await asyncio.wait_for(call.read(), within_s)
    assert ended.value.code() == DENIED
    assert rich_status(ended.value)[1].reason == "PERMISSION_DENIED"
    return ended.value


async def test_user_token_calls_read_the_user_once_per_ttl(api: Harness) -> None:
    await create_user(api, read_as(ALICE))
    counting = CountingAdmin(api.admin)
    api.backend.admin = counting
    api.backend.rights_cache.ttl_s = 60.0
    api.backend.user_rights_changed(USER)  # forget what CreateUser's own call may have cached
    assert set(await asyncio.gather(*(read_as_user(api, "alice") for _ in range(20)))) == {
        grpc.StatusCode.OK}
    for _ in range(10):
        assert await read_as_user(api, "alice") == grpc.StatusCode.OK
    assert counting.user_reads == 1  # 30 calls, the 20 concurrent first ones shared one read

    api.backend.rights_cache.ttl_s = 0.2
    await asyncio.sleep(0.3)
    assert await read_as_user(api, "alice") == grpc.StatusCode.OK
    assert counting.user_reads == 2  # expired: read again


async def test_user_management_writes_apply_to_the_next_call_at_once(api: Harness) -> None:
    api.backend.rights_cache.ttl_s = 60.0  # only the invalidation can explain what follows
    assert await read_as_user(api, "alice") == DENIED  # no such user (cached as such)
    await create_user(api, read_as(ALICE))
    assert await read_as_user(api, "alice") == grpc.StatusCode.OK
    assert await read_as_user(api, "bob") == DENIED
    users = user_grpc.UserManagementServiceStub(api.channel)
    admin = auth(api.token(admin=True))
    await users.GrantUserRights(user_pb2.GrantUserRightsRequest(
        user_id=USER, rights=[act_as(BOB)]), metadata=admin)
    assert await read_as_user(api, "bob") == grpc.StatusCode.OK  # acting implies reading
    await users.RevokeUserRights(user_pb2.RevokeUserRightsRequest(
        user_id=USER, rights=[read_as(ALICE)]), metadata=admin)
    assert await read_as_user(api, "alice") == DENIED
    await users.DeleteUser(user_pb2.DeleteUserRequest(user_id=USER), metadata=admin)
    assert await read_as_user(api, "bob") == DENIED


async def test_a_change_behind_the_api_applies_within_the_ttl(api: Harness) -> None:
    await create_user(api, read_as(ALICE))
    assert await read_as_user(api, "alice") == grpc.StatusCode.OK
    await api.store.pool.execute("UPDATE users SET is_deactivated = true WHERE user_id = $1",
                                 USER)
    deadline = time.monotonic() + api.backend.rights_cache.ttl_s + 2.0
    while await read_as_user(api, "alice") == grpc.StatusCode.OK:
        assert time.monotonic() < deadline, "the deactivation never applied"
        await asyncio.sleep(0.1)
    assert await read_as_user(api, "alice") == DENIED


async def test_a_live_stream_ends_when_its_right_is_revoked(api: Harness) -> None:
    await create_user(api, read_as(ALICE))
    call = tx_grpc.TransactionServiceStub(api.channel).GetTransactions(  # the ledger is empty
        tx_pb2.GetTransactionsRequest(begin=BEGIN, filter=tx_filter(alice=None)),
        metadata=user_token())
    await commit_iou_to_alice(api)
    first = await asyncio.wait_for(call.read(), 5)
    assert [t.transaction_id for t in first.transactions] == ["tx-1"]
    pending = asyncio.ensure_future(expect_denied(call, 5))
    await asyncio.sleep(0.2)
    await user_grpc.UserManagementServiceStub(api.channel).RevokeUserRights(
        user_pb2.RevokeUserRightsRequest(user_id=USER, rights=[read_as(ALICE)]),
        metadata=auth(api.token(admin=True)))
    await commit_iou_to_alice(api)  # wakes the stream at once: it must not deliver tx-2
    ended = await pending
    assert ALICE in (ended.details() or "")


async def test_a_live_stream_ends_when_its_user_is_deleted(api: Harness) -> None:
    await create_user(api, act_as(BANK))
    call = completion_grpc.CommandCompletionServiceStub(api.channel).CompletionStream(
        completion_pb2.CompletionStreamRequest(application_id=USER, parties=[BANK]),
        metadata=user_token())
    pending = asyncio.ensure_future(expect_denied(call, 5))
    await asyncio.sleep(0.2)
    assert not pending.done()
    await user_grpc.UserManagementServiceStub(api.channel).DeleteUser(
        user_pb2.DeleteUserRequest(user_id=USER), metadata=auth(api.token(admin=True)))
    ended = await pending
    assert "no longer exists" in (ended.details() or "")


async def test_a_live_stream_ends_when_its_user_is_deactivated_out_of_band(
    api: Harness,
) -> None:
    """No write through the API, so no invalidation: the TTL and the check interval bound it."""
    await create_user(api, read_as(ALICE))
    call = tx_grpc.TransactionServiceStub(api.channel).GetTransactions(
        tx_pb2.GetTransactionsRequest(begin=END, filter=tx_filter(alice=None)),
        metadata=user_token())
    backend = api.backend
    bound_s = backend.rights_cache.ttl_s + backend.rights_check_interval_s + \
        backend.poll_interval_s
    pending = asyncio.ensure_future(expect_denied(call, bound_s + 2.0))
    await asyncio.sleep(0.2)
    assert not pending.done()
    await api.store.pool.execute("UPDATE users SET is_deactivated = true WHERE user_id = $1",
                                 USER)
    ended = await pending
    assert "deactivated" in (ended.details() or "")
