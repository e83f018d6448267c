"""How the Ledger API renders errors: Daml's ``google.rpc.Status``, here only.

The boundary itself (which exceptions become which status code, what happens to an untyped
exception) is the one every gRPC server shares, runtime/grpc_errors.py: rpc.py runs each
handler through it with `abort_with_error` as the rendering. A typed `MinicantonError` keeps
its Daml-style error id, its status code is `grpc_errors.status_of`'s, and the client
receives what a Daml participant sends:

- the status message ``ERROR_ID(c): message`` (c is the code number, as Daml prints it);
- a ``google.rpc.Status`` in the ``grpc-status-details-bin`` trailer with an ``ErrorInfo``
  (reason = the error id, metadata = the error's plain attributes such as ``contract_id`` or
  ``path`` plus the request context given, e.g. ``command_id``) and, when a submission id is
  known, a ``RequestInfo`` naming it;
- the id again in the ``error-id`` trailer (runtime/grpc_errors.py reads it back).

Any other exception is a bug: the shared boundary logs it with its stack trace under an
incident id and the client gets INTERNAL with that id and nothing else. Completions carry the
same ``google.rpc.Status`` (`completion_status`).
"""

from __future__ import annotations

from collections.abc import Mapping

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from minicanton.core.errors import MinicantonError
from minicanton.runtime.grpc_errors import ERROR_ID_KEY, RequestContext, UnexpectedError
from minicanton.runtime.grpc_errors import status_of as status_code_of

STATUS_DETAILS_KEY = "grpc-status-details-bin"
ERROR_DOMAIN = "minicanton.participant"
INTERNAL_ERROR_ID = UnexpectedError.error_id
MAX_METADATA_VALUE_CHARS = 512


class LedgerApiError(MinicantonError):
    """An error the Ledger API itself raises; `error_id` says which (its status code:
    `runtime.grpc_errors.STATUS_BY_ERROR_ID`)."""

    def __init__(self, error_id: str, message: str, **metadata: str) -> None:
        super().__init__(message, error_id=error_id)
        self.metadata = dict(metadata)


def missing_field(name: str) -> LedgerApiError:
    return LedgerApiError("MISSING_FIELD", f"the request has no {name}", field_name=name)


def invalid_field(name: str, reason: str) -> LedgerApiError:
    return LedgerApiError("INVALID_FIELD", f"{name}: {reason}", field_name=name)


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


def status_of(error: MinicantonError, context: RequestContext | None = None
              ) -> tuple[grpc.StatusCode, status_pb2.Status]:
    """What the client sees of `error` (a bug reaches here as an `UnexpectedError`)."""
    code = status_code_of(error)
    if isinstance(error, UnexpectedError):  # nothing of the request, nothing of the bug
        message = (f"an internal error occurred; the participant's operator can find it in "
                   f"the log as incident {error.incident}")
        return code, rpc_status(code, error.error_id, message, {"incident": error.incident})
    context = dict(context or {})
    metadata = {**context, **error_metadata(error)}
    return code, rpc_status(code, error.error_id, error.message, metadata,
                            context.get("submission_id", ""))


async def abort_with_error(context: grpc.aio.ServicerContext, error: MinicantonError,
                           request_context: RequestContext | None = None) -> None:
    """End the call with `error` as Daml renders it (raises, as `context.abort` does); the
    Ledger API's `grpc_errors.Abort`."""
    code, status = status_of(error, request_context)
    trailers = ((STATUS_DETAILS_KEY, status.SerializeToString()),
                (ERROR_ID_KEY, _error_id_in(status) or INTERNAL_ERROR_ID))
    await context.abort(code, status.message, trailing_metadata=trailers)


def completion_status(status_code: int, error_id: str, message: str,
                      metadata: Mapping[str, str] | None = None) -> status_pb2.Status:
    """The status a completion carries: OK, or the rejection in the same form as errors."""
    if status_code == code_pb2.OK:
        return status_pb2.Status(code=code_pb2.OK)
    code = code_by_number(status_code)
    return rpc_status(code, error_id or code.name, message, metadata)


def code_by_number(number: int) -> grpc.StatusCode:
    """The gRPC status code with this number (as a completion stores it); UNKNOWN if none."""
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
