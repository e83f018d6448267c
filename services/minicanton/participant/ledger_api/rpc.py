"""What every Ledger API servicer shares: authenticating the caller and the error boundary.

Each RPC is decorated with `unary` or `stream`: the handler runs through the error boundary
every gRPC server shares (`runtime.grpc_errors.typed_unary` / `stream_typed`: one mapping from
errors to status codes; an untyped exception is INTERNAL, its trace logged, never sent), and
`errors.abort_with_error` renders the status as Daml does (google.rpc.Status details). Each
handler's first line authenticates the call with `LedgerApiService.claims` and then states the
check its RPC needs (`check_read_as`, `check_act_as`, `check_admin`, ...): the authorization
of an RPC reads where the RPC is written.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import grpc

from minicanton.participant.ledger_api.backend import LedgerApiBackend
from minicanton.participant.ledger_api.errors import LedgerApiError, abort_with_error
from minicanton.runtime.auth import AuthorizedClaims, LedgerApiAuthenticator
from minicanton.runtime.grpc_errors import stream_typed, typed_unary

Request = TypeVar("Request")
Response = TypeVar("Response")
ContextOf = Callable[[Any], Mapping[str, str]]


class LedgerApiService:
    """Base of the servicers: the backend and the authenticator."""

    def __init__(self, backend: LedgerApiBackend, authenticator: LedgerApiAuthenticator
                 ) -> None:
        self.backend = backend
        self.authenticator = authenticator

    async def claims(self, context: grpc.aio.ServicerContext) -> AuthorizedClaims:
        """The verified claims of the caller's bearer token (UNAUTHENTICATED if none)."""
        authorization = None
        for key, value in context.invocation_metadata() or ():
            if key == "authorization":
                authorization = value if isinstance(value, str) else value.decode("latin-1")
        return await self.authenticator.authenticate(authorization)

    async def admin_claims(self, context: grpc.aio.ServicerContext) -> AuthorizedClaims:
        claims = await self.claims(context)
        claims.check_admin()
        return claims

    def check_ledger_id(self, ledger_id: str) -> None:
        """An empty ledger id is fine (Daml made it optional); another ledger's is not."""
        if ledger_id and ledger_id != self.backend.ledger_id:
            raise LedgerApiError(
                "LEDGER_ID_MISMATCH",
                f"ledger id {ledger_id!r} does not match this participant's ledger id",
                expected_ledger_id=self.backend.ledger_id, received_ledger_id=ledger_id,
            )


def unary(context_of: ContextOf | None = None) -> Callable[
    [Callable[[Any, Request, grpc.aio.ServicerContext], Awaitable[Response]]],
    Callable[[Any, Request, grpc.aio.ServicerContext], Awaitable[Response]],
]:
    """Map whatever a unary handler raises to its status; `context_of(request)` adds request
    context (e.g. the command id) to the error details."""

    def decorate(handler: Callable[[Any, Request, grpc.aio.ServicerContext],
                                   Awaitable[Response]]
                 ) -> Callable[[Any, Request, grpc.aio.ServicerContext], Awaitable[Response]]:
        wrapper = typed_unary(handler, _where(handler), abort=abort_with_error,
                              request_context_of=context_of)
        return functools.wraps(handler)(wrapper)

    return decorate


def stream(handler: Callable[[Any, Request, grpc.aio.ServicerContext], AsyncIterator[Response]]
           ) -> Callable[[Any, Request, grpc.aio.ServicerContext], AsyncIterator[Response]]:
    """The same boundary for server-streaming handlers (async generators)."""

    @functools.wraps(handler)  # an async generator itself: grpc.aio tells streams that way
    async def wrapper(self: Any, request: Request,
                      context: grpc.aio.ServicerContext) -> AsyncIterator[Response]:
        async for item in stream_typed(context, _where(handler),
                                       handler(self, request, context), abort=abort_with_error):
            yield item

    return wrapper


def _where(handler: Callable[..., Any]) -> str:
    return f"Ledger API {handler.__qualname__}"
