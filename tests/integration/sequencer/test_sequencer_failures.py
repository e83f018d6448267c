"""A real sequencer process when its database misbehaves (shells review #18): nothing is
swallowed. A member reload after a NOTIFY that fails is logged and retried until it succeeds
(so a disabled member's open stream is still cut off); an untyped error while admitting a
send ends the send stream with INTERNAL, never as a clean end of the stream.

The failure is real: the members table is renamed away under the running process (in the same
transaction as the change it notifies) and renamed back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import grpc
import pytest
from tests.integration.sequencer.harness import DOMAIN_ID, Member, SequencerCluster
from tests.integration.sequencer.test_sequencer_bad_input import login, submission

from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_pb2 as pb
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.ids import MemberKind, member_id
from minicanton.runtime.clock import wall_clock_us
from minicanton.runtime.grpc_errors import error_id_of
from minicanton.runtime.sequencer_connection import SequencerConnection

SERVICE = "/minicanton.sequencer.v1.SequencerService/"
AWAY = "ALTER TABLE sequencer_members RENAME TO sequencer_members_away"
BACK = "ALTER TABLE sequencer_members_away RENAME TO sequencer_members"


@contextlib.asynccontextmanager
async def members_table_away(dsn: str, *before: str) -> AsyncIterator[asyncpg.Connection]:
    """Run `before` and rename the members table in one transaction (a NOTIFY among them is
    delivered when the table is already gone); rename it back on the way out."""
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            for statement in before:
                await connection.execute(statement)
            await connection.execute(AWAY)
        try:
            yield connection
        finally:
            await connection.execute(BACK)
    finally:
        await connection.close()


async def wait_for_log(sequencer: SequencerCluster, text: str, timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while text not in sequencer.processes[0].log_path.read_text(errors="replace"):
            await asyncio.sleep(0.05)


async def test_a_failed_member_reload_is_retried_and_still_cuts_a_disabled_member_off(
    sequencer: SequencerCluster,
) -> None:
    bob = await sequencer.register("f-bob")
    connection = SequencerConnection(sequencer.endpoints[0], DOMAIN_ID, bob.member, bob.key,
                                     wall_clock_us)
    try:
        call = await connection.subscribe(0)
        reading = asyncio.ensure_future(call.read())
        await asyncio.sleep(0.3)
        assert not reading.done()  # an open stream, nothing for bob yet
        async with members_table_away(
            sequencer.dsn,
            f"UPDATE sequencer_members SET enabled = false WHERE member = '{bob.member}'",
            f"SELECT pg_notify('sequencer_members', '{bob.member}')",
        ):
            await wait_for_log(sequencer, "reloading the members after a change of")
            await asyncio.sleep(0.3)  # a few retries while the table is away
        with pytest.raises(grpc.aio.AioRpcError) as ended:
            await asyncio.wait_for(reading, 5.0)  # the retry succeeded: bob is cut off
        assert error_id_of(ended.value) == "SEQUENCER_MEMBER_DISABLED"
        assert "members reloaded after" in sequencer.processes[0].log_path.read_text()
    finally:
        await connection.close()


async def test_an_untyped_error_while_admitting_ends_the_send_stream_with_internal(
    sequencer: SequencerCluster,
) -> None:
    alice = await sequencer.register("f-alice")
    nobody = Member(member_id(MemberKind.PARTICIPANT, "f-nobody",
                              SigningKeyPair.from_private(b"\x09" * 32).fingerprint),
                    SigningKeyPair.from_private(b"\x09" * 32))
    async with grpc.aio.insecure_channel(sequencer.endpoints[0]) as channel:
        token = await login(channel, alice)
        requests: asyncio.Queue[bytes] = asyncio.Queue()

        async def outgoing() -> AsyncIterator[bytes]:
            while True:
                yield await requests.get()

        call = channel.stream_stream(SERVICE + "SendStream")(
            outgoing(), metadata=(("authorization", f"Bearer {token}"),))
        requests.put_nowait(submission(alice, alice.member, message_id="f-ok"))
        first = pb.SendResponse.FromString(await asyncio.wait_for(call.read(), 10))
        assert first.WhichOneof("outcome") == "accepted"
        # an unknown recipient makes the instance reload its members: the table is away
        async with members_table_away(sequencer.dsn):
            requests.put_nowait(submission(alice, nobody.member, message_id="f-broken"))
            with pytest.raises(grpc.aio.AioRpcError) as ended:
                await asyncio.wait_for(call.read(), 10)
        assert ended.value.code() == grpc.StatusCode.INTERNAL
        assert "UndefinedTable" not in (ended.value.details() or "")  # no leak of internals
        await wait_for_log(sequencer, f"unexpected error on the send stream of {alice.member}")
