"""Our Ledger API protos are wire-compatible with Daml's `com.daml.ledger.api.v1`.

A client generated from Daml's own .proto files must work unchanged against a minicanton
participant, so the gRPC method paths (package, service, RPC names), the request/response
types, and every field's number, type and oneof must equal Daml's. The tables below were taken
from Daml 2.10's published definitions; they are the contract, the generated descriptors are
what we check against it.
"""

from __future__ import annotations

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor, ServiceDescriptor

from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    active_contracts_service_pb2,
    command_completion_service_pb2,
    command_service_pb2,
    command_submission_service_pb2,
    commands_pb2,
    completion_pb2,
    event_pb2,
    ledger_identity_service_pb2,
    ledger_offset_pb2,
    package_service_pb2,
    transaction_filter_pb2,
    transaction_pb2,
    transaction_service_pb2,
    value_pb2,
    version_service_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    package_management_service_pb2,
    party_management_service_pb2,
    user_management_service_pb2,
)

V1 = "com.daml.ledger.api.v1"
ADMIN = "com.daml.ledger.api.v1.admin"
EMPTY = "google.protobuf.Empty"

_SERVICE_MODULES = {
    f"{V1}.CommandService": command_service_pb2,
    f"{V1}.CommandSubmissionService": command_submission_service_pb2,
    f"{V1}.CommandCompletionService": command_completion_service_pb2,
    f"{V1}.TransactionService": transaction_service_pb2,
    f"{V1}.ActiveContractsService": active_contracts_service_pb2,
    f"{V1}.PackageService": package_service_pb2,
    f"{V1}.VersionService": version_service_pb2,
    f"{V1}.LedgerIdentityService": ledger_identity_service_pb2,
    f"{ADMIN}.PartyManagementService": party_management_service_pb2,
    f"{ADMIN}.UserManagementService": user_management_service_pb2,
    f"{ADMIN}.PackageManagementService": package_management_service_pb2,
}

# (service, rpc, request type, response type, server-streaming)
RPCS = [
    ("CommandService", "SubmitAndWait", f"{V1}.SubmitAndWaitRequest", EMPTY, False),
    ("CommandService", "SubmitAndWaitForTransactionId", f"{V1}.SubmitAndWaitRequest",
     f"{V1}.SubmitAndWaitForTransactionIdResponse", False),
    ("CommandService", "SubmitAndWaitForTransaction", f"{V1}.SubmitAndWaitRequest",
     f"{V1}.SubmitAndWaitForTransactionResponse", False),
    ("CommandService", "SubmitAndWaitForTransactionTree", f"{V1}.SubmitAndWaitRequest",
     f"{V1}.SubmitAndWaitForTransactionTreeResponse", False),
    ("CommandSubmissionService", "Submit", f"{V1}.SubmitRequest", EMPTY, False),
    ("CommandCompletionService", "CompletionStream", f"{V1}.CompletionStreamRequest",
     f"{V1}.CompletionStreamResponse", True),
    ("CommandCompletionService", "CompletionEnd", f"{V1}.CompletionEndRequest",
     f"{V1}.CompletionEndResponse", False),
    ("TransactionService", "GetTransactions", f"{V1}.GetTransactionsRequest",
     f"{V1}.GetTransactionsResponse", True),
    ("TransactionService", "GetTransactionTrees", f"{V1}.GetTransactionsRequest",
     f"{V1}.GetTransactionTreesResponse", True),
    ("TransactionService", "GetLedgerEnd", f"{V1}.GetLedgerEndRequest",
     f"{V1}.GetLedgerEndResponse", False),
    ("TransactionService", "GetTransactionById", f"{V1}.GetTransactionByIdRequest",
     f"{V1}.GetTransactionResponse", False),
    ("TransactionService", "GetFlatTransactionById", f"{V1}.GetTransactionByIdRequest",
     f"{V1}.GetFlatTransactionResponse", False),
    ("ActiveContractsService", "GetActiveContracts", f"{V1}.GetActiveContractsRequest",
     f"{V1}.GetActiveContractsResponse", True),
    ("PackageService", "ListPackages", f"{V1}.ListPackagesRequest",
     f"{V1}.ListPackagesResponse", False),
    ("PackageService", "GetPackage", f"{V1}.GetPackageRequest", f"{V1}.GetPackageResponse",
     False),
    ("PackageService", "GetPackageStatus", f"{V1}.GetPackageStatusRequest",
     f"{V1}.GetPackageStatusResponse", False),
    ("VersionService", "GetLedgerApiVersion", f"{V1}.GetLedgerApiVersionRequest",
     f"{V1}.GetLedgerApiVersionResponse", False),
    ("LedgerIdentityService", "GetLedgerIdentity", f"{V1}.GetLedgerIdentityRequest",
     f"{V1}.GetLedgerIdentityResponse", False),
    ("admin.PartyManagementService", "AllocateParty", f"{ADMIN}.AllocatePartyRequest",
     f"{ADMIN}.AllocatePartyResponse", False),
    ("admin.PartyManagementService", "ListKnownParties", f"{ADMIN}.ListKnownPartiesRequest",
     f"{ADMIN}.ListKnownPartiesResponse", False),
    ("admin.PartyManagementService", "GetParties", f"{ADMIN}.GetPartiesRequest",
     f"{ADMIN}.GetPartiesResponse", False),
    ("admin.PartyManagementService", "GetParticipantId", f"{ADMIN}.GetParticipantIdRequest",
     f"{ADMIN}.GetParticipantIdResponse", False),
    *[("admin.UserManagementService", rpc, f"{ADMIN}.{rpc}Request", f"{ADMIN}.{rpc}Response",
       False)
      for rpc in ("CreateUser", "GetUser", "DeleteUser", "ListUsers", "GrantUserRights",
                  "RevokeUserRights", "ListUserRights")],
    ("admin.PackageManagementService", "UploadDarFile", f"{ADMIN}.UploadDarFileRequest",
     f"{ADMIN}.UploadDarFileResponse", False),
    ("admin.PackageManagementService", "ListKnownPackages",
     f"{ADMIN}.ListKnownPackagesRequest", f"{ADMIN}.ListKnownPackagesResponse", False),
]

# (module, message path, field, number, oneof or None), from Daml 2.10's protos.
FIELDS = [
    (value_pb2, "Value", "record", 1, "Sum"),
    (value_pb2, "Value", "variant", 2, "Sum"),
    (value_pb2, "Value", "contract_id", 3, "Sum"),
    (value_pb2, "Value", "list", 4, "Sum"),
    (value_pb2, "Value", "int64", 5, "Sum"),
    (value_pb2, "Value", "numeric", 6, "Sum"),
    (value_pb2, "Value", "text", 8, "Sum"),
    (value_pb2, "Value", "timestamp", 9, "Sum"),
    (value_pb2, "Value", "party", 11, "Sum"),
    (value_pb2, "Value", "bool", 12, "Sum"),
    (value_pb2, "Value", "unit", 13, "Sum"),
    (value_pb2, "Value", "date", 14, "Sum"),
    (value_pb2, "Value", "optional", 15, "Sum"),
    (value_pb2, "Value", "map", 16, "Sum"),
    (value_pb2, "Value", "enum", 17, "Sum"),
    (value_pb2, "Value", "gen_map", 18, "Sum"),
    (value_pb2, "Record", "record_id", 1, None),
    (value_pb2, "Record", "fields", 2, None),
    (value_pb2, "RecordField", "label", 1, None),
    (value_pb2, "RecordField", "value", 2, None),
    (value_pb2, "Identifier", "package_id", 1, None),
    (value_pb2, "Identifier", "module_name", 3, None),
    (value_pb2, "Identifier", "entity_name", 4, None),
    (value_pb2, "Variant", "variant_id", 1, None),
    (value_pb2, "Variant", "constructor", 2, None),
    (value_pb2, "Variant", "value", 3, None),
    (value_pb2, "Enum", "enum_id", 1, None),
    (value_pb2, "Enum", "constructor", 2, None),
    (value_pb2, "List", "elements", 1, None),
    (value_pb2, "Optional", "value", 1, None),
    (value_pb2, "Map.Entry", "key", 1, None),
    (value_pb2, "Map.Entry", "value", 2, None),
    (value_pb2, "GenMap.Entry", "key", 1, None),
    (value_pb2, "GenMap.Entry", "value", 2, None),
    (commands_pb2, "Commands", "ledger_id", 1, None),
    (commands_pb2, "Commands", "workflow_id", 2, None),
    (commands_pb2, "Commands", "application_id", 3, None),
    (commands_pb2, "Commands", "command_id", 4, None),
    (commands_pb2, "Commands", "party", 5, None),
    (commands_pb2, "Commands", "commands", 8, None),
    (commands_pb2, "Commands", "deduplication_time", 9, "deduplication_period"),
    (commands_pb2, "Commands", "min_ledger_time_abs", 10, None),
    (commands_pb2, "Commands", "min_ledger_time_rel", 11, None),
    (commands_pb2, "Commands", "act_as", 12, None),
    (commands_pb2, "Commands", "read_as", 13, None),
    (commands_pb2, "Commands", "submission_id", 14, None),
    (commands_pb2, "Commands", "deduplication_duration", 15, "deduplication_period"),
    (commands_pb2, "Commands", "deduplication_offset", 16, "deduplication_period"),
    (commands_pb2, "Commands", "disclosed_contracts", 17, None),
    (commands_pb2, "Command", "create", 1, "command"),
    (commands_pb2, "Command", "exercise", 2, "command"),
    (commands_pb2, "Command", "createAndExercise", 3, "command"),
    (commands_pb2, "Command", "exerciseByKey", 4, "command"),
    (commands_pb2, "CreateCommand", "template_id", 1, None),
    (commands_pb2, "CreateCommand", "create_arguments", 2, None),
    (commands_pb2, "ExerciseCommand", "template_id", 1, None),
    (commands_pb2, "ExerciseCommand", "contract_id", 2, None),
    (commands_pb2, "ExerciseCommand", "choice", 3, None),
    (commands_pb2, "ExerciseCommand", "choice_argument", 4, None),
    (commands_pb2, "ExerciseByKeyCommand", "contract_key", 2, None),
    (commands_pb2, "CreateAndExerciseCommand", "choice_argument", 4, None),
    (completion_pb2, "Completion", "command_id", 1, None),
    (completion_pb2, "Completion", "status", 2, None),
    (completion_pb2, "Completion", "transaction_id", 3, None),
    (completion_pb2, "Completion", "application_id", 4, None),
    (completion_pb2, "Completion", "act_as", 5, None),
    (completion_pb2, "Completion", "submission_id", 6, None),
    (completion_pb2, "Completion", "deduplication_offset", 8, "deduplication_period"),
    (completion_pb2, "Completion", "deduplication_duration", 9, "deduplication_period"),
    (completion_pb2, "Completion", "trace_context", 10, None),
    (transaction_pb2, "Transaction", "transaction_id", 1, None),
    (transaction_pb2, "Transaction", "command_id", 2, None),
    (transaction_pb2, "Transaction", "workflow_id", 3, None),
    (transaction_pb2, "Transaction", "effective_at", 4, None),
    (transaction_pb2, "Transaction", "events", 5, None),
    (transaction_pb2, "Transaction", "offset", 6, None),
    (transaction_pb2, "Transaction", "trace_context", 7, None),
    (transaction_pb2, "TransactionTree", "offset", 6, None),
    (transaction_pb2, "TransactionTree", "events_by_id", 7, None),
    (transaction_pb2, "TransactionTree", "root_event_ids", 8, None),
    (transaction_pb2, "TreeEvent", "created", 1, "kind"),
    (transaction_pb2, "TreeEvent", "exercised", 2, "kind"),
    (event_pb2, "Event", "created", 1, "event"),
    (event_pb2, "Event", "archived", 3, "event"),
    (event_pb2, "CreatedEvent", "event_id", 1, None),
    (event_pb2, "CreatedEvent", "contract_id", 2, None),
    (event_pb2, "CreatedEvent", "template_id", 3, None),
    (event_pb2, "CreatedEvent", "create_arguments", 4, None),
    (event_pb2, "CreatedEvent", "witness_parties", 5, None),
    (event_pb2, "CreatedEvent", "agreement_text", 6, None),
    (event_pb2, "CreatedEvent", "contract_key", 7, None),
    (event_pb2, "CreatedEvent", "signatories", 8, None),
    (event_pb2, "CreatedEvent", "observers", 9, None),
    (event_pb2, "CreatedEvent", "created_at", 14, None),
    (event_pb2, "CreatedEvent", "package_name", 15, None),
    (event_pb2, "ArchivedEvent", "event_id", 1, None),
    (event_pb2, "ArchivedEvent", "contract_id", 2, None),
    (event_pb2, "ArchivedEvent", "template_id", 3, None),
    (event_pb2, "ArchivedEvent", "witness_parties", 4, None),
    (event_pb2, "ExercisedEvent", "event_id", 1, None),
    (event_pb2, "ExercisedEvent", "contract_id", 2, None),
    (event_pb2, "ExercisedEvent", "template_id", 3, None),
    (event_pb2, "ExercisedEvent", "choice", 5, None),
    (event_pb2, "ExercisedEvent", "choice_argument", 6, None),
    (event_pb2, "ExercisedEvent", "acting_parties", 7, None),
    (event_pb2, "ExercisedEvent", "consuming", 8, None),
    (event_pb2, "ExercisedEvent", "witness_parties", 10, None),
    (event_pb2, "ExercisedEvent", "child_event_ids", 11, None),
    (event_pb2, "ExercisedEvent", "exercise_result", 12, None),
    (event_pb2, "ExercisedEvent", "interface_id", 13, None),
    (ledger_offset_pb2, "LedgerOffset", "absolute", 1, "value"),
    (ledger_offset_pb2, "LedgerOffset", "boundary", 2, "value"),
    (transaction_filter_pb2, "TransactionFilter", "filters_by_party", 1, None),
    (transaction_filter_pb2, "Filters", "inclusive", 1, None),
    (transaction_filter_pb2, "InclusiveFilters", "template_ids", 1, None),
    (transaction_filter_pb2, "InclusiveFilters", "template_filters", 3, None),
    (transaction_service_pb2, "GetTransactionsRequest", "begin", 2, None),
    (transaction_service_pb2, "GetTransactionsRequest", "end", 3, None),
    (transaction_service_pb2, "GetTransactionsRequest", "filter", 4, None),
    (transaction_service_pb2, "GetTransactionsRequest", "verbose", 5, None),
    (transaction_service_pb2, "GetTransactionByIdRequest", "requesting_parties", 3, None),
    (active_contracts_service_pb2, "GetActiveContractsRequest", "active_at_offset", 4, None),
    (active_contracts_service_pb2, "GetActiveContractsResponse", "active_contracts", 3, None),
    (command_completion_service_pb2, "CompletionStreamRequest", "offset", 4, None),
    (command_completion_service_pb2, "CompletionStreamResponse", "completions", 2, None),
    (package_service_pb2, "GetPackageResponse", "archive_payload", 2, None),
    (version_service_pb2, "FeaturesDescriptor", "experimental", 1, None),
    (version_service_pb2, "FeaturesDescriptor", "user_management", 2, None),
    (party_management_service_pb2, "ListKnownPartiesRequest", "identity_provider_id", 1, None),
    (party_management_service_pb2, "ListKnownPartiesRequest", "page_token", 2, None),
    (party_management_service_pb2, "PartyDetails", "is_local", 3, None),
    (user_management_service_pb2, "User", "primary_party", 2, None),
    (user_management_service_pb2, "Right", "participant_admin", 1, "kind"),
    (user_management_service_pb2, "Right", "can_act_as", 2, "kind"),
    (user_management_service_pb2, "Right", "can_read_as", 3, "kind"),
    (user_management_service_pb2, "Right", "identity_provider_admin", 4, "kind"),
    (user_management_service_pb2, "ListUsersRequest", "page_size", 3, None),
    (package_management_service_pb2, "UploadDarFileRequest", "dar_file", 1, None),
    (package_management_service_pb2, "PackageDetails", "package_size", 2, None),
]

# Wire types that a Daml client relies on beyond the number (a sint64 read as int64 would
# decode garbage; a sfixed64 has a different wire type altogether).
SCALAR_TYPES = [
    (value_pb2, "Value", "int64", FieldDescriptor.TYPE_SINT64),
    (value_pb2, "Value", "timestamp", FieldDescriptor.TYPE_SFIXED64),
    (value_pb2, "Value", "date", FieldDescriptor.TYPE_INT32),
    (value_pb2, "Value", "numeric", FieldDescriptor.TYPE_STRING),
    (package_management_service_pb2, "PackageDetails", "package_size",
     FieldDescriptor.TYPE_UINT64),
]


def _service(name: str) -> ServiceDescriptor:
    full = f"{V1}.{name}"
    module = _SERVICE_MODULES[full]
    return module.DESCRIPTOR.services_by_name[name.split(".")[-1]]


def _message(module: object, path: str) -> Descriptor:
    outer, *inner = path.split(".")
    descriptor: Descriptor = module.DESCRIPTOR.message_types_by_name[outer]  # type: ignore[attr-defined]
    for name in inner:
        descriptor = descriptor.nested_types_by_name[name]
    return descriptor


@pytest.mark.parametrize(("service", "rpc", "request_type", "response_type", "streaming"),
                         RPCS,
                         ids=[f"{s}.{r}" for s, r, *_ in RPCS])
def test_rpc_has_daml_signature(service: str, rpc: str, request_type: str,
                                response_type: str, streaming: bool) -> None:
    method = _service(service).methods_by_name[rpc]
    assert method.input_type.full_name == request_type
    assert method.output_type.full_name == response_type
    assert method.server_streaming is streaming
    assert method.client_streaming is False


def test_every_service_lives_in_its_daml_package() -> None:
    for full_name, module in _SERVICE_MODULES.items():
        short = full_name.rsplit(".", 1)[1]
        assert module.DESCRIPTOR.services_by_name[short].full_name == full_name


def test_services_offer_exactly_the_implemented_subset() -> None:
    offered = {(s.split(".")[-1], m) for s, _ in _SERVICE_MODULES.items()
               for m in _service(s.removeprefix(f"{V1}.")).methods_by_name}
    assert offered == {(s.split(".")[-1], r) for s, r, *_ in RPCS}


@pytest.mark.parametrize(("module", "message", "field", "number", "oneof"), FIELDS,
                         ids=[f"{m}.{f}" for _, m, f, *_ in FIELDS])
def test_field_number_matches_daml(module: object, message: str, field: str, number: int,
                                   oneof: str | None) -> None:
    descriptor = _message(module, message).fields_by_name[field]
    assert descriptor.number == number
    containing = descriptor.containing_oneof
    assert (containing.name if containing else None) == oneof


@pytest.mark.parametrize(("module", "message", "field", "wire_type"), SCALAR_TYPES,
                         ids=[f"{m}.{f}" for _, m, f, _ in SCALAR_TYPES])
def test_scalar_wire_types_match_daml(module: object, message: str, field: str,
                                      wire_type: int) -> None:
    assert _message(module, message).fields_by_name[field].type == wire_type


def test_retired_identifier_field_stays_free() -> None:
    # Daml's Identifier reserves number 2 (an old compact name); a message that reused it
    # would be misread by clients that still send it.
    numbers = {f.number for f in value_pb2.Identifier.DESCRIPTOR.fields}
    assert 2 not in numbers


def test_a_daml_encoded_value_decodes_to_the_same_fields() -> None:
    # Bytes as Daml's client would emit them for Value{record{fields:[{label:"x", int64:-1}]}}:
    # record (1, LEN) > fields (2, LEN) > label (1, LEN) "x", value (2, LEN) > int64 (5, zigzag).
    wire = bytes([0x0A, 0x09, 0x12, 0x07, 0x0A, 0x01, ord("x"), 0x12, 0x02, 0x28, 0x01])
    decoded = value_pb2.Value.FromString(wire)
    assert decoded.record.fields[0].label == "x"
    assert decoded.record.fields[0].value.int64 == -1
    assert decoded.SerializeToString() == wire
