"""The FastAPI application: routes, exact JSON numbers, body limits, and error envelopes.

Request bodies are read as JSON whatever their Content-Type (as Daml's JSON API reads them),
parsed with ``parse_float=Decimal`` (a Numeric never passes through a float) and bounded by
`max_request_bytes`; every error of every route, including unknown
paths, wrong methods, malformed JSON and failed validation, is answered with Daml's error
envelope by the handlers installed here. OpenAPI is served at ``/openapi.json`` and
``/docs``; the WebSocket streams are in `streams.py`.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from minicanton.core.errors import MinicantonError
from minicanton.json_api.envelope import error_response
from minicanton.json_api.routes import ROUTERS
from minicanton.json_api.services import JsonApiServices


async def _on_error(request: Request, error: Exception) -> Response:
    return error_response(error)


def create_app(services: JsonApiServices) -> FastAPI:
    app = FastAPI(
        title="minicanton HTTP JSON API", version="1.0",
        description="Daml's HTTP JSON API v1 over one participant's Ledger API.",
        docs_url="/docs", redoc_url=None, openapi_url="/openapi.json",
    )
    app.state.services = services
    for router in ROUTERS:
        app.include_router(router)
    for kind in (Exception, HTTPException, RequestValidationError, MinicantonError):
        app.add_exception_handler(kind, _on_error)
    return app
