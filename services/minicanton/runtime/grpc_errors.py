"""Typed errors across gRPC, both ways, at the boundary only.

Servers abort with the status a `MinicantonError` names (`grpc_status` attribute, else
INVALID_ARGUMENT for `InvalidArgument`, else INTERNAL) and put its `error_id` in the trailing
metadata key ``error-id`` and at the front of the details (``ERROR_ID: message``), as Daml's
error codes appear. Clients read it back with `error_id_of`.
"""

from __future__ import annotations

import grpc

from minicanton.core.errors import InvalidArgument, MinicantonError

ERROR_ID_KEY = "error-id"


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
