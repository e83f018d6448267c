"""Daml's response envelopes and the one place errors become HTTP statuses.

Success: ``{"status": 200, "result": ..., "warnings"?: {...}}``. Failure:
``{"status": N, "errors": ["..."], "ledgerApiError"?: {...}, "warnings"?: {...}}``. Every
failure of every path goes through `error_response`, so a client never sees a stack trace:

- a Ledger API failure keeps the participant's message and Daml's details, with the status
  Daml's JSON API gives its gRPC code (INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE 400;
  UNAUTHENTICATED 401; PERMISSION_DENIED 403; NOT_FOUND 404; ALREADY_EXISTS, ABORTED 409;
  RESOURCE_EXHAUSTED 429; CANCELLED 499; UNAVAILABLE 503; DEADLINE_EXCEEDED 504; the rest
  500);
- our typed errors: bad input (and a template that does not resolve) 400, auth 401/403, a
  body over the limit 413, any other by the same table from the gRPC status the Ledger API
  would give it (`runtime.grpc_errors.status_of`: store trouble 503, contention 409, ...);
- anything else is a bug: logged with an incident id, answered 500 with only that id.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import grpc
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from minicanton.core.errors import InvalidArgument, MinicantonError
from minicanton.core.lf.package import AmbiguousTemplate, TemplateNotFound
from minicanton.json_api.ledger_client import LedgerError
from minicanton.runtime.auth_keys import PermissionDenied, Unauthenticated
from minicanton.runtime.grpc_errors import status_of

log = logging.getLogger("minicanton.json_api")

_C = grpc.StatusCode
HTTP_STATUS_OF_GRPC: dict[grpc.StatusCode, int] = {  # Daml's GrpcHttpErrorCodes
    _C.INVALID_ARGUMENT: 400, _C.FAILED_PRECONDITION: 400, _C.OUT_OF_RANGE: 400,
    _C.UNAUTHENTICATED: 401, _C.PERMISSION_DENIED: 403, _C.NOT_FOUND: 404,
    _C.ALREADY_EXISTS: 409, _C.ABORTED: 409, _C.RESOURCE_EXHAUSTED: 429,
    _C.CANCELLED: 499, _C.UNKNOWN: 500, _C.INTERNAL: 500, _C.DATA_LOSS: 500,
    _C.UNIMPLEMENTED: 501, _C.UNAVAILABLE: 503, _C.DEADLINE_EXCEEDED: 504,
}


class PayloadTooLarge(InvalidArgument):
    error_id = "PAYLOAD_TOO_LARGE"


class UnknownTemplates(InvalidArgument):
    """No template id of a request resolved; carries the ``unknownTemplateIds`` warning."""

    error_id = "TEMPLATE_NOT_FOUND"

    def __init__(self, message: str, unknown: list[str]) -> None:
        super().__init__(message)
        self.unknown = unknown


def ok(result: Any, warnings: dict[str, Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"status": 200, "result": result}
    if warnings:
        body["warnings"] = warnings
    return JSONResponse(body)


def failure(status: int, errors: list[str], *, ledger_api_error: dict[str, Any] | None = None,
            warnings: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status, "errors": errors}
    if warnings:
        body["warnings"] = warnings
    if ledger_api_error is not None:
        body["ledgerApiError"] = ledger_api_error
    return body


def error_response(error: BaseException) -> JSONResponse:
    body = error_body(error)
    return JSONResponse(body, status_code=body["status"])


def error_body(error: BaseException) -> dict[str, Any]:
    """The failure envelope for `error` (also what a WebSocket error frame carries)."""
    if isinstance(error, LedgerError):
        return _ledger_failure(error)
    if isinstance(error, RequestValidationError):
        return failure(400, [_validation_message(error)])
    if isinstance(error, HTTPException):
        return failure(error.status_code, [str(error.detail)])
    if isinstance(error, MinicantonError):
        return _typed_failure(error)
    return _internal(error)


def _ledger_failure(error: LedgerError) -> dict[str, Any]:
    status = HTTP_STATUS_OF_GRPC.get(error.code, 500)
    if status >= 500 and status not in (503, 504):
        incident = _incident(error)
        return failure(status, [f"the ledger could not serve the request (incident {incident})"])
    return failure(status, [error.message], ledger_api_error=error.ledger_api_error())


def _typed_failure(error: MinicantonError) -> dict[str, Any]:
    if isinstance(error, PermissionDenied):
        return failure(403, [error.message])
    if isinstance(error, Unauthenticated):
        return failure(401, [error.message])
    if isinstance(error, UnknownTemplates):
        return failure(400, [error.message], warnings={"unknownTemplateIds": error.unknown})
    if isinstance(error, PayloadTooLarge):
        return failure(413, [error.message])
    if isinstance(error, InvalidArgument | TemplateNotFound | AmbiguousTemplate):
        return failure(400, [error.message])
    status = HTTP_STATUS_OF_GRPC.get(status_of(error), 500)
    if status == 500:
        return _internal(error)
    return failure(status, [error.message])


def _internal(error: BaseException) -> dict[str, Any]:
    incident = _incident(error)
    return failure(500, [f"internal error (incident {incident}); the JSON API logs have it"])


def _incident(error: BaseException) -> str:
    incident = uuid.uuid4().hex[:12]
    log.error("incident %s: %s", incident, error, exc_info=error)
    return incident


def _validation_message(error: RequestValidationError) -> str:
    parts = []
    for problem in error.errors()[:10]:
        location = ".".join(str(step) for step in problem.get("loc", ()) if step != "body")
        if problem.get("type") == "json_invalid":
            detail = problem.get("ctx", {}).get("error", "invalid JSON")
            parts.append(f"JSON parser error: {detail}")
        else:
            parts.append(f"{location or 'body'}: {problem.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is not valid"
