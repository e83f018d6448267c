"""Wiring one JSON API process: ledger client, participant id, query store, app, uvicorn.

`JsonApiServer.start()` connects to the participant (learning its id from the configuration
or, with an admin access token, from the participant itself, retrying while it starts),
opens the query store if configured, and serves HTTP until `stop()`. The bound port goes to
the ready file once requests are being accepted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time

import uvicorn

from minicanton.core.errors import MinicantonError
from minicanton.json_api.app import create_app
from minicanton.json_api.caller import Authenticator
from minicanton.json_api.config import JsonApiConfig
from minicanton.json_api.ledger_client import LedgerClient, LedgerError
from minicanton.json_api.query_store.store import PostgresQueryStore
from minicanton.json_api.services import JsonApiServices
from minicanton.json_api.type_cache import TypeCache
from minicanton.runtime.process import write_ready_file
from minicanton.runtime.retry import Backoff
from minicanton.runtime.transport import warn_if_exposed

log = logging.getLogger("minicanton.json_api")
PARTICIPANT_WAIT_S = 60.0


class StartError(MinicantonError):
    error_id = "JSON_API_START_FAILED"


async def participant_id_of(config: JsonApiConfig, ledger: LedgerClient,
                            token: str | None) -> str:
    if config.participant_id is not None:
        return config.participant_id
    if token is None:
        raise StartError("no participant_id and no access token to ask the participant for it")
    deadline = time.monotonic() + PARTICIPANT_WAIT_S
    backoff = Backoff(initial_ms=100, max_ms=2_000)
    for attempt in range(10_000):
        try:
            return await ledger.bound(token).participant_id()
        except LedgerError as error:
            if error.message and time.monotonic() > deadline:
                raise StartError(f"cannot learn the participant id: {error.message}") from None
        await backoff.sleep(attempt)
    raise StartError("cannot learn the participant id")


class JsonApiServer:
    def __init__(self, config: JsonApiConfig) -> None:
        self.config = config
        self.services: JsonApiServices | None = None
        self.port: int | None = None
        self.stopped = asyncio.Event()  # set when the HTTP server ends by itself
        self.exit_code = 0
        self._server: uvicorn.Server | None = None
        self._serving: asyncio.Task[None] | None = None

    async def start(self) -> None:
        config = self.config
        ledger = LedgerClient(config.ledger_api, config.ledger_id,
                              timeout_s=config.ledger_timeout_s,
                              command_timeout_s=config.command_timeout_s)
        token = config.access_token()
        store = None
        try:
            participant_id = await participant_id_of(config, ledger, token)
            if config.query_store is not None:
                store = await PostgresQueryStore.open(config.query_store.dsn, participant_id,
                                                      config.query_store.pool_size)
        except BaseException:
            await ledger.close()
            raise
        caches = config.type_cache
        self.services = JsonApiServices(
            config=config, ledger=ledger,
            types=TypeCache(schema_capacity_bytes=caches.schema_capacity_bytes,
                            resolution_ttl_s=caches.resolution_ttl_s,
                            max_resolutions=caches.max_resolutions),
            store=store,
            authenticator=Authenticator(config.auth.auth_config(participant_id, config.ledger_id),
                                        ledger),
            internal_token=token)
        await self._serve()

    async def _serve(self) -> None:
        assert self.services is not None
        warn_if_exposed(self.config.http.host, "the JSON API")
        uvicorn_config = uvicorn.Config(
            create_app(self.services), host=self.config.http.host, port=self.config.http.port,
            log_config=None, access_log=False, lifespan="off", ws="auto",
            ws_max_size=1 << 20, timeout_graceful_shutdown=5)
        self._server = uvicorn.Server(uvicorn_config)
        self._serving = asyncio.ensure_future(self._server.serve())
        self._serving.add_done_callback(self._on_served)
        while not self._server.started:
            if self._serving.done():
                self._serving.result()
                raise StartError("the HTTP server stopped while starting")
            await asyncio.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        log.info("JSON API on http://%s:%d for %s", self.config.http.host, self.port,
                 self.config.ledger_api)
        self._write_ready_file()

    def _write_ready_file(self) -> None:
        write_ready_file(self.config.ready_file, {
            "port": self.port, "pid": os.getpid(),
            "url": f"http://{self.config.http.host}:{self.port}"})

    def _on_served(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is not None:
            self.exit_code = 1
        self.stopped.set()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._serving is not None:
            await asyncio.gather(self._serving, return_exceptions=True)
        if self.services is not None:
            if self.services.store is not None:
                await self.services.store.close()
            await self.services.ledger.close()
