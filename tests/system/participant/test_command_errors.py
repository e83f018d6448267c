"""Commands a real participant refuses, over its gRPC Ledger API: a duplicate (also after the
participant restarts, not for another application, not once its deduplication period has
passed), a ledger time beyond the domain's tolerance, an unknown template. Each is a gRPC
status with the Daml error id in the `google.rpc.Status` details, and commits nothing."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2
from tests.system.participant.conftest import Network
from tests.system.participant.harness import (
    APPLICATION_ID,
    SECRET,
    LedgerClient,
    create,
    party_token,
)
from tests.system.protocol.ledger import RpcFailure, failure_of

from minicanton.codec.gen.com.daml.ledger.api.v1 import command_service_pb2 as command_pb
from minicanton.codec.gen.com.daml.ledger.api.v1 import commands_pb2
from minicanton.codec.gen.com.daml.ledger.api.v1.value_pb2 import Value
from minicanton.core.topology.parameters import DomainParameters
from minicanton.runtime.auth import mint_dev_token

pytestmark = pytest.mark.system
TOLERANCE_US = DomainParameters().ledger_time_record_time_tolerance_us  # the harness's domain


def _iou(network: Network, entity: str = "Iou") -> commands_pb2.Command:
    return create(entity, issuer=Value(party=network.bank_party),
                  owner=Value(party=network.alice_party), amount=Value(numeric="1.0"),
                  currency=Value(text="USD"))


async def _submit(network: Network, command_id: str, command: commands_pb2.Command | None = None,
                  application_id: str = APPLICATION_ID, **options: Any) -> Any:
    """SubmitAndWaitForTransaction as Bank on bank's participant; `options` are further
    fields of Commands (deduplication_duration, min_ledger_time_rel)."""
    bank = network.bank_party
    request = command_pb.SubmitAndWaitRequest(commands=commands_pb2.Commands(
        ledger_id="minicanton", application_id=application_id, command_id=command_id,
        act_as=[bank], commands=[command or _iou(network)], **options))
    token = (party_token(bank) if application_id == APPLICATION_ID
             else mint_dev_token(SECRET, act_as=[bank], application_id=application_id))
    response = await network.bank.commands.SubmitAndWaitForTransaction(
        request, metadata=LedgerClient.auth(token), timeout=60, wait_for_ready=True)
    return response.transaction


async def _refused(network: Network, command_id: str, *args: Any, **options: Any) -> RpcFailure:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _submit(network, command_id, *args, **options)
    return failure_of(refused.value)


def _seconds(seconds: float) -> duration_pb2.Duration:
    whole = int(seconds)
    return duration_pb2.Duration(seconds=whole, nanos=int((seconds - whole) * 1e9))


async def _committed(network: Network, command_id: str) -> list[str]:
    """The transactions bank's ledger holds for `command_id` (any application)."""
    return [t.transaction_id for t in await network.bank.transactions_of(network.bank_party)
            if t.command_id == command_id]


async def test_a_resubmitted_command_is_a_duplicate_until_its_period_has_passed(
        network: Network) -> None:
    first = await _submit(network, "dedup-1")
    duplicate = await _refused(network, "dedup-1")
    assert duplicate.code == grpc.StatusCode.ALREADY_EXISTS
    assert duplicate.error_id == "DUPLICATE_COMMAND", duplicate
    assert duplicate.metadata["command_id"] == "dedup-1"
    assert duplicate.metadata["application_id"] == APPLICATION_ID
    assert f"accepted at offset {first.offset}" in duplicate.message, duplicate
    # a period that covers the first completion, given explicitly: still a duplicate
    covering = await _refused(network, "dedup-1", deduplication_duration=_seconds(3600))
    assert covering.error_id == "DUPLICATE_COMMAND", covering
    # the change id includes the application id: another application's command is new
    other = await _submit(network, "dedup-1", application_id="another-application")
    assert other.transaction_id != first.transaction_id
    # a period that ends before the first completion: accepted again
    await asyncio.sleep(1.2)
    again = await _submit(network, "dedup-1", deduplication_duration=_seconds(1.0))
    assert again.offset > other.offset > first.offset
    assert await _committed(network, "dedup-1") == [
        first.transaction_id, other.transaction_id, again.transaction_id]


async def test_a_command_accepted_before_a_restart_is_still_a_duplicate_after_it(
        network: Network) -> None:
    first = await _submit(network, "dedup-restart")
    node = network.domain.participants["bank"]
    node.kill()  # kill -9: what the completion promised must already be on disk
    node.spawn()
    await node.wait_ready()
    duplicate = await _refused(network, "dedup-restart")
    assert (duplicate.code, duplicate.error_id) == (grpc.StatusCode.ALREADY_EXISTS,
                                                    "DUPLICATE_COMMAND"), duplicate
    assert f"accepted at offset {first.offset}" in duplicate.message, duplicate
    assert await _committed(network, "dedup-restart") == [first.transaction_id]


async def test_a_ledger_time_beyond_the_tolerance_is_rejected_naming_it(
        network: Network) -> None:
    skewed = await _refused(network, "skew-1",
                            min_ledger_time_rel=_seconds(TOLERANCE_US / 1e6 + 30))
    assert skewed.code == grpc.StatusCode.ABORTED  # Canton: ContentionOnSharedResources
    assert skewed.error_id == "LOCAL_VERDICT_LEDGER_TIME_OUT_OF_BOUND", skewed
    assert f"the tolerance is {TOLERANCE_US} us" in skewed.message, skewed
    assert skewed.metadata["command_id"] == "skew-1"
    assert await _committed(network, "skew-1") == []
    # a rejection leaves no dedup entry: the same command id, within the tolerance, commits
    within_s = TOLERANCE_US / 1e6 / 6
    submitted_s = time.time()
    accepted = await _submit(network, "skew-1", min_ledger_time_rel=_seconds(within_s))
    assert accepted.effective_at.seconds >= int(submitted_s + within_s)
    assert await _committed(network, "skew-1") == [accepted.transaction_id]


async def test_an_unknown_template_is_not_found(network: Network) -> None:
    unknown = await _refused(network, "unknown-1", _iou(network, "NoSuchTemplate"))
    assert unknown.code == grpc.StatusCode.NOT_FOUND
    assert unknown.error_id == "TEMPLATE_NOT_FOUND", unknown
    assert "dvp:NoSuchTemplate" in unknown.message, unknown
    assert unknown.metadata["command_id"] == "unknown-1"
    assert await _committed(network, "unknown-1") == []
