"""The command path's per-call shortcuts give what the long way gives, and refuse as it does.

A filled-in submission id is a random version 4 UUID in its usual text form; a template id is
remembered only once it checked out, so a malformed one is refused (naming the request's
field) on every call; the Ledger API's error boundary still answers typed errors with their
Daml error id and the request's context, through a real gRPC server.
"""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2

from minicanton.codec.gen.com.daml.ledger.api.v1 import commands_pb2, value_pb2
from minicanton.core.errors import InvalidArgument
from minicanton.core.lf.identifier import TemplateReference
from minicanton.participant.ledger_api import filters
from minicanton.participant.ledger_api.commands import random_uuid4, submission_request
from minicanton.participant.ledger_api.errors import LedgerApiError
from minicanton.participant.ledger_api.rpc import unary
from minicanton.runtime.auth import AuthorizedClaims
from minicanton.runtime.grpc_errors import error_id_of


def test_random_uuid4_is_uuid4_text() -> None:
    made = [random_uuid4() for _ in range(3000)]
    assert len(set(made)) == len(made)
    for text in made:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    # every variant digit (8, 9, a, b) and version nibble position appear as uuid4 gives them
    assert {text[19] for text in made} == {"8", "9", "a", "b"}
    assert {text[14] for text in made} == {"4"}


def _commands(**fields: Any) -> commands_pb2.Commands:
    create = commands_pb2.CreateCommand(
        template_id=value_pb2.Identifier(module_name="Iou", entity_name="Iou"),
        create_arguments=value_pb2.Record(fields=[value_pb2.RecordField(
            label="issuer", value=value_pb2.Value(party="Bank"))]))
    return commands_pb2.Commands(command_id="c1", act_as=["Bank"],
                                 commands=[commands_pb2.Command(create=create)], **fields)


CLAIMS = AuthorizedClaims(frozenset({"Bank", "Other"}), frozenset(), False, "app")


def test_an_empty_submission_id_is_filled_and_a_given_one_kept() -> None:
    filled = submission_request(_commands(), CLAIMS)
    assert uuid.UUID(filled.submission_id).version == 4
    assert submission_request(_commands(submission_id="mine"), CLAIMS).submission_id == "mine"
    assert submission_request(_commands(party="Other"), CLAIMS).act_as == {"Bank", "Other"}


def test_a_remembered_template_reference_is_the_one_checked() -> None:
    named = value_pb2.Identifier(module_name="Iou.Main", entity_name="Iou")
    full = value_pb2.Identifier(package_id="pkg", module_name="Iou.Main", entity_name="Iou")
    for _ in range(3):
        assert filters.template_reference_from_proto(named, "t") == TemplateReference(
            None, "Iou.Main", "Iou")
        assert filters.template_reference_from_proto(full, "t") == TemplateReference(
            "pkg", "Iou.Main", "Iou")


@pytest.mark.parametrize("identifier", [
    value_pb2.Identifier(module_name="Iou", entity_name="not a name"),
    value_pb2.Identifier(module_name="", entity_name="Iou"),
    value_pb2.Identifier(package_id="p:q", module_name="Iou", entity_name="Iou"),
    value_pb2.Identifier(package_id="x" * 300, module_name="Iou", entity_name="Iou"),
], ids=["bad entity", "no module", "colon in package", "long package"])
def test_a_malformed_template_id_is_refused_every_time_naming_the_field(
        identifier: value_pb2.Identifier) -> None:
    for call in range(3):
        with pytest.raises(InvalidArgument, match=rf"commands\[{call}\]\.template_id"):
            filters.template_reference_from_proto(identifier, f"commands[{call}].template_id")


def test_the_template_memo_is_bounded() -> None:
    capacity = filters.TEMPLATE_REFERENCE_MEMO_ENTRIES
    for i in range(capacity + 50):
        filters.template_reference_from_proto(
            value_pb2.Identifier(module_name="M", entity_name=f"T{i}"), "t")
    assert len(filters._TEMPLATE_REFERENCES) == capacity


def test_a_template_id_with_long_names_is_checked_but_not_remembered() -> None:
    """A client may send well-formed names of any length: the memo keeps only short ones, so
    its bytes stay bounded too."""
    long_module = "M" * filters.TEMPLATE_REFERENCE_MEMO_MAX_CHARS
    identifier = value_pb2.Identifier(module_name=long_module, entity_name="Iou")
    for _ in range(2):
        assert filters.template_reference_from_proto(identifier, "t") == TemplateReference(
            None, long_module, "Iou")
    assert filters._TEMPLATE_REFERENCES.get(("", long_module, "Iou")) is None


class _Servicer:
    @unary(lambda request: {"command_id": "cmd-7"})
    async def Typed(self, request: empty_pb2.Empty, context: Any) -> empty_pb2.Empty:
        raise LedgerApiError("DUPLICATE_COMMAND", "seen before")

    @unary()
    async def Fine(self, request: empty_pb2.Empty, context: Any) -> empty_pb2.Empty:
        return empty_pb2.Empty()

    @unary()
    async def Broken(self, request: empty_pb2.Empty, context: Any) -> empty_pb2.Empty:
        raise KeyError("a bug")


async def test_the_boundary_answers_typed_errors_through_a_real_server() -> None:
    servicer = _Servicer()
    handlers = {name: grpc.unary_unary_rpc_method_handler(
        getattr(servicer, name), request_deserializer=empty_pb2.Empty.FromString,
        response_serializer=empty_pb2.Empty.SerializeToString)
        for name in ("Typed", "Fine", "Broken")}
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("t.S", handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            def call(name: str) -> Any:
                return channel.unary_unary(
                    f"/t.S/{name}", request_serializer=empty_pb2.Empty.SerializeToString,
                    response_deserializer=empty_pb2.Empty.FromString)(empty_pb2.Empty(),
                                                                      timeout=10)
            assert await call("Fine") == empty_pb2.Empty()
            with pytest.raises(grpc.aio.AioRpcError) as typed:
                await call("Typed")
            assert typed.value.code() == grpc.StatusCode.ALREADY_EXISTS
            assert error_id_of(typed.value) == "DUPLICATE_COMMAND"
            assert "cmd-7" in str(typed.value.trailing_metadata())
            with pytest.raises(grpc.aio.AioRpcError) as broken:
                await call("Broken")
            assert broken.value.code() == grpc.StatusCode.INTERNAL
            assert "a bug" not in (broken.value.details() or "")
    finally:
        await server.stop(None)
    assert _Servicer.Typed.__name__ == "Typed" and _Servicer.Typed.__wrapped__ is not None
