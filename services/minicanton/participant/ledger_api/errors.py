"""Errors at the Ledger API boundary: every exception becomes one gRPC status, here only.

A typed `MinicantonError` keeps its Daml-style error id. The status code comes from, in order:
the error's own ``grpc_status`` attribute (auth and topology errors carry one), the table
`STATUS_BY_ERROR_ID` (Daml's categories for the ids the participant raises), INVALID_ARGUMENT
for any `InvalidArgument`, else INTERNAL. The client receives what a Daml participant sends:

- the status message ``ERROR_ID(c): message`` (c is the code number, as Daml prints it);
- a ``google.rpc.Status`` in the ``grpc-status-details-bin`` trailer with an ``ErrorInfo``
  (reason = the error id, metadata = the error's plain attributes such as ``contract_id`` or
  ``path`` plus the request context given, e.g. ``command_id``) and, when a submission id is
  known, a ``RequestInfo`` naming it;
- the id again in the ``error-id`` trailer (runtime/grpc_errors.py reads it back).

Any other exception is a bug: it is logged here with its stack trace under an incident id and
the client gets INTERNAL with that id and nothing else. Completions carry the same
``google.rpc.Status`` (`completion_status`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from minicanton.core.errors import InvalidArgument, MinicantonError
from minicanton.runtime.grpc_errors import ERROR_ID_KEY

log = logging.getLogger(__name__)

STATUS_DETAILS_KEY = "grpc-status-details-bin"
ERROR_DOMAIN = "minicanton.participant"
INTERNAL_ERROR_ID = "INTERNAL_ERROR"
MAX_METADATA_VALUE_CHARS = 512

_C = grpc.StatusCode
STATUS_BY_ERROR_ID: Mapping[str, grpc.StatusCode] = {
    # requests
    "MISSING_FIELD": _C.INVALID_ARGUMENT,
    "INVALID_FIELD": _C.INVALID_ARGUMENT,
    "LEDGER_ID_MISMATCH": _C.NOT_FOUND,
    "OFFSET_AFTER_LEDGER_END": _C.OUT_OF_RANGE,
    "OFFSET_OUT_OF_RANGE": _C.INVALID_ARGUMENT,
    "REQUEST_TIME_OUT": _C.DEADLINE_EXCEEDED,
    "TRANSACTION_NOT_FOUND": _C.NOT_FOUND,
    "PACKAGE_NOT_FOUND": _C.NOT_FOUND,
    "USER_NOT_FOUND": _C.NOT_FOUND,
    "USER_ALREADY_EXISTS": _C.ALREADY_EXISTS,
    "PARTY_ALLOCATION_FAILED": _C.FAILED_PRECONDITION,
    # submissions and deduplication
    "DUPLICATE_COMMAND": _C.ALREADY_EXISTS,
    "SUBMISSION_ALREADY_IN_FLIGHT": _C.ABORTED,
    "INVALID_DEDUPLICATION_PERIOD": _C.FAILED_PRECONDITION,
    "SEQUENCER_UNAVAILABLE": _C.UNAVAILABLE,
    "SEQUENCER_REQUEST_TOO_LARGE": _C.INVALID_ARGUMENT,
    "SEQUENCER_MAX_SEQUENCING_TIME_PASSED": _C.ABORTED,
    # packages
    "TEMPLATE_NOT_FOUND": _C.NOT_FOUND,
    "AMBIGUOUS_TEMPLATE": _C.INVALID_ARGUMENT,
    "PACKAGE_LOAD_FAILED": _C.INVALID_ARGUMENT,
    # interpretation
    "CHOICE_NOT_FOUND": _C.INVALID_ARGUMENT,
    "FAILED_AUTHORIZATION": _C.INVALID_ARGUMENT,
    "UNHANDLED_EXCEPTION": _C.FAILED_PRECONDITION,
    "CONTRACT_NOT_FOUND": _C.NOT_FOUND,
    "CONTRACT_NOT_ACTIVE": _C.NOT_FOUND,
    "CONTRACT_KEY_NOT_FOUND": _C.NOT_FOUND,
    "DUPLICATE_CONTRACT_KEY": _C.ALREADY_EXISTS,
    "TEMPLATE_PRECONDITION_VIOLATED": _C.INVALID_ARGUMENT,
    "WRONGLY_TYPED_CONTRACT": _C.FAILED_PRECONDITION,
    "DAML_INTERPRETATION_ERROR": _C.FAILED_PRECONDITION,
}


class LedgerApiError(MinicantonError):
    """An error the Ledger API itself raises; `error_id` says which (see the table)."""

    def __init__(self, error_id: str, message: str, **metadata: str) -> None:
        super().__init__(message, error_id=error_id)
        self.metadata = dict(metadata)


def missing_field(name: str) -> LedgerApiError:
    return LedgerApiError("MISSING_FIELD", f"the request has no {name}", field_name=name)


def invalid_field(name: str, reason: str) -> LedgerApiError:
    return LedgerApiError("INVALID_FIELD", f"{name}: {reason}", field_name=name)


def status_code_of(error: MinicantonError) -> grpc.StatusCode:
    named = getattr(error, "grpc_status", None)
    if isinstance(named, str) and hasattr(grpc.StatusCode, named):
        code: grpc.StatusCode = getattr(grpc.StatusCode, named)
        return code
    mapped = STATUS_BY_ERROR_ID.get(error.error_id)
    if mapped is not None:
        return mapped
    if isinstance(error, InvalidArgument):
        return grpc.StatusCode.INVALID_ARGUMENT
    return grpc.StatusCode.INTERNAL


def error_metadata(error: MinicantonError) -> dict[str, str]:
    """The error's plain attributes (ids, paths, lines), as Daml lists an error's context."""
    found: dict[str, str] = {}
    explicit = getattr(error, "metadata", None)
    attributes = dict(getattr(error, "__dict__", {}))
    if isinstance(explicit, Mapping):
        attributes.pop("metadata", None)
        attributes.update(explicit)
    for name, value in attributes.items():
        if name.startswith("_") or name == "grpc_status":
            continue
        if isinstance(value, frozenset | set | tuple | list):
            value = ",".join(sorted(str(item) for item in value))
        if isinstance(value, str | int | bool):
            found[name] = str(value)[:MAX_METADATA_VALUE_CHARS]
    return found


def rpc_status(code: grpc.StatusCode, error_id: str, message: str,
               metadata: Mapping[str, str] | None = None,
               request_id: str = "") -> status_pb2.Status:
    """A ``google.rpc.Status`` with Daml's message form and an ErrorInfo (+ RequestInfo)."""
    number = code.value[0]
    status = status_pb2.Status(code=number, message=daml_message(error_id, number, message))
    info = error_details_pb2.ErrorInfo(reason=error_id, domain=ERROR_DOMAIN,
                                       metadata=dict(metadata or {}))
    status.details.append(_packed(info))
    if request_id:
        status.details.append(_packed(error_details_pb2.RequestInfo(request_id=request_id)))
    return status


def daml_message(error_id: str, code_number: int, message: str) -> str:
    return f"{error_id}({code_number}): {message}"


def status_of(error: BaseException, context: Mapping[str, str] | None = None
              ) -> tuple[grpc.StatusCode, status_pb2.Status]:
    """The one mapping from an exception to what the client sees."""
    context = dict(context or {})
    if isinstance(error, MinicantonError):
        code = status_code_of(error)
        metadata = {**context, **error_metadata(error)}
        return code, rpc_status(code, error.error_id, error.message, metadata,
                                context.get("submission_id", ""))
    incident = uuid.uuid4().hex[:16]
    log.error("unexpected error in a Ledger API call (incident %s, context %s)",
              incident, context, exc_info=error)
    message = (f"an internal error occurred; the participant's operator can find it in the "
               f"log as incident {incident}")
    return grpc.StatusCode.INTERNAL, rpc_status(
        grpc.StatusCode.INTERNAL, INTERNAL_ERROR_ID, message, {"incident": incident}
    )


async def abort_with_error(context: grpc.aio.ServicerContext, error: BaseException,
                           request_context: Mapping[str, str] | None = None) -> None:
    """End the call with the status `error` maps to (raises, as `context.abort` does)."""
    code, status = status_of(error, request_context)
    reason = status.details and _error_id_in(status)
    trailers = ((STATUS_DETAILS_KEY, status.SerializeToString()),
                (ERROR_ID_KEY, reason or INTERNAL_ERROR_ID))
    await context.abort(code, status.message, trailing_metadata=trailers)


def completion_status(status_code: int, error_id: str, message: str,
                      metadata: Mapping[str, str] | None = None) -> status_pb2.Status:
    """The status a completion carries: OK, or the rejection in the same form as errors."""
    if status_code == code_pb2.OK:
        return status_pb2.Status(code=code_pb2.OK)
    code = _code_by_number(status_code)
    return rpc_status(code, error_id or code.name, message, metadata)


def _code_by_number(number: int) -> grpc.StatusCode:
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return code
    return grpc.StatusCode.UNKNOWN


def _packed(message: error_details_pb2.ErrorInfo | error_details_pb2.RequestInfo
            ) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def _error_id_in(status: status_pb2.Status) -> str:
    info = error_details_pb2.ErrorInfo()
    for detail in status.details:
        if detail.Unpack(info):
            return str(info.reason)
    return ""
