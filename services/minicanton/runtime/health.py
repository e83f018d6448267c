"""Health for load balancers and clients: gRPC health checking and HTTP /livez, /readyz.

`HealthState` is the one source: a process sets `ready` (and a reason when not) as it goes
through start, online, degraded and shutdown; the gRPC health servicer and the tiny HTTP
responder both read it. /livez answers 200 while the process runs; /readyz 200 only when ready,
else 503 with the reason. The HTTP side is a few lines of asyncio, not a web framework: it
must stay up when everything else is busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from grpc_health.v1 import health, health_pb2

OVERALL = ""


class HealthState:
    def __init__(self, services: tuple[str, ...] = ()) -> None:
        self.ready = False
        self.reason = "starting"
        self.servicer = health.aio.HealthServicer()
        self._services = (OVERALL, *services)

    async def set_ready(self, ready: bool, reason: str = "") -> None:
        self.ready, self.reason = ready, ("" if ready else reason or "not ready")
        status = (health_pb2.HealthCheckResponse.SERVING if ready
                  else health_pb2.HealthCheckResponse.NOT_SERVING)
        for service in self._services:
            await self.servicer.set(service, status)

    async def shutting_down(self) -> None:
        self.ready, self.reason = False, "shutting down"
        await self.servicer.enter_graceful_shutdown()


def _response(status: int, body: dict[str, object]) -> bytes:
    payload = json.dumps(body).encode()
    phrase = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
    return (f"HTTP/1.1 {status} {phrase}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n").encode() + payload


def _answer(state: HealthState, path: str) -> bytes:
    if path == "/livez":
        return _response(200, {"status": "live"})
    if path == "/readyz":
        if state.ready:
            return _response(200, {"status": "ready"})
        return _response(503, {"status": "not ready", "reason": state.reason})
    return _response(404, {"error": "not found"})


async def serve_http_health(state: HealthState, host: str, port: int) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            request_line = await asyncio.wait_for(reader.readline(), timeout=5)
            parts = request_line.decode("latin-1").split()
            path = parts[1].split("?")[0] if len(parts) >= 2 else "/"
            writer.write(_answer(state, path))
            await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, host, port)
