"""The sequencers enforce the domain's maximum request size (a domain parameter) up to their
configured ceiling (shells review #6b): set through one instance's admin API, it holds at
every instance at once and after a restart; bad values and calls without the admin token are
refused with a typed error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
import pytest_asyncio
from tests.integration.sequencer.harness import Member, SequencerCluster

from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_admin_pb2 as apb
from minicanton.core.ids import MemberId
from minicanton.core.sequencing.batch import Batch, Envelope, MemberRecipient
from minicanton.runtime.embedded_postgres import EmbeddedPostgres
from minicanton.runtime.grpc_errors import error_id_of
from minicanton.runtime.sequencer_client import SendRejected

CEILING_BYTES = 256 * 1024


@pytest_asyncio.fixture
async def cluster(postgres_cluster: EmbeddedPostgres,
                  tmp_path: Path) -> AsyncIterator[SequencerCluster]:
    dsn = postgres_cluster.create_database(f"limits_{tmp_path.name[-12:]}".lower())
    started = await SequencerCluster(dsn, tmp_path, instances=2, overrides={
        "max_request_size_bytes": CEILING_BYTES}).start()
    try:
        yield started
    finally:
        await started.stop()


def _batch(to: Member, size_bytes: int) -> Batch:
    return Batch((Envelope((MemberRecipient(MemberId(to.member)),), b"x" * size_bytes),))


async def _send_through(cluster: SequencerCluster, sender: Member, to: Member,
                        size_bytes: int, instance: int) -> str | None:
    """The error id the instance answers the send with, None when it accepted it."""
    client = cluster.client(sender, (cluster.endpoints[instance],))
    try:
        await client.send_async(_batch(to, size_bytes))
    except SendRejected as refused:
        return refused.rejected_error_id
    finally:
        await client.close()
    return None


async def _set(cluster: SequencerCluster, size_bytes: int) -> int:
    response = await cluster.admin("SetDomainLimits", apb.SetDomainLimitsRequest(
        max_request_size_bytes=size_bytes), apb.SetDomainLimitsResponse, instance=0)
    return int(response.enforced_max_request_size_bytes)  # type: ignore[attr-defined]


async def _eventually_refused(cluster: SequencerCluster, alice: Member, bob: Member,
                              size_bytes: int, instance: int) -> None:
    for _ in range(50):  # the other instance hears of it by NOTIFY
        if await _send_through(cluster, alice, bob, size_bytes, instance) is not None:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"instance {instance} still accepts {size_bytes} bytes")


async def test_the_domain_limit_holds_at_every_instance_capped_by_the_ceiling(
        cluster: SequencerCluster) -> None:
    alice, bob = await cluster.register("alice"), await cluster.register("bob")
    assert await _send_through(cluster, alice, bob, 100_000, instance=1) is None
    assert await _set(cluster, 64 * 1024) == 64 * 1024
    await _eventually_refused(cluster, alice, bob, 100_000, instance=1)
    assert await _send_through(cluster, alice, bob, 100_000, instance=0) == \
        "SEQUENCER_REQUEST_TOO_LARGE"
    assert await _set(cluster, 10 << 20) == CEILING_BYTES  # capped by the config
    assert await _send_through(cluster, alice, bob, 100_000, instance=0) is None

    await _set(cluster, 64 * 1024)
    cluster.processes[1].terminate()
    await cluster.restart(1)
    assert await _send_through(cluster, alice, bob, 100_000, instance=1) == \
        "SEQUENCER_REQUEST_TOO_LARGE"


async def test_bad_limits_and_calls_without_the_token_are_refused(
        cluster: SequencerCluster) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await _set(cluster, 100)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    async with grpc.aio.insecure_channel(cluster.endpoints[0]) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as anonymous:
            await channel.unary_unary(
                "/minicanton.sequencer.v1.SequencerAdminService/SetDomainLimits")(
                apb.SetDomainLimitsRequest(max_request_size_bytes=4096).SerializeToString(),
                timeout=10)
    assert error_id_of(anonymous.value) == "SEQUENCER_AUTHENTICATION_FAILED"
