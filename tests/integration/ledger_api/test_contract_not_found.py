"""CONTRACT_NOT_FOUND over the gRPC Ledger API, not only through the JSON API: exercising a
contract that was archived, or that never existed, fails NOT_FOUND with Daml's error id and
the contract id in the google.rpc.Status ErrorInfo, and commits nothing. The error comes from
the engine's contract lookup (the harness's commit path interprets every command), not from a
scripted submitter error; tests/system/participant/test_production_auth.py checks the same
through a real participant process."""

from __future__ import annotations

import grpc
import pytest
from tests.integration.ledger_api.harness import Harness, auth, rich_status
from tests.integration.ledger_api.test_commands import commands, iou_command
from tests.unit.lf.engine_helpers import ALICE, BANK, BOB

from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    command_service_pb2 as command_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    command_service_pb2_grpc as command_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    command_submission_service_pb2 as submission_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    command_submission_service_pb2_grpc as submission_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    commands_pb2,
    value_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    transaction_service_pb2 as tx_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    transaction_service_pb2_grpc as tx_grpc,
)

UNKNOWN = "00" + "ab" * 33  # well-formed, never created


def transfer(contract_id: str, recipient: str) -> commands_pb2.Command:
    argument = value_pb2.Record(fields=[value_pb2.RecordField(
        label="recipient", value=value_pb2.Value(party=recipient))])
    return commands_pb2.Command(exercise=commands_pb2.ExerciseCommand(
        template_id=value_pb2.Identifier(module_name="dvp", entity_name="Iou"),
        contract_id=contract_id, choice="Transfer",
        choice_argument=value_pb2.Value(record=argument)))


def contract_ids(response: command_pb2.SubmitAndWaitForTransactionResponse,
                 kind: str) -> list[str]:
    return [getattr(e, kind).contract_id for e in response.transaction.events
            if e.WhichOneof("event") == kind]


def assert_contract_not_found(error: grpc.aio.AioRpcError, contract_id: str) -> None:
    assert error.code() == grpc.StatusCode.NOT_FOUND, error.details()
    status, info = rich_status(error)
    assert status.code == grpc.StatusCode.NOT_FOUND.value[0]
    assert info.reason == "CONTRACT_NOT_FOUND"
    assert info.metadata["contract_id"] == contract_id
    assert (error.details() or "").startswith("CONTRACT_NOT_FOUND(")
    assert contract_id in (error.details() or "")


async def test_exercising_an_archived_or_unknown_contract_is_contract_not_found(
        api: Harness) -> None:
    service = command_grpc.CommandServiceStub(api.channel)
    submit = submission_grpc.CommandSubmissionServiceStub(api.channel)
    ledger = tx_grpc.TransactionServiceStub(api.channel)
    as_bank, as_alice = auth(api.token(act_as=[BANK])), auth(api.token(act_as=[ALICE]))
    issued = await service.SubmitAndWaitForTransaction(command_pb2.SubmitAndWaitRequest(
        commands=commands("issue", iou_command(owner=ALICE))), metadata=as_bank)
    (iou,) = contract_ids(issued, "created")
    moved = await service.SubmitAndWaitForTransaction(command_pb2.SubmitAndWaitRequest(
        commands=commands("move", transfer(iou, BOB), act_as=ALICE)), metadata=as_alice)
    assert contract_ids(moved, "archived") == [iou]  # Alice does not see Bob's new Iou
    end = await ledger.GetLedgerEnd(tx_pb2.GetLedgerEndRequest(), metadata=as_alice)

    for attempt, missing in enumerate((iou, UNKNOWN)):
        request = commands(f"again-{attempt}", transfer(missing, BOB), act_as=ALICE)
        with pytest.raises(grpc.aio.AioRpcError) as waited:
            await service.SubmitAndWait(command_pb2.SubmitAndWaitRequest(commands=request),
                                        metadata=as_alice)
        assert_contract_not_found(waited.value, missing)
        with pytest.raises(grpc.aio.AioRpcError) as submitted:
            await submit.Submit(submission_pb2.SubmitRequest(commands=request),
                                metadata=as_alice)
        assert_contract_not_found(submitted.value, missing)
    after = await ledger.GetLedgerEnd(tx_pb2.GetLedgerEndRequest(), metadata=as_alice)
    assert after.offset.absolute == end.offset.absolute
