"""Submissions the participant cannot route, over the real Ledger API of a two-participant
domain of real processes, come back with the status of Canton's category for their error id,
never INTERNAL (the audit saw PACKAGE_NOT_VETTED_BY_RECIPIENTS arrive as INTERNAL): a package
the owner's participant has not vetted and an informee no participant hosts are
FAILED_PRECONDITION (InvalidGivenCurrentSystemStateOther), and nothing is committed. Once
the owner's participant vets the package, the same command commits."""

from __future__ import annotations

import grpc
import pytest
from tests.system.participant.conftest import DVP, Network
from tests.system.participant.harness import eventually, record
from tests.system.protocol.ledger import RpcFailure, failure_of

from minicanton.codec.gen.com.daml.ledger.api.v1 import commands_pb2, value_pb2
from minicanton.codec.gen.com.daml.ledger.api.v1.value_pb2 import Value

pytestmark = pytest.mark.system
UNVETTED = DVP.replace(b'MODULE = "dvp"', b'MODULE = "unvetted"')
NOBODY = "Nobody::1220" + "ab" * 32  # a well-formed party no participant hosts


def _iou(module: str, issuer: str, owner: str) -> commands_pb2.Command:
    return commands_pb2.Command(create=commands_pb2.CreateCommand(
        template_id=value_pb2.Identifier(module_name=module, entity_name="Iou"),
        create_arguments=record(issuer=Value(party=issuer), owner=Value(party=owner),
                                amount=Value(numeric="1.0"), currency=Value(text="USD"))))


async def _refused(network: Network, command_id: str,
                   command: commands_pb2.Command) -> RpcFailure:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await network.bank.submit(network.bank_party, command_id, command)
    return failure_of(refused.value)


async def _committed(network: Network, command_id: str) -> bool:
    return any(t.command_id == command_id
               for t in await network.bank.transactions_of(network.bank_party))


async def test_a_package_the_owner_s_participant_has_not_vetted_is_failed_precondition(
        network: Network) -> None:
    await network.bank.upload(UNVETTED)
    command = _iou("unvetted", network.bank_party, network.alice_party)
    failure = await _refused(network, "unvetted-1", command)
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION, failure
    assert failure.error_id == "PACKAGE_NOT_VETTED_BY_RECIPIENTS", failure
    assert "has not vetted packages" in failure.message
    assert not await _committed(network, "unvetted-1")

    await network.alice.upload(UNVETTED)  # vets it: the same command now commits

    async def commits() -> None:
        try:
            await network.bank.submit(network.bank_party, "unvetted-2", command)
        except grpc.aio.AioRpcError as error:
            if failure_of(error).error_id == "PACKAGE_NOT_VETTED_BY_RECIPIENTS":
                raise AssertionError("alice's vetting is not in bank's topology yet") from error
            raise

    await eventually(commits)
    assert await _committed(network, "unvetted-2")


async def test_an_informee_no_participant_hosts_is_failed_precondition(
        network: Network) -> None:
    failure = await _refused(network, "nobody-1", _iou("dvp", network.bank_party, NOBODY))
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION, failure
    assert failure.error_id == "INFORMEES_NOT_ACTIVE", failure
    assert NOBODY in failure.message
    assert not await _committed(network, "nobody-1")
