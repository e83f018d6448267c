"""Typed errors across gRPC, both ways, at the boundary only; and the admin-token check.

One boundary and one mapping for every gRPC server (sequencer, mediator auditor, topology
manager, Ledger API). Handlers run through `run_typed` (or the `typed_rpc` decorator) and
server streams through `stream_typed` (`typed_unary` is `run_typed` made into the handler
itself, for the decorators):

- a `MinicantonError` ends the call with the status `status_of` names: the error's own
  ``grpc_status`` attribute, else `STATUS_BY_ERROR_ID` (Daml's categories for the error ids
  the core and the participant raise), else INVALID_ARGUMENT for an `InvalidArgument`, else
  INTERNAL;
- any other exception is a bug: logged here with its trace under an incident id; the caller
  gets INTERNAL naming the incident (`UnexpectedError`), never the trace or the message;
- an abort the handler made itself, and cancellation, pass through untouched.

What the caller sees of a typed error is the service's `Abort`. The domain services use
`abort_with`: details ``ERROR_ID: message`` and the id in the trailing metadata key
``error-id``. The Ledger API renders Daml's ``google.rpc.Status`` with an ErrorInfo
(participant/ledger_api/errors.py) and sends the same ``error-id`` trailer. Clients read the
id back with `error_id_of`.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

import grpc

from minicanton.core.errors import InvalidArgument, MinicantonError
from minicanton.core.protocol.participant_effects import REJECTION_STATUS_BY_CODE

log = logging.getLogger(__name__)
ERROR_ID_KEY = "error-id"
R = TypeVar("R")
RequestContext = Mapping[str, str]
# Renders a typed error for the caller and ends the call (raises, as `context.abort` does).
Abort = Callable[[grpc.aio.ServicerContext, MinicantonError, RequestContext], Awaitable[None]]
_PASS_THROUGH = (grpc.aio.AbortError, asyncio.CancelledError)

_C = grpc.StatusCode
# Every error id the code base raises whose class names no ``grpc_status`` of its own, with
# the code of the category Canton/Daml give it (Canton's error-code reference):
# InvalidIndependentOfSystemState INVALID_ARGUMENT; InvalidGivenCurrentSystemStateOther
# FAILED_PRECONDITION; ...ResourceMissing NOT_FOUND; ...ResourceExists ALREADY_EXISTS;
# ...SeekAfterEnd OUT_OF_RANGE; ContentionOnSharedResources ABORTED; TransientServerFailure
# UNAVAILABLE; DeadlineExceededRequestStateUnknown DEADLINE_EXCEEDED;
# MaliciousOrFaultyBehaviour UNKNOWN; SystemInternalAssumptionViolated INTERNAL. INTERNAL is
# kept for our own faults (a broken invariant, a corrupt store), listed under "server faults".
# The codes a rejection (a completion) carries come from the core's table, as the core
# reports them. tests/unit/runtime/test_error_catalog.py holds every error id to an entry.
_CODE_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}
STATUS_BY_ERROR_ID: Mapping[str, grpc.StatusCode] = {
    **{error_id: _CODE_BY_NUMBER[number]
       for error_id, number in REJECTION_STATUS_BY_CODE.items()},
    # requests
    "INVALID_ARGUMENT": _C.INVALID_ARGUMENT,
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
    "CONFIG_INVALID": _C.INVALID_ARGUMENT,
    "CRYPTO_ERROR": _C.INVALID_ARGUMENT,
    "CONTRACT_AUTHENTICATION_FAILED": _C.INVALID_ARGUMENT,
    # submissions, routing and deduplication
    "SUBMITTING_PARTY_NOT_KNOWN_ON_LEDGER": _C.NOT_FOUND,  # also: hosted without Submission
    "INFORMEES_NOT_ACTIVE": _C.FAILED_PRECONDITION,
    "PACKAGE_NOT_VETTED_BY_RECIPIENTS": _C.FAILED_PRECONDITION,
    "NO_MEDIATOR_AVAILABLE": _C.FAILED_PRECONDITION,
    "CONFIRMATION_POLICY_NOT_APPLICABLE": _C.FAILED_PRECONDITION,
    "VIEW_DECOMPOSITION_FAILED": _C.INVALID_ARGUMENT,
    "COMMAND_REJECTED": _C.INVALID_ARGUMENT,
    "DUPLICATE_COMMAND": _C.ALREADY_EXISTS,
    "SUBMISSION_ALREADY_IN_FLIGHT": _C.ABORTED,
    "INVALID_DEDUPLICATION_PERIOD": _C.FAILED_PRECONDITION,
    # sequencing (the classes of core/sequencing/errors.py mostly name their own status)
    "SEQUENCER_UNAVAILABLE": _C.UNAVAILABLE,
    "SEQUENCER_REQUEST_TOO_LARGE": _C.RESOURCE_EXHAUSTED,
    "SEQUENCER_CONNECTION_LOST": _C.UNAVAILABLE,
    "SEQUENCER_TRUST_FAILED": _C.UNAVAILABLE,
    "SEQUENCER_SEND_REJECTED": _C.FAILED_PRECONDITION,
    "SEQUENCER_CLIENT_ERROR": _C.UNAVAILABLE,
    "SEQUENCER_EVENT_VERIFICATION_FAILED": _C.UNKNOWN,
    "SEQUENCER_EVENT_CHAIN_BROKEN": _C.UNKNOWN,
    "SEQUENCER_FORK_DETECTED": _C.UNKNOWN,
    # protocol messages from other members
    "MALFORMED_PROTOCOL_MESSAGE": _C.INVALID_ARGUMENT,
    "UNKNOWN_PROTOCOL_MESSAGE_KIND": _C.INVALID_ARGUMENT,
    "MALFORMED_VIEW_MESSAGE": _C.INVALID_ARGUMENT,
    "VIEW_DECODE_ERROR": _C.INVALID_ARGUMENT,
    "MEDIATOR_INVALID_CONFIRMATION_RESPONSE": _C.INVALID_ARGUMENT,
    # nodes joining, starting, failing over
    "MEDIATOR_DOMAIN_UNKNOWN": _C.NOT_FOUND,
    "MEDIATOR_LEASE_LOST": _C.UNAVAILABLE,
    "PARTICIPANT_DOMAIN_JOIN_FAILED": _C.UNAVAILABLE,
    "PARTICIPANT_KEY_FILE_INVALID": _C.FAILED_PRECONDITION,
    "TOPOLOGY_ERROR": _C.FAILED_PRECONDITION,
    "INVALID_DOMAIN_PARAMETERS": _C.INVALID_ARGUMENT,
    "INVALID_TOPOLOGY_MAPPING": _C.INVALID_ARGUMENT,
    # packages
    "TEMPLATE_NOT_FOUND": _C.NOT_FOUND,
    "AMBIGUOUS_TEMPLATE": _C.INVALID_ARGUMENT,
    "PACKAGE_LOAD_FAILED": _C.INVALID_ARGUMENT,
    "INVALID_DAR": _C.INVALID_ARGUMENT,
    "ZIP_BOMB": _C.INVALID_ARGUMENT,
    "INVALID_ZIP_ENTRY": _C.INVALID_ARGUMENT,
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
    "INTERPRETATION_DEPTH_LIMIT": _C.FAILED_PRECONDITION,
    "INTERPRETATION_STEP_LIMIT": _C.FAILED_PRECONDITION,
    "INTERPRETATION_LOOKUP_LIMIT": _C.FAILED_PRECONDITION,
    # the JSON API's own
    "TEMPLATE_HAS_NO_KEY": _C.INVALID_ARGUMENT,
    "PACKAGE_UNUSABLE": _C.FAILED_PRECONDITION,
    "PAYLOAD_TOO_LARGE": _C.RESOURCE_EXHAUSTED,
    "JSON_API_START_FAILED": _C.UNAVAILABLE,
    # server faults: our own invariants or stores broken, never the caller's doing
    "INTERNAL_ERROR": _C.INTERNAL,
    "CONFLICT_DETECTION_STATE": _C.INTERNAL,
    "PARTICIPANT_STORE_ROW_INVALID": _C.INTERNAL,
    "MIGRATION_ERROR": _C.INTERNAL,
    "LEDGER_ANSWER_UNREADABLE": _C.INTERNAL,
}


class UnexpectedError(MinicantonError):
    """What a caller sees of a bug: INTERNAL and the incident id its trace is logged under."""

    error_id = "INTERNAL_ERROR"
    grpc_status = "INTERNAL"

    def __init__(self, incident: str) -> None:
        super().__init__(f"an internal error occurred; the operator can find it in the log "
                         f"as incident {incident}")
        self.incident = incident


def status_of(error: MinicantonError) -> grpc.StatusCode:
    """The one mapping from a typed error to its gRPC status code."""
    name = getattr(error, "grpc_status", None)
    if isinstance(name, str) and hasattr(grpc.StatusCode, name):
        return getattr(grpc.StatusCode, name)  # type: ignore[no-any-return]
    mapped = STATUS_BY_ERROR_ID.get(error.error_id)
    if mapped is not None:
        return mapped
    if isinstance(error, InvalidArgument):
        return grpc.StatusCode.INVALID_ARGUMENT
    return grpc.StatusCode.INTERNAL


def typed(error: Exception, where: str, request_context: RequestContext | None = None,
          ) -> MinicantonError:
    """`error` itself if typed; else an `UnexpectedError`, after logging the trace."""
    if isinstance(error, MinicantonError):
        return error
    incident = uuid.uuid4().hex[:16]
    log.error("unexpected error in %s (incident %s, context %s)", where, incident,
              dict(request_context or {}), exc_info=error)
    return UnexpectedError(incident)


async def abort_with(context: grpc.aio.ServicerContext, error: MinicantonError,
                     request_context: RequestContext | None = None) -> None:
    """The domain services' rendering: ``ERROR_ID: message`` and the ``error-id`` trailer."""
    context.set_trailing_metadata(((ERROR_ID_KEY, error.error_id),))
    await context.abort(status_of(error), f"{error.error_id}: {error.message}")


def error_id_of(error: grpc.aio.AioRpcError) -> str | None:
    for key, value in error.trailing_metadata() or ():
        if key == ERROR_ID_KEY:
            return str(value)
    details = error.details() or ""
    head, sep, _ = details.partition(":")
    return head if sep and head.isupper() else None


async def run_typed(context: grpc.aio.ServicerContext, name: str,
                    call: Callable[[], Awaitable[R]], *, abort: Abort = abort_with,
                    request_context: Callable[[], RequestContext] | None = None) -> R:
    """`call`'s result, or the call ended with the status of what it raised.
    `request_context()` (asked only on failure) names the request in the log and to `abort`."""
    try:
        return await call()
    except _PASS_THROUGH:
        raise
    except Exception as error:
        await _abort_typed(context, name, error, abort, request_context)
        raise AssertionError("unreachable: abort raises") from error


async def stream_typed(context: grpc.aio.ServicerContext, name: str, items: AsyncIterator[R],
                       *, abort: Abort = abort_with,
                       request_context: Callable[[], RequestContext] | None = None,
                       ) -> AsyncIterator[R]:
    """`items` passed on; what producing them raises ends the stream as `run_typed` would."""
    try:
        async for item in items:
            yield item
    except _PASS_THROUGH:
        raise
    except Exception as error:
        await _abort_typed(context, name, error, abort, request_context)


async def _abort_typed(context: grpc.aio.ServicerContext, name: str, error: Exception,
                       abort: Abort, request_context: Callable[[], RequestContext] | None,
                       ) -> None:
    facts = _facts(request_context)
    await abort(context, typed(error, name, facts), facts)


def _facts(request_context: Callable[[], RequestContext] | None) -> RequestContext:
    if request_context is None:
        return {}
    try:
        return request_context()
    except Exception:  # a malformed request must not hide the error being reported
        return {}


def typed_unary(handler: Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[R]],
                name: str, *, abort: Abort = abort_with,
                request_context_of: Callable[[Any], RequestContext] | None = None,
                ) -> Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[R]]:
    """A unary handler `(self, request, context)` run as `run_typed` runs a call, in one
    coroutine and without a closure per call (this wraps every unary call of every server);
    `request_context_of(request)` (asked only on failure) is `run_typed`'s request context."""
    async def wrapped(self: Any, request: Any, context: grpc.aio.ServicerContext) -> R:
        try:
            return await handler(self, request, context)
        except _PASS_THROUGH:
            raise
        except Exception as error:
            facts = (None if request_context_of is None
                     else lambda: request_context_of(request))
            await _abort_typed(context, name, error, abort, facts)
            raise AssertionError("unreachable: abort raises") from error
    return wrapped


def typed_rpc(handler: Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[R]],
              ) -> Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[R]]:
    """A unary handler `(self, request, context)` run through the boundary (`typed_unary`)."""
    wrapped = typed_unary(handler, handler.__name__)
    wrapped.__name__ = handler.__name__
    return wrapped


def bearer_matches(metadata: Iterable[tuple[str, str | bytes]] | None,
                   expected_token: str) -> bool:
    """Whether the call carries `authorization: Bearer <expected_token>`, compared in
    constant time."""
    expected = f"Bearer {expected_token}".encode()
    return any(key == "authorization" and isinstance(value, str)
               and hmac.compare_digest(value.encode(), expected)
               for key, value in metadata or ())
