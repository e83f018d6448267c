"""``/v1/packages``: list, download and upload packages (minicanton's archives play the DAR)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from minicanton.codec.package_archive import MAX_ARCHIVE_BYTES
from minicanton.core.errors import InvalidArgument
from minicanton.json_api.caller import Caller
from minicanton.json_api.envelope import ok
from minicanton.json_api.routes.common import Authenticated, Services, new_router, read_limited
from minicanton.json_api.services import JsonApiServices

router = new_router("packages")
_PACKAGE_ID = re.compile(r"[0-9a-f]{64}")

_UPLOAD_BODY = {"requestBody": {"required": True, "content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}
_DOWNLOAD: dict[int | str, dict[str, Any]] = {200: {"content": {"application/octet-stream": {
    "schema": {"type": "string", "format": "binary"}}}, "description": "the package source"}}


@router.get("/v1/packages", summary="The ids of every package on the participant")
async def package_ids(caller: Caller = Authenticated,
                      services: JsonApiServices = Services) -> JSONResponse:
    return ok(sorted(await services.bound(caller).package_ids()))


@router.get("/v1/packages/{package_id}", summary="Download one package", responses=_DOWNLOAD)
async def download(package_id: str, caller: Caller = Authenticated,
                   services: JsonApiServices = Services) -> Response:
    if not _PACKAGE_ID.fullmatch(package_id):
        raise InvalidArgument(f"{package_id[:80]!r} is not a package id (64 hex digits)")
    source = await services.bound(caller).package_source(package_id)
    if source is None:
        raise HTTPException(404, f"package {package_id} is not known to the participant")
    return Response(source, media_type="application/octet-stream")


@router.post("/v1/packages", summary="Upload a package archive", openapi_extra=_UPLOAD_BODY)
async def upload(request: Request, caller: Caller = Authenticated,
                 services: JsonApiServices = Services) -> JSONResponse:
    archive = await read_limited(request, MAX_ARCHIVE_BYTES)
    if not archive:
        raise InvalidArgument("the request body must hold the package archive")
    await services.bound(caller).upload(archive, uuid.uuid4().hex)
    services.types.refresh()  # our own upload is visible at once
    return ok(1)
