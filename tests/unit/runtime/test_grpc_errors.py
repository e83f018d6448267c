"""The one gRPC error boundary (runtime/grpc_errors.py) on a real gRPC server on 127.0.0.1,
with both renderings that use it: the domain services' (``ERROR_ID: message``) and the
Ledger API's (Daml's google.rpc.Status). Shells review #14."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from minicanton.core.errors import InvalidArgument, MinicantonError
from minicanton.participant.ledger_api.errors import STATUS_DETAILS_KEY, abort_with_error
from minicanton.runtime.grpc_errors import (
    Abort,
    abort_with,
    error_id_of,
    run_typed,
    stream_typed,
)

SECRET = "secret internals /home/x/stack"


class Fenced(MinicantonError):
    error_id = "TEST_FENCED"
    grpc_status = "UNAVAILABLE"


async def _raise(error: BaseException) -> bytes:
    raise error


async def _self_aborting(context: grpc.aio.ServicerContext) -> bytes:
    await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "handler's own abort")
    raise AssertionError("unreachable")


def _server(abort: Abort, failure: Callable[[grpc.aio.ServicerContext], Awaitable[bytes]],
            ) -> grpc.aio.Server:
    async def unary(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return await run_typed(context, "Test.Unary", lambda: failure(context), abort=abort,
                               request_context=lambda: {"command_id": request.decode(),
                                                        "submission_id": "sub-1"})

    async def items(context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
        yield b"first"
        await failure(context)

    async def stream(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
        async for item in stream_typed(context, "Test.Stream", items(context), abort=abort):
            yield item

    server = grpc.aio.server()
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("t.Test", {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "Stream": grpc.unary_stream_rpc_method_handler(stream),
    }),))
    return server


async def _unary_failure(abort: Abort, error: BaseException | None) -> grpc.aio.AioRpcError:
    async def failure(context: grpc.aio.ServicerContext) -> bytes:
        return await (_self_aborting(context) if error is None else _raise(error))

    server = _server(abort, failure)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await channel.unary_unary("/t.Test/Unary")(b"cmd-1", timeout=5)
            return caught.value
    finally:
        await server.stop(None)


def _rich(error: grpc.aio.AioRpcError) -> tuple[status_pb2.Status, error_details_pb2.ErrorInfo,
                                                list[str]]:
    (raw,) = [v for k, v in error.trailing_metadata() or () if k == STATUS_DETAILS_KEY]
    status = status_pb2.Status.FromString(raw)
    info, request_info = error_details_pb2.ErrorInfo(), error_details_pb2.RequestInfo()
    assert status.details[0].Unpack(info)
    request_ids = [request_info.request_id for d in status.details[1:] if d.Unpack(request_info)]
    return status, info, request_ids


@pytest.mark.parametrize(("error", "code"), [
    (Fenced("fenced off"), grpc.StatusCode.UNAVAILABLE),            # its own grpc_status
    (MinicantonError("gone", error_id="CONTRACT_NOT_FOUND"), grpc.StatusCode.NOT_FOUND),
    (InvalidArgument("bad amount"), grpc.StatusCode.INVALID_ARGUMENT),
    (MinicantonError("no category"), grpc.StatusCode.INTERNAL),
])
async def test_one_mapping_from_typed_errors_to_status_codes_in_both_renderings(
    error: MinicantonError, code: grpc.StatusCode,
) -> None:
    domain = await _unary_failure(abort_with, error)
    assert domain.code() == code
    assert domain.details() == f"{error.error_id}: {error.message}"
    assert error_id_of(domain) == error.error_id

    ledger = await _unary_failure(abort_with_error, error)
    assert ledger.code() == code and error_id_of(ledger) == error.error_id
    status, info, request_ids = _rich(ledger)
    assert status.code == code.value[0] and info.reason == error.error_id
    assert ledger.details() == f"{error.error_id}({code.value[0]}): {error.message}"
    assert info.metadata["command_id"] == "cmd-1" and request_ids == ["sub-1"]


@pytest.mark.parametrize("abort", [abort_with, abort_with_error])
async def test_an_untyped_exception_is_internal_with_an_incident_and_its_trace_only_in_the_log(
    abort: Abort, caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="minicanton.runtime.grpc_errors"):
        failed = await _unary_failure(abort, RuntimeError(SECRET))
    assert failed.code() == grpc.StatusCode.INTERNAL
    details = failed.details() or ""
    assert SECRET not in details and "Traceback" not in details and "RuntimeError" not in details
    assert error_id_of(failed) == "INTERNAL_ERROR"
    (record,) = caplog.records
    assert record.exc_info is not None and SECRET in str(record.exc_info[1])
    incident = record.args[1]  # type: ignore[index]
    assert f"incident {incident}" in details
    assert "cmd-1" in record.getMessage()  # the request context is in the log
    if abort is abort_with_error:  # the Ledger API: the incident and nothing of the request
        status, info, request_ids = _rich(failed)
        assert dict(info.metadata) == {"incident": incident} and request_ids == []
        assert "participant's operator" in status.message


@pytest.mark.parametrize("abort", [abort_with, abort_with_error])
async def test_an_abort_the_handler_made_itself_passes_through(
    abort: Abort, caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="minicanton.runtime.grpc_errors"):
        failed = await _unary_failure(abort, None)
    assert failed.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert failed.details() == "handler's own abort"
    assert caplog.records == []


@pytest.mark.parametrize("abort", [abort_with, abort_with_error])
async def test_a_stream_failing_after_an_item_delivers_it_then_ends_with_the_status(
    abort: Abort,
) -> None:
    async def failure(context: grpc.aio.ServicerContext) -> bytes:
        raise Fenced("fenced mid-stream")

    server = _server(abort, failure)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_stream("/t.Test/Stream")(b"", timeout=5)
            received = []
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                async for item in call:
                    received.append(item)
    finally:
        await server.stop(None)
    assert received == [b"first"]
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert error_id_of(caught.value) == "TEST_FENCED"
