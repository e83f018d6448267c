"""``/livez`` (the process runs) and ``/readyz`` (the ledger and, if any, the query store
answer), unauthenticated, for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, PlainTextResponse

from minicanton.json_api.routes.common import new_router, services_of

router = new_router("health")


@router.get("/livez", summary="Liveness")
async def livez() -> JSONResponse:
    return JSONResponse({"status": "pass"})


@router.get("/readyz", summary="Readiness: the ledger and the query store answer",
            response_class=PlainTextResponse, responses={503: {"description": "not ready"}})
async def readyz(request: Request) -> PlainTextResponse:
    services = services_of(request)
    checks = [("ledger", await services.ledger.serving())]
    if services.store is not None:
        checks.append(("database", await services.store.healthy()))
    lines = [f"[{'+' if good else '-'}] {name} {'ok' if good else 'failed'}"
             for name, good in checks]
    ready = all(good for _, good in checks)
    lines.append(f"readyz check {'passed' if ready else 'failed'}")
    return PlainTextResponse("\n".join(lines) + "\n", status_code=200 if ready else 503)
