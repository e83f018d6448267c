"""A JSON API in front of the participant's real Ledger API server (H10's integration
harness: the gRPC server on the real participant store; commands interpreted by the real
engine and committed by the test's commit path), with or without a query store."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from tests.integration.json_api.harness import config, running
from tests.integration.ledger_api.harness import (
    LEDGER_ID,
    PARTICIPANT_ID,
    SECRET,
    Harness,
    ledger_api,
)

from minicanton.json_api.server import JsonApiServer
from minicanton.runtime.auth import mint_dev_token
from minicanton.runtime.embedded_postgres import EmbeddedPostgres

APPLICATION_ID = "json-api-e2e"


def ledger_token(*act_as: str, read_as: tuple[str, ...] = (), admin: bool = False,
                 expires_in_s: int = 3600) -> str:
    return mint_dev_token(SECRET, act_as, read_as, admin=admin, application_id=APPLICATION_ID,
                          participant_id=PARTICIPANT_ID, expires_in_s=expires_in_s)


def auth(*act_as: str, read_as: tuple[str, ...] = (), admin: bool = False) -> dict[str, str]:
    return {"Authorization": f"Bearer {ledger_token(*act_as, read_as=read_as, admin=admin)}"}


@dataclass
class Stack:
    ledger: Harness
    server: JsonApiServer
    http: httpx.AsyncClient

    async def post(self, path: str, body: object, headers: dict[str, str]) -> httpx.Response:
        return await self.http.post(path, json=body, headers=headers)

    async def ok(self, path: str, body: object, headers: dict[str, str]) -> object:
        response = await self.post(path, body, headers)
        assert response.status_code == 200, response.text
        payload = response.json()
        assert payload["status"] == 200
        return payload["result"]


@contextlib.asynccontextmanager
async def json_api_stack(postgres: EmbeddedPostgres, dsn: str, *, with_store: bool,
                         **overrides: object) -> AsyncIterator[Stack]:
    store_dsn = postgres.create_database(f"{dsn.rsplit('/', 1)[1]}_qs") if with_store else None
    async with ledger_api(dsn, poll_interval_s=0.2) as harness:
        settings = config(f"127.0.0.1:{harness.server.port}", participant_id=PARTICIPANT_ID,
                          store_dsn=store_dsn, auth={"hs256_secret": SECRET},
                          ledger_id=LEDGER_ID, **overrides)
        async with running(settings) as server, httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{server.port}", timeout=60) as http:
            yield Stack(harness, server, http)
