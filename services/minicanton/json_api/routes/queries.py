"""``/v1/query`` (GET and POST), ``/v1/fetch`` and ``/v1/refresh/cache``.

Reads go through the query store when there is one (after catching it up to the ledger end
with the caller's token), else straight to the active contract set. Either way a contract is
only returned to readers among its stakeholders, and readers must be the token's parties.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi.responses import JSONResponse

from minicanton.json_api.caller import Caller
from minicanton.json_api.contracts import ActiveContract
from minicanton.json_api.envelope import ok
from minicanton.json_api.query_language import Query, compile_query, json_equal, matches
from minicanton.json_api.query_store.catch_up import read_current
from minicanton.json_api.requests import FetchRequest, QueryRequest
from minicanton.json_api.routes.common import (
    Authenticated,
    Services,
    new_router,
    resolve_all,
    template_types,
)
from minicanton.json_api.services import JsonApiServices
from minicanton.json_api.translate import canonical_key

router = new_router("queries")


def _visible(contracts: Iterable[ActiveContract], readers: frozenset[str]) -> list[ActiveContract]:
    return [c for c in contracts if c.stakeholders & readers]


async def search(services: JsonApiServices, caller: Caller, readers: frozenset[str],
                 queries: list[Query]) -> list[ActiveContract]:
    """The active contracts `readers` see that match one of `queries`."""
    templates = frozenset(q.template for q in queries)
    reader = services.reader(caller)
    store = services.store
    if store is not None:
        found = await read_current(store, reader, readers, templates,
                                   lambda end: store.query(readers, queries, end))
        return _visible(found, readers)
    by_template = {q.template: q for q in queries}
    snapshot = await reader.active_contracts(readers, templates)
    return [c for c in _visible(snapshot.contracts, readers)
            if c.template_id in by_template and matches(by_template[c.template_id], c.payload)]


@router.get("/v1/query", summary="Every active contract the token's parties see")
async def query_all(caller: Caller = Authenticated,
                    services: JsonApiServices = Services) -> JSONResponse:
    readers = caller.readers(None)
    snapshot = await services.reader(caller).active_contracts(readers, None)
    return ok([c.to_json() for c in _visible(snapshot.contracts, readers)])


@router.post("/v1/query", summary="Active contracts of the given templates matching a query")
async def query(body: QueryRequest, caller: Caller = Authenticated,
                services: JsonApiServices = Services) -> JSONResponse:
    readers = caller.readers(body.readers)
    resolved, unknown = await resolve_all(services.translator(caller), body.templateIds)
    queries = [compile_query(body.query, t.identifier, t.environment) for t in resolved]
    found = await search(services, caller, readers, queries)
    return ok([c.to_json() for c in found],
              {"unknownTemplateIds": unknown} if unknown else None)


@router.post("/v1/fetch", summary="One active contract by id or by key (null when absent)")
async def fetch(body: FetchRequest, caller: Caller = Authenticated,
                services: JsonApiServices = Services) -> JSONResponse:
    readers = caller.readers(body.readers)
    found = (await _fetch_by_key(services, caller, readers, body) if body.key is not None
             else await _fetch_by_id(services, caller, readers, body))
    return ok(found.to_json() if found is not None else None)


async def _fetch_by_key(services: JsonApiServices, caller: Caller, readers: frozenset[str],
                        body: FetchRequest) -> ActiveContract | None:
    assert body.templateId is not None
    types = await template_types(services.translator(caller), body.templateId)
    key = canonical_key(types, body.key)
    reader = services.reader(caller)
    store = services.store
    if store is not None:
        found = await read_current(
            store, reader, readers, [types.identifier],
            lambda end: store.fetch_by_key(readers, types.identifier, key, end))
        return found if found is not None and found.stakeholders & readers else None
    snapshot = await reader.active_contracts(readers, frozenset({types.identifier}))
    return next((c for c in _visible(snapshot.contracts, readers)
                 if c.template_id == types.identifier and json_equal(c.key, key)), None)


async def _fetch_by_id(services: JsonApiServices, caller: Caller, readers: frozenset[str],
                       body: FetchRequest) -> ActiveContract | None:
    assert body.contractId is not None
    reader = services.reader(caller)
    templates = None
    if body.templateId is not None:
        types = await template_types(services.translator(caller), body.templateId)
        templates = frozenset({types.identifier})
        store, contract_id = services.store, body.contractId
        if store is not None:
            found = await read_current(
                store, reader, readers, templates,
                lambda end: store.fetch_by_id(readers, templates, contract_id, end))
            return found if found is not None and found.stakeholders & readers else None
    snapshot = await reader.active_contracts(readers, templates)
    return next((c for c in _visible(snapshot.contracts, readers)
                 if c.contract_id == body.contractId), None)


@router.post("/v1/refresh/cache", summary="Forget cached template resolutions now")
async def refresh_cache(caller: Caller = Authenticated,
                        services: JsonApiServices = Services) -> JSONResponse:
    services.types.refresh()
    return ok({})
