"""Typed errors across gRPC, both ways, at the boundary only; and the admin-token check.

Servers run each call through `run_typed` (or decorate handlers with `typed_rpc`) and abort
with the status a `MinicantonError` names (`grpc_status` attribute, else
INVALID_ARGUMENT for `InvalidArgument`, else INTERNAL) and put its `error_id` in the trailing
metadata key ``error-id`` and at the front of the details (``ERROR_ID: message``), as Daml's
error codes appear. Clients read it back with `error_id_of`.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import grpc

from minicanton.core.errors import InvalidArgument, MinicantonError

log = logging.getLogger(__name__)
ERROR_ID_KEY = "error-id"
R = TypeVar("R")


def status_of(error: MinicantonError) -> grpc.StatusCode:
    name = getattr(error, "grpc_status", None)
    if isinstance(name, str) and hasattr(grpc.StatusCode, name):
        return getattr(grpc.StatusCode, name)  # type: ignore[no-any-return]
    if isinstance(error, InvalidArgument):
        return grpc.StatusCode.INVALID_ARGUMENT
    return grpc.StatusCode.INTERNAL


async def abort_with(context: grpc.aio.ServicerContext, error: MinicantonError) -> None:
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
                    call: Callable[[], Awaitable[R]]) -> R:
    """`call`'s result; a typed error becomes its status, anything else INTERNAL, logged
    here with its trace and never sent to the caller."""
    try:
        return await call()
    except MinicantonError as error:
        await abort_with(context, error)
    except Exception:
        log.exception("unexpected error in %s", name)
        await context.abort(grpc.StatusCode.INTERNAL, "internal error")
    raise AssertionError("unreachable: abort raises")


def typed_rpc(handler: Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[R]],
              ) -> Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[R]]:
    """A unary handler `(self, request, context)` run through `run_typed`."""
    async def wrapped(self: Any, request: Any, context: grpc.aio.ServicerContext) -> R:
        return await run_typed(context, handler.__name__,
                               lambda: handler(self, request, context))
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
