"""Sequencer throughput and latency with one and with two instances (issue 3's benchmark).

`run(context)` is the section `python -m bench` calls. For 1 and 2 sequencer processes on a
fresh database of the bench's PostgreSQL cluster, ten members (1 KiB payload, each message to
one other member) run in two load-generator processes of their own, so the figures include
what every real member pays (signing sends, verifying events) without the driver being the
bottleneck. Two phases per setup:

* throughput: every member keeps `WINDOW` sends in flight for `DURATION_S`; the figure is
  messages delivered to their recipient per second, counted at the recipients;
* latency: 200 messages/s in total, evenly paced; send-to-delivery p50/p99 (the send time
  travels in the payload, CLOCK_MONOTONIC is shared by processes on one machine).

Also in the same run: the raw single-row commit rate of the same cluster (one connection), and
the ratio of sequenced messages to it; and the sequencer processes' CPU per delivered message
in the throughput phase, which unlike the rates does not depend on what else loads the
machine. A worker is this module run with `--worker SPEC`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from tests.integration.sequencer.harness import SequencerCluster

from bench.common import BenchContext, Figure, percentile, process_cpu_s
from bench.sequencer_load import LoadWorker
from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_admin_pb2 as apb
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.ids import MemberKind, member_id
from minicanton.runtime.shutdown import install_uvloop

SECTION = "sequencer"
MEMBERS = 10
WORKERS = 2
PAYLOAD_BYTES = 1024
WINDOW = 32
DURATION_S = 4.0
RATE_PER_S = 200.0


def member_key_seed(index: int) -> bytes:
    return hashlib.sha256(f"bench-member-{index}".encode()).digest()


async def raw_commit_rate(dsn: str, seconds: float = 1.5) -> float:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("CREATE TABLE IF NOT EXISTS bench_commits (n bigint)")
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            await connection.execute("INSERT INTO bench_commits VALUES ($1)", count)
            count += 1
        return count / (time.perf_counter() - start)
    finally:
        await connection.close()


async def _start_cluster(dsn: str, workdir: Path, instances: int) -> Any:
    cluster = SequencerCluster(dsn, workdir, instances, overrides={
        "log_level": "WARNING", "pool_size": 8, "offline_timeout_ms": 3_000})
    await cluster.start()
    members = []
    for index in range(MEMBERS):
        key = SigningKeyPair.from_private(member_key_seed(index))
        member = member_id(MemberKind.PARTICIPANT, f"bench{index}", key.fingerprint)
        await cluster.admin("RegisterMember", apb.RegisterMemberRequest(
            member=member, signing_public_key=key.public.raw), apb.RegisterMemberResponse)
        members.append(member)
    return cluster, members


def _run_workers(endpoints: tuple[str, ...], members: list[str], mode: str) -> dict[str, Any]:
    """Each worker writes its figures to a file of its own: on stdout, a line from another
    thread could land inside a result larger than one pipe write."""
    start_at_ns = time.monotonic_ns() + 3_000_000_000  # time for workers to connect
    processes = []
    with tempfile.TemporaryDirectory() as folder:
        for worker in range(WORKERS):
            spec = {"endpoints": endpoints, "members": members, "mine": list(range(
                worker, MEMBERS, WORKERS)), "mode": mode, "start_at_ns": start_at_ns,
                "result_path": str(Path(folder) / f"worker{worker}.json")}
            processes.append((spec["result_path"], subprocess.Popen(
                [sys.executable, "-m", "bench.sequencer_bench", "--worker", json.dumps(spec)],
                cwd=Path(__file__).resolve().parents[1])))
        results = []
        for result_path, process in processes:
            process.wait(timeout=DURATION_S + 60)
            results.append(json.loads(Path(str(result_path)).read_text()))
    latencies = [x for r in results for x in r["latencies_ms"]]
    return {"delivered": sum(r["delivered"] for r in results), "latencies_ms": latencies,
            "not_delivered": sum(r["not_delivered"] for r in results),
            "worker_cpu_s": [r["cpu_s"] for r in results]}


def _measure(context: BenchContext, instances: int, commit_rate: float) -> None:
    postgres = context.postgres()
    dsn = postgres.create_database(f"bench_seq_{instances}_{uuid.uuid4().hex[:8]}")
    with tempfile.TemporaryDirectory() as workdir:
        cluster, members = asyncio.run(_start_cluster(dsn, Path(workdir), instances))
        try:
            label = f"{instances} sequencer instance{'s' if instances > 1 else ''}"
            pids = [p.process.pid for p in cluster.processes if p.process is not None]
            cpu_before_s = process_cpu_s(pids)
            burst = _run_workers(cluster.endpoints, members, "throughput")
            cpu_ms = (process_cpu_s(pids) - cpu_before_s) * 1000 / max(1, burst["delivered"])
            rate = burst["delivered"] / DURATION_S
            context.add(Figure(SECTION, f"sequenced msgs/s, {label}, 10 members, 1 KiB", rate,
                               "msg/s", f"{rate / commit_rate:.2f}x raw PG commits/s; "
                               f"unresolved {burst['not_delivered']}"))
            context.add(Figure(SECTION, f"sequencer CPU per delivered msg, {label}", cpu_ms,
                               "ms", "all instances, throughput phase (incl. worker "
                               "connect time)"))
            paced = _run_workers(cluster.endpoints, members, "paced")
            for fraction in (0.5, 0.99):
                context.add(Figure(
                    SECTION, f"send->delivery p{int(fraction * 100)} at 200 msg/s, {label}",
                    percentile(paced["latencies_ms"], fraction), "ms",
                    f"{len(paced['latencies_ms'])} samples"))
        finally:
            asyncio.run(cluster.stop())


def run(context: BenchContext) -> None:
    postgres = context.postgres()
    commit_dsn = postgres.create_database(f"bench_commits_{uuid.uuid4().hex[:8]}")
    commit_rate = asyncio.run(raw_commit_rate(commit_dsn))
    context.add(Figure(SECTION, "raw PostgreSQL single-row commits/s (1 connection)",
                       commit_rate, "commits/s"))
    for instances in (1, 2):
        _measure(context, instances, commit_rate)


# -- the load-generator worker ----------------------------------------------------------


async def _worker(spec: dict[str, Any]) -> dict[str, Any]:
    worker = LoadWorker(spec, DURATION_S, WINDOW, RATE_PER_S / MEMBERS, PAYLOAD_BYTES)
    return await worker.run(member_key_seed)


def worker_main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", required=True)
    spec = json.loads(parser.parse_args().worker)
    install_uvloop()
    Path(spec["result_path"]).write_text(json.dumps(asyncio.run(_worker(spec))))


if __name__ == "__main__":
    worker_main()
