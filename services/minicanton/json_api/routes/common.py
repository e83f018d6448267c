"""What the routes share: the request class (exact numbers, bounded bodies), the route class
that installs it and reads every body as JSON whatever its Content-Type, the dependencies
(services, the authenticated caller) and template lookup."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Iterable
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request, Response, Security
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException
from starlette.types import Scope

from minicanton.core.errors import InvalidArgument
from minicanton.core.lf.package import AmbiguousTemplate, TemplateNotFound
from minicanton.json_api.caller import Caller
from minicanton.json_api.envelope import UnknownTemplates
from minicanton.json_api.services import JsonApiServices
from minicanton.json_api.translate import Translator
from minicanton.json_api.type_cache import TemplateTypes


def _refuse_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not JSON", name, 0)


class JsonApiRequest(Request):
    """A request whose body is size-limited and whose JSON keeps numbers exact."""

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            self._body = await read_limited(self, self.app.state.services.config.max_request_bytes)
        return self._body

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = json.loads(body, parse_float=Decimal,
                                        parse_constant=_refuse_constant)
            except RecursionError:
                raise json.JSONDecodeError("the JSON nests too deeply", "", 0) from None
            except UnicodeDecodeError:
                raise json.JSONDecodeError("the body is not UTF-8", "", 0) from None
        return self._json


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the request body is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"the request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


_JSON_CONTENT_TYPE = (b"content-type", b"application/json")


def as_json_body(scope: Scope) -> Scope:
    """`scope` with its body declared JSON. Daml's JSON API reads a request body as JSON
    whatever its Content-Type (``curl -d`` sends application/x-www-form-urlencoded), so the
    route's body model must not depend on the header either; malformed JSON is still a 400."""
    headers = [(name, value) for name, value in scope["headers"] if name != b"content-type"]
    return {**scope, "headers": [*headers, _JSON_CONTENT_TYPE]}


class JsonApiRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        reads_json = self.body_field is not None  # not the package upload's raw bytes

        async def with_exact_json(request: Request) -> Response:
            scope = as_json_body(request.scope) if reads_json else request.scope
            return await handler(JsonApiRequest(scope, request.receive))

        return with_exact_json


def new_router(tag: str) -> APIRouter:
    return APIRouter(route_class=JsonApiRoute, tags=[tag])


def services_of(request: Request) -> JsonApiServices:
    services: JsonApiServices = request.app.state.services
    return services


_bearer = HTTPBearer(auto_error=False, description="A Daml Ledger API JWT (custom claims or "
                     "user token), forwarded to the participant.")


async def authenticated(request: Request,
                        _: HTTPAuthorizationCredentials | None = Security(_bearer)) -> Caller:
    """The caller, from ``Authorization: Bearer <JWT>``; 401 without a valid token."""
    return await services_of(request).authenticator.caller(request.headers.get("authorization"))


Services = Depends(services_of)
Authenticated = Depends(authenticated)


async def template_types(translator: Translator, reference: str) -> TemplateTypes:
    """The template a request names, or a 400 saying which id did not resolve."""
    try:
        identifier = await translator.cache.resolve(reference, translator.source)
        return await translator.cache.template(identifier, translator.source)
    except (TemplateNotFound, AmbiguousTemplate) as error:
        raise UnknownTemplates(f"Cannot resolve template ID {reference!r}: {error.message}",
                               [reference]) from None


async def resolve_all(translator: Translator, references: Iterable[str]
                      ) -> tuple[list[TemplateTypes], list[str]]:
    """The templates that resolve, and the ids that do not (Daml's unknownTemplateIds)."""
    found: dict[str, TemplateTypes] = {}
    unknown: list[str] = []
    for reference in references:
        try:
            types = await template_types(translator, reference)
        except (UnknownTemplates, InvalidArgument):
            unknown.append(reference)
            continue
        found[str(types.identifier)] = types
    if not found:
        raise UnknownTemplates("Cannot resolve any template ID from request", unknown)
    return list(found.values()), unknown
