"""Completions and submissions over gRPC: the completion stream (live), completion end, the
CommandService answers, and how submission errors reach the client (status code, Daml error
id, ErrorInfo metadata) — the submitter is test code standing for the protocol pipeline."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf import duration_pb2
from tests.integration.ledger_api.harness import (
    RECORD_TIME_US,
    Harness,
    auth,
    rich_status,
)
from tests.unit.lf.engine_helpers import ALICE, BANK, BOB, numeric, party, record, ref, text

from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    command_completion_service_pb2 as completion_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    command_completion_service_pb2_grpc as completion_grpc,
)
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
    ledger_offset_pb2,
    value_pb2,
)
from minicanton.core.lf.commands import CreateCommand
from minicanton.core.lf.engine_errors import ContractNotFound
from minicanton.core.lf.typecheck import ValueTypeError
from minicanton.core.protocol.deduplication import DeduplicationDuration, DuplicateCommand
from minicanton.store.participant_store import CompletionEntry

BEGIN = ledger_offset_pb2.LedgerOffset(boundary=ledger_offset_pb2.LedgerOffset.LEDGER_BEGIN)


def iou_command(owner: str = ALICE, amount: str = "10") -> commands_pb2.Command:
    fields = [("issuer", value_pb2.Value(party=BANK)), ("owner", value_pb2.Value(party=owner)),
              ("amount", value_pb2.Value(numeric=amount)),
              ("currency", value_pb2.Value(text="USD"))]
    arguments = value_pb2.Record(fields=[value_pb2.RecordField(label=label, value=value)
                                         for label, value in fields])
    template = value_pb2.Identifier(module_name="dvp", entity_name="Iou")  # any package
    return commands_pb2.Command(create=commands_pb2.CreateCommand(
        template_id=template, create_arguments=arguments))


def commands(command_id: str, *cmds: commands_pb2.Command, act_as: str = BANK,
             application_id: str = "app") -> commands_pb2.Commands:
    return commands_pb2.Commands(command_id=command_id, application_id=application_id,
                                 act_as=[act_as], commands=list(cmds or [iou_command()]),
                                 submission_id=f"sub-{command_id}")


async def test_completion_stream_is_live_and_carries_rejections(api: Harness) -> None:
    stub = completion_grpc.CommandCompletionServiceStub(api.channel)
    token = api.token(act_as=[BANK], application_id="app")
    first = await api.writer.commit([CreateCommand(ref("dvp:Iou"), record(
        issuer=party(BANK), owner=party(ALICE), amount=numeric("1"), currency=text("USD")))],
        [BANK], command_id="c-1", submission_id="s-1")
    request = completion_pb2.CompletionStreamRequest(application_id="app", parties=[BANK],
                                                     offset=BEGIN)
    call = stub.CompletionStream(request, metadata=auth(token))
    response = await asyncio.wait_for(call.read(), 5)
    (done,) = response.completions
    assert (done.command_id, done.transaction_id, done.status.code) == ("c-1", "tx-1", 0)
    assert done.act_as == [BANK] and done.submission_id == "s-1"
    assert response.checkpoint.offset.absolute == first.offset

    pending = asyncio.ensure_future(call.read())
    await asyncio.sleep(0.1)
    assert not pending.done()
    rejected = await api.writer.reject(CompletionEntry(
        "app", frozenset({BANK}), "c-2", "s-2", None, RECORD_TIME_US + 5, 10,
        "LOCAL_VERDICT_LOCKED_CONTRACTS", "contract c1 is locked by request r1"))
    await api.writer.reject(CompletionEntry(  # another application's: not in this stream
        "other", frozenset({BANK}), "c-3", "s-3", None, RECORD_TIME_US, 10, "X", "no"))
    response = await asyncio.wait_for(pending, 5)
    (failed,) = response.completions
    assert failed.command_id == "c-2" and failed.status.code == grpc.StatusCode.ABORTED.value[0]
    assert failed.status.message.startswith("LOCAL_VERDICT_LOCKED_CONTRACTS(10): contract c1")
    assert response.checkpoint.offset.absolute == rejected.offset
    call.cancel()

    end = await stub.CompletionEnd(completion_pb2.CompletionEndRequest(), metadata=auth(token))
    assert end.offset.absolute == rejected.offset[:-1] + "3"


async def test_completion_stream_checks_application_and_parties(api: Harness) -> None:
    stub = completion_grpc.CommandCompletionServiceStub(api.channel)
    for token, request, code in (
        (api.token(act_as=[BANK], application_id="app"),
         completion_pb2.CompletionStreamRequest(application_id="other", parties=[BANK]),
         grpc.StatusCode.PERMISSION_DENIED),
        (api.token(act_as=[BANK]),
         completion_pb2.CompletionStreamRequest(application_id="app", parties=[ALICE]),
         grpc.StatusCode.PERMISSION_DENIED),
        (api.token(act_as=[BANK]),
         completion_pb2.CompletionStreamRequest(parties=[BANK]),
         grpc.StatusCode.INVALID_ARGUMENT),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.CompletionStream(request, metadata=auth(token)).read()
        assert refused.value.code() == code


async def test_submit_and_wait_answers_with_the_transaction(api: Harness) -> None:
    stub = command_grpc.CommandServiceStub(api.channel)
    token = auth(api.token(act_as=[BANK]))
    by_id = await stub.SubmitAndWaitForTransactionId(
        command_pb2.SubmitAndWaitRequest(commands=commands("w-1")), metadata=token)
    assert by_id.transaction_id == "tx-1" and by_id.completion_offset == f"{1:016x}"
    flat = await stub.SubmitAndWaitForTransaction(
        command_pb2.SubmitAndWaitRequest(commands=commands("w-2")), metadata=token)
    (created,) = flat.transaction.events
    assert created.created.create_arguments.fields[0].label == "issuer"
    assert flat.transaction.command_id == "w-2"
    tree = await stub.SubmitAndWaitForTransactionTree(
        command_pb2.SubmitAndWaitRequest(commands=commands("w-3")), metadata=token)
    assert list(tree.transaction.root_event_ids) == ["#tx-3:0"]
    await stub.SubmitAndWait(command_pb2.SubmitAndWaitRequest(commands=commands("w-4")),
                             metadata=token)
    received = api.submitter.requests[-1]
    assert (received.command_id, received.submission_id, received.act_as) == (
        "w-4", "sub-w-4", frozenset({BANK}))
    assert received.commands[0].template.package_id is None  # resolved by the engine


async def test_submission_errors_carry_daml_error_ids_and_details(api: Harness) -> None:
    submit = submission_grpc.CommandSubmissionServiceStub(api.channel)
    token = auth(api.token(act_as=[BANK]))
    api.submitter.error = DuplicateCommand("command 'd-1' was already accepted at offset 01")
    with pytest.raises(grpc.aio.AioRpcError) as duplicate:
        await submit.Submit(submission_pb2.SubmitRequest(commands=commands("d-1")),
                            metadata=token)
    assert duplicate.value.code() == grpc.StatusCode.ALREADY_EXISTS
    status, info = rich_status(duplicate.value)
    assert info.reason == "DUPLICATE_COMMAND" and status.code == 6
    assert info.metadata["command_id"] == "d-1" and info.metadata["submission_id"] == "sub-d-1"
    assert duplicate.value.details().startswith("DUPLICATE_COMMAND(6): command 'd-1'")

    api.submitter.error = ValueTypeError("create_arguments.amount", "expected Numeric, got Text")
    with pytest.raises(grpc.aio.AioRpcError) as wrong_type:
        await submit.Submit(submission_pb2.SubmitRequest(commands=commands("d-2")),
                            metadata=token)
    assert wrong_type.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_status(wrong_type.value)[1].metadata["path"] == "create_arguments.amount"

    api.submitter.error = ContractNotFound("00abc")
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await submit.Submit(submission_pb2.SubmitRequest(commands=commands("d-3")),
                            metadata=token)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert rich_status(missing.value)[1].metadata["contract_id"] == "00abc"

    api.submitter.error = RuntimeError("secret internals /home/x/stack")
    with pytest.raises(grpc.aio.AioRpcError) as bug:
        await submit.Submit(submission_pb2.SubmitRequest(commands=commands("d-4")),
                            metadata=token)
    assert bug.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in bug.value.details() and "Traceback" not in bug.value.details()
    assert "incident" in rich_status(bug.value)[1].metadata


async def test_malformed_commands_are_refused_before_the_submitter(api: Harness) -> None:
    submit = submission_grpc.CommandSubmissionServiceStub(api.channel)
    token = auth(api.token(act_as=[BANK]))
    bad_numeric = commands("m-1", iou_command(amount="1.00000000001"))
    no_command_id = commands("")
    negative = commands("m-3")
    negative.deduplication_duration.CopyFrom(duration_pb2.Duration(seconds=-1))
    cases = [(bad_numeric, "INVALID_ARGUMENT", "commands.commands[0].create.create_arguments"),
             (no_command_id, "MISSING_FIELD", "commands.command_id"),
             (negative, "INVALID_FIELD", "commands.deduplication_duration")]
    for request, error_id, where in cases:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await submit.Submit(submission_pb2.SubmitRequest(commands=request), metadata=token)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        info = rich_status(refused.value)[1]
        assert info.reason == error_id
        assert where in (info.metadata.get("path") or info.metadata.get("field_name", ""))
    assert api.submitter.requests == []
    ok = commands("m-4")
    ok.deduplication_duration.CopyFrom(duration_pb2.Duration(seconds=30))
    await submit.Submit(submission_pb2.SubmitRequest(commands=ok), metadata=token)
    assert api.submitter.requests[0].deduplication_period == DeduplicationDuration(30_000_000)


async def test_submit_and_wait_reports_a_rejection_and_a_timeout(api: Harness) -> None:
    stub = command_grpc.CommandServiceStub(api.channel)
    token = auth(api.token(act_as=[BOB]))
    api.submitter.hold = True
    with pytest.raises(grpc.aio.AioRpcError) as waited:
        await stub.SubmitAndWait(command_pb2.SubmitAndWaitRequest(
            commands=commands("t-1", act_as=BOB)), metadata=token, timeout=0.5)
    assert waited.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    api.submitter.hold = False
    # Bob may not create the Bank's Iou: the engine refuses at submission.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.SubmitAndWait(command_pb2.SubmitAndWaitRequest(
            commands=commands("t-2", act_as=BOB)), metadata=token)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_status(refused.value)[1].reason == "FAILED_AUTHORIZATION"
    # A rejection that comes with the completion (a mediator verdict) fails the call alike.
    api.submitter.rejection = (10, "LOCAL_VERDICT_LOCKED_CONTRACTS", "c1 is locked by r1")
    with pytest.raises(grpc.aio.AioRpcError) as rejected:
        await stub.SubmitAndWaitForTransaction(command_pb2.SubmitAndWaitRequest(
            commands=commands("t-3", act_as=BOB)), metadata=token)
    assert rejected.value.code() == grpc.StatusCode.ABORTED
    _, info = rich_status(rejected.value)
    assert info.reason == "LOCAL_VERDICT_LOCKED_CONTRACTS" and info.metadata["command_id"] == "t-3"
    assert "completion_offset" in info.metadata
