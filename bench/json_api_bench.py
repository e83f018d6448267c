"""The HTTP JSON API on a real local network (2 sequencers, topology manager, mediator, four
participants), with its own `python -m minicanton.json_api` process and query store.

(a) ``/v1/create`` requests/s (Iou issued by Bank on `bank`, owned by Alice on `alice`)
    through Bank's JSON API, against the same creates straight through the gRPC Ledger API,
    at the same concurrency: the ratio is the JSON API's overhead on the whole path.
(b) ``/v1/query`` latency p50/p99 with 10,000 and then 100,000 active Ious in the query store:
    an equality that selects one contract (answered through the GIN index) and a Numeric
    range that selects ten (a scan of the template's rows). The store is filled directly
    with synthetic Ious (creating 100,000 through the protocol would take most of an hour at
    this machine's rate); each query still reads the ledger end with the caller's token
    before SQL, as every query does.

The HTTP load client is a bare asyncio HTTP/1.1 client on keep-alive connections sending
one pre-encoded request (the JSON API picks a fresh command id per request): a few tens of
µs of CPU per request, reported, so the client is not what is measured (httpx would cost
2.5-3 ms per request, DESIGN.md §8). The gRPC client is grpc.aio (~0.3 ms per call).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.common import BenchContext, Figure, percentile
from minicanton.cli.ledger_client import LedgerClient, create_command
from minicanton.cli.localnet import launcher
from minicanton.cli.localnet.bootstrap import bootstrap_dvp
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.value import NumericValue, PartyValue, TextValue
from minicanton.core.protocol.offsets import Offset
from minicanton.json_api.contracts import NO_KEY, ActiveContract
from minicanton.json_api.query_store.store import OffsetStep, PostgresQueryStore, StoreUpdate
from minicanton.runtime.auth import mint_dev_token
from minicanton.runtime.ports import free_port

SECTION = "json api"
CONCURRENCY = 8
DURATION_S = 6.0
ROUNDS = 2
STORE_SIZES = (10_000, 100_000)
FILL_BATCH = 5_000
QUERY_SAMPLES = 200


class RawHttp:
    """One keep-alive HTTP/1.1 connection, just enough for JSON responses with a length."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        try:
            return await self._request(raw)
        except (asyncio.IncompleteReadError, ConnectionError):
            self.close()  # the server closed an idle keep-alive connection: once more
            return await self._request(raw)

    async def _request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return int(head[9:12]), await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def post(path: str, body: object, token: str) -> bytes:
    payload = json.dumps(body).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
            ).encode() + payload


def start_json_api(network: dict[str, Any], participant: str, store_dsn: str,
                   directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    node = network["participants"][participant]
    port, ready = free_port(), directory / f"{participant}-json-api.ready"
    config = {"ledger_api": node["ledger_api"], "participant_id": node["participant_id"],
              "http": {"port": port}, "auth": {"hs256_secret": network["auth"]["hs256_secret"]},
              "query_store": {"dsn": store_dsn}, "ready_file": str(ready), "log_json": False,
              "log_level": "WARNING"}
    path = directory / f"{participant}-json-api.json"
    path.write_text(json.dumps(config))
    log = (directory / f"{participant}-json-api.log").open("ab")
    process = subprocess.Popen([sys.executable, "-m", "minicanton.json_api", "--config",
                                str(path)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the JSON API did not start (see {directory})")
        time.sleep(0.05)
    return process, port


async def _rate(call: Any, concurrency: int) -> tuple[float, list[float], float]:
    """Calls/s, latencies, and the client's CPU per call (s)."""
    latencies: list[float] = []
    deadline = time.perf_counter() + DURATION_S

    async def worker(index: int) -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            await call(index)
            latencies.append(time.perf_counter() - start)

    cpu, start = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - start
    return len(latencies) / elapsed, latencies, (time.process_time() - cpu) / len(latencies)


async def bench_creates(context: BenchContext, network: dict[str, Any], port: int,
                        pid: int) -> None:
    bank, alice = (network["parties"][h]["party"] for h in ("Bank", "Alice"))
    token = mint_dev_token(network["auth"]["hs256_secret"], act_as=[bank],
                           application_id="bench")
    raw = post("/v1/create", {"templateId": "dvp:Iou", "payload": {
        "issuer": bank, "owner": alice, "amount": "100", "currency": "USD"}}, token)
    connections = [RawHttp(port) for _ in range(CONCURRENCY)]

    async def over_http(index: int) -> None:
        status, body = await connections[index].request(raw)
        assert status == 200, body[:300]

    grpc_client = LedgerClient(network["participants"]["bank"]["ledger_api"], "bench")
    command = create_command("dvp", "Iou", issuer=PartyValue(bank), owner=PartyValue(alice),
                             amount=NumericValue(Decimal(100)), currency=TextValue("USD"))

    async def over_grpc(index: int) -> None:
        await grpc_client.submit_and_wait(token, [bank], [command])

    rounds: dict[str, list[tuple[float, list[float], float, float]]] = {"http": [], "grpc": []}
    try:
        await over_http(0)  # warm: template resolution, connections
        for _ in range(ROUNDS):  # interleaved, so a busy moment of the machine hits both
            for name, call in (("http", over_http), ("grpc", over_grpc)):
                server_cpu = cpu_seconds(pid)
                rate, latencies, client_cpu = await _rate(call, CONCURRENCY)
                rounds[name].append((rate, latencies, client_cpu,
                                     (cpu_seconds(pid) - server_cpu) / max(1, len(latencies))))
    finally:
        for connection in connections:
            connection.close()
        await grpc_client.close()
    _report_creates(context, rounds)


def _report_creates(context: BenchContext,
                    rounds: dict[str, list[tuple[float, list[float], float, float]]]) -> None:
    rates = {name: sum(r[0] for r in runs) / len(runs) for name, runs in rounds.items()}
    for name, label in (("http", "/v1/create through the JSON API"),
                        ("grpc", "the same creates straight through gRPC")):
        latencies = [x for run in rounds[name] for x in run[1]]
        client_us = sum(r[2] for r in rounds[name]) / len(rounds[name]) * 1e6
        context.add(Figure(SECTION, f"(a) {label}, concurrency {CONCURRENCY}", rates[name],
                           "req/s", f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, p99 "
                           f"{percentile(latencies, 0.99) * 1000:.1f} ms, client CPU "
                           f"{client_us:.0f} µs/req"))
    context.add(Figure(SECTION, "(a) JSON API create rate / gRPC create rate",
                       rates["http"] / rates["grpc"] if rates["grpc"] else float("nan"),
                       "ratio", f"mean of {ROUNDS} interleaved rounds each"))
    server_ms = sum(r[3] for r in rounds["http"]) / len(rounds["http"]) * 1000
    context.add(Figure(SECTION, "(a) JSON API process CPU per /v1/create", server_ms, "ms",
                       "what the JSON API adds to a create, whatever the load"))


async def fill_store(store: PostgresQueryStore, template: Identifier, parties: tuple[str, str],
                     offset: Offset, have: int, want: int) -> None:
    bank, alice = parties
    for start in range(have, want, FILL_BATCH):
        contracts = tuple(ActiveContract(
            f"bench-{n:07d}", template, {"issuer": bank, "owner": alice,
                                         "amount": f"{n}.0", "currency": f"C{n % 100:03d}"},
            NO_KEY, (bank,), (alice,)) for n in range(start, min(want, start + FILL_BATCH)))
        steps = (OffsetStep(alice, template, offset, offset),)
        assert await store.apply(StoreUpdate(steps, contracts)), "the store moved meanwhile"


async def _latencies(connection: RawHttp, raw: bytes, samples: int) -> list[float]:
    found: list[float] = []
    for _ in range(samples):
        start = time.perf_counter()
        status, body = await connection.request(raw)
        found.append(time.perf_counter() - start)
        assert status == 200, body[:300]
    return found


async def bench_queries(context: BenchContext, network: dict[str, Any], port: int,
                        pid: int, store_dsn: str) -> None:
    alice = network["parties"]["Alice"]["party"]
    token = mint_dev_token(network["auth"]["hs256_secret"], act_as=[alice], application_id="bench")
    connection = RawHttp(port)
    status, body = await connection.request(post("/v1/query", {"templateIds": ["dvp:Iou"]},
                                                 token))  # creates the (Alice, Iou) pair
    assert status == 200, body[:300]
    template_id = json.loads(body)["result"][0]["templateId"]
    store = await PostgresQueryStore.open(store_dsn,
                                          network["participants"]["alice"]["participant_id"])
    try:
        offsets = await store.offsets([alice], [_identifier(template_id)])
        (offset,) = offsets.values()
        have = 0
        for size in STORE_SIZES:
            await fill_store(store, _identifier(template_id),
                             (network["parties"]["Bank"]["party"], alice), offset, have, size)
            have = size
            await _measure_queries(context, connection, token, size, pid)
    finally:
        await store.close()
        connection.close()


def _identifier(text: str) -> Identifier:
    package_id, module_name, entity_name = text.split(":")
    return Identifier(package_id, module_name, entity_name)


async def _measure_queries(context: BenchContext, connection: RawHttp, token: str,
                           size: int, pid: int) -> None:
    shapes = {"equality, 1 match": {"amount": "4242.0"},
              "Numeric range, 10 matches": {"amount": {"%gte": 5000, "%lt": 5010}}}
    for name, query in shapes.items():
        raw = post("/v1/query", {"templateIds": ["dvp:Iou"], "query": query}, token)
        status, body = await connection.request(raw)
        assert status == 200 and len(json.loads(body)["result"]) in (1, 10), body[:300]
        server_cpu = cpu_seconds(pid)
        latencies = await _latencies(connection, raw, QUERY_SAMPLES)
        cpu_ms = (cpu_seconds(pid) - server_cpu) / QUERY_SAMPLES * 1000
        context.add(Figure(SECTION, f"(b) /v1/query {name}, {size:,} contracts, p50",
                           percentile(latencies, 0.5) * 1000, "ms",
                           f"JSON API CPU {cpu_ms:.2f} ms/query"))
        context.add(Figure(SECTION, f"(b) /v1/query {name}, {size:,} contracts, p99",
                           percentile(latencies, 0.99) * 1000, "ms"))


async def _run(context: BenchContext, network: dict[str, Any], directory: Path) -> None:
    postgres = context.postgres()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        bank, bank_port = _started(processes, start_json_api(
            network, "bank", postgres.create_database("bench_bank_json_api"), directory))
        alice_store = postgres.create_database("bench_alice_json_api")
        alice, alice_port = _started(processes, start_json_api(network, "alice", alice_store,
                                                               directory))
        await bench_creates(context, network, bank_port, bank.pid)
        await bench_queries(context, network, alice_port, alice.pid, alice_store)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)


def _started(processes: list[subprocess.Popen[bytes]],
             started: tuple[subprocess.Popen[bytes], int]) -> tuple[Any, int]:
    processes.append(started[0])
    return started


def run(context: BenchContext) -> None:
    directory = Path(tempfile.mkdtemp(prefix="minicanton-bench-json-api-"))
    try:
        network = launcher.up(directory, None, lambda message: None)
        asyncio.run(bootstrap_dvp(network, lambda message: None))
        asyncio.run(_run(context, network, directory))
    finally:
        launcher.down(directory, True, lambda message: None)
        shutil.rmtree(directory, ignore_errors=True)


__all__ = ["run"]
