"""End to end through real processes: a local network (2 sequencers, topology manager,
mediator, 4 participants) driven over the gRPC Ledger API.

(a) Iou creates, issuer Bank on participant `bank`, owner Alice on `alice`;
(b) the full DvP flow across four participants (Iou, Share, Proposal, Accept, Swap).
Each at concurrency 1, 8 and 32: committed transactions/s and submit-to-completion latency
(a transaction counts once its completion is back). (a) uses SubmitAndWait, which answers
with the completion alone; (b) needs the created contract ids for its next steps, so it uses
SubmitAndWaitForTransactionTree, and each of its calls also costs the participant the tree.
The load client is grpc.aio, a few hundred µs of CPU per call, so it is not what is
measured. The CPU floor is computed from this run's raw crypto figures and a PostgreSQL
commit measured on the same cluster, with the per-transaction operation counts listed in
`FLOOR_OPS`. Each level's note also gives the CPU the node processes (participants,
sequencers, mediator) used per committed transaction, and its split by kind with the
PostgreSQL server's share: unlike the rate, it does not depend on what else loads the
machine.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import subprocess
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

from bench import crypto_floor
from bench.common import BenchContext, Figure, percentile, process_cpu_s
from minicanton.cli.ledger_client import LedgerClient, create_command, exercise_command
from minicanton.cli.localnet import launcher
from minicanton.cli.localnet.bootstrap import bootstrap_dvp
from minicanton.core.lf.value import (
    ContractIdValue,
    Int64Value,
    NumericValue,
    PartyValue,
    TextValue,
)
from minicanton.runtime.auth import mint_dev_token

SECTION = "end to end"
# Narrow a run while working on one path: BENCH_E2E_FLOWS=a BENCH_E2E_LEVELS=32.
LEVELS = tuple(int(c) for c in os.environ.get("BENCH_E2E_LEVELS", "1,8,32").split(","))
FLOWS = os.environ.get("BENCH_E2E_FLOWS", "ab")
DURATION_S = 8.0
# Per committed 2-participant transaction (submitter confirms, one observer): signatures made
# (request, 3 delivered events signed by the sequencer, response, its event, verdict, 2 verdict
# events), verifications (sender at the sequencer x3, sequencer signature at each recipient
# x6, submitter signature x2, response, verdict x2), X25519 key wraps and unwraps (none in
# steady state: views are sealed under session keys, one wrap per recipient set a minute,
# ADR 18), and PostgreSQL commits (sequencer 3, participants 4, mediator 2).
FLOOR_OPS = {"sign": 9, "verify": 14, "wrap": 0, "commit": 9}


class Party:
    def __init__(self, network: dict[str, Any], hint: str) -> None:
        entry = network["parties"][hint]
        self.id = entry["party"]
        self.client = LedgerClient(network["participants"][entry["participant"]]["ledger_api"],
                                   "bench")
        self.token = mint_dev_token(network["auth"]["hs256_secret"], act_as=[self.id],
                                    application_id="bench")

    async def submit_for_completion(self, command: Any) -> None:
        await self.client.submit_and_wait_for_completion(self.token, [self.id], [command])

    async def submit(self, command: Any) -> dict[str, str]:
        response = await self.client.submit_and_wait(self.token, [self.id], [command])
        return {event.created.template_id.entity_name: event.created.contract_id
                for event in response.transaction.events_by_id.values()
                if event.HasField("created")}


def _iou(bank: Party, owner: Party) -> Any:
    return create_command("dvp", "Iou", issuer=PartyValue(bank.id), owner=PartyValue(owner.id),
                          amount=NumericValue(Decimal(100)), currency=TextValue("USD"))


async def _iou_flow(parties: dict[str, Party], latencies: list[float]) -> int:
    start = time.perf_counter()
    await parties["Bank"].submit_for_completion(_iou(parties["Bank"], parties["Alice"]))
    latencies.append(time.perf_counter() - start)
    return 1


async def _timed(latencies: list[float], party: Party, command: Any) -> dict[str, str]:
    start = time.perf_counter()
    created = await party.submit(command)
    latencies.append(time.perf_counter() - start)
    return created


async def _dvp_flow(parties: dict[str, Party], latencies: list[float]) -> int:
    bank, sr, alice, bob = (parties[h] for h in ("Bank", "SR", "Alice", "Bob"))
    iou, share = await asyncio.gather(
        _timed(latencies, bank, _iou(bank, alice)),
        _timed(latencies, sr, create_command(
            "dvp", "Share", registry=PartyValue(sr.id), owner=PartyValue(bob.id),
            company=TextValue("ACME"), quantity=Int64Value(10))))
    proposal = await _timed(latencies, alice, create_command(
        "dvp", "DvpProposal", buyer=PartyValue(alice.id), seller=PartyValue(bob.id),
        iou=ContractIdValue(iou["Iou"]), company=TextValue("ACME"), quantity=Int64Value(10)))
    dvp = await _timed(latencies, bob, exercise_command(
        "dvp", "DvpProposal", proposal["DvpProposal"], "Accept",
        share=ContractIdValue(share["Share"])))
    await _timed(latencies, alice, exercise_command("dvp", "DvP", dvp["DvP"], "Swap"))
    return 5


async def _load(flow: Any, parties: dict[str, Party],
                concurrency: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    committed = itertools.count()
    deadline = time.perf_counter() + DURATION_S

    async def worker() -> None:
        while time.perf_counter() < deadline:
            for _ in range(await flow(parties, latencies)):
                next(committed)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return next(committed) / elapsed, latencies


async def _commit_ms(dsn: str) -> float:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("CREATE TABLE IF NOT EXISTS bench_probe (n bigint)")
        count, start = 300, time.perf_counter()
        for n in range(count):
            await connection.execute("INSERT INTO bench_probe VALUES ($1)", n)
        return (time.perf_counter() - start) / count * 1000
    finally:
        await connection.close()


def _node_pids(network: dict[str, Any], directory: Path) -> dict[str, list[int]]:
    """The node processes by kind, and the network's PostgreSQL server with its backends
    (the connection pools are open by now, so the backends live as long as the nodes)."""
    groups = {group: [int(node["pid"]) for node in network[group].values() if node.get("pid")]
              for group in ("participants", "sequencers", "mediators")}
    groups["postgres"] = []
    for pid_file in directory.glob("postgres/**/postmaster.pid"):
        postmaster = int(pid_file.read_text().split()[0])
        children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True,
                                  text=True).stdout.split()
        groups["postgres"] += [postmaster, *(int(pid) for pid in children)]
    return groups


def _cpu_by_group(groups: dict[str, list[int]]) -> dict[str, float]:
    return {group: process_cpu_s(pids) for group, pids in groups.items()}


_DATABASE_WORK = """SELECT datname, xact_commit, tup_returned FROM pg_stat_database
                    WHERE datname LIKE 'mc\\_%' AND datname NOT LIKE '%json\\_api'"""


async def _database_work(dsn: str) -> dict[str, tuple[int, int]]:
    """(commits, tuples read) per node database so far. A busy backend reports its counters
    about once a second and an idle one within ten, so a level's figure, read a second after
    its load, may miss up to a second of it: an approximate figure, made to show scans."""
    connection = await asyncpg.connect(dsn)
    try:
        return {r["datname"]: (r["xact_commit"], r["tup_returned"])
                for r in await connection.fetch(_DATABASE_WORK)}
    finally:
        await connection.close()


def _database_note(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]],
                   transactions: int) -> str:
    """Per committed transaction: PostgreSQL commits and tuples read, by database. A lookup
    that turned into a scan shows here first, as tuples read growing with the ledger."""
    parts = []
    for database, (commits, tuples) in sorted(after.items()):
        old_commits, old_tuples = before.get(database, (0, 0))
        per_tx = (commits - old_commits) / transactions, (tuples - old_tuples) / transactions
        if per_tx[0] >= 0.05:  # the idle nodes' housekeeping is left out
            parts.append(f"{database.removeprefix('mc_')} {per_tx[0]:.1f}/{per_tx[1]:.0f}")
    return "postgres commits/tuples read per tx: " + ", ".join(parts)


async def _run(context: BenchContext, network: dict[str, Any], directory: Path) -> None:
    parties = {hint: Party(network, hint) for hint in network["parties"]}
    groups = _node_pids(network, directory)
    dsn = network["postgres"]["dsn"]
    flows = [(name, flow) for key, name, flow in (
        ("a", "(a) Iou create, 2 participants", _iou_flow),
        ("b", "(b) DvP, 4 participants", _dvp_flow)) if key in FLOWS]
    try:
        for name, flow in flows:
            for concurrency in LEVELS:
                work_before = await _database_work(dsn)
                before_s = _cpu_by_group(groups)
                rate, latencies = await _load(flow, parties, concurrency)
                after_s = _cpu_by_group(groups)
                await asyncio.sleep(1.1)
                database = _database_note(work_before, await _database_work(dsn),
                                          max(1, len(latencies)))
                per_tx = {group: (after_s[group] - before_s[group]) * 1000 / max(
                    1, len(latencies)) for group in groups}
                nodes_ms = sum(ms for group, ms in per_tx.items() if group != "postgres")
                split = ", ".join(f"{group} {ms:.1f}" for group, ms in per_tx.items())
                context.add(Figure(SECTION, f"{name}, concurrency {concurrency}", rate,
                                   "tx/s", f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
                                   f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, "
                                   f"nodes' CPU {nodes_ms:.1f} ms/tx ({split}); {database}"))
        _floor(context, await _commit_ms(dsn))
    finally:
        for party in parties.values():
            await party.client.close()


def _floor(context: BenchContext, commit_ms: float) -> None:
    if context.value_of("raw Ed25519 sign 1 KiB") is None:  # run alone (--only end_to_end)
        crypto_floor.run(context)
    costs_ms = {"sign": 1000 / (context.value_of("raw Ed25519 sign 1 KiB") or 1),
                "verify": 1000 / (context.value_of("raw Ed25519 verify 1 KiB") or 1),
                "wrap": 1000 / (context.value_of("raw X25519 ephemeral + HKDF (one key wrap)")
                                or 1),
                "commit": commit_ms}
    floor_ms = sum(FLOOR_OPS[op] * costs_ms[op] for op in FLOOR_OPS)
    context.add(Figure(SECTION, "CPU floor: crypto + commits per 2-party tx", floor_ms, "ms",
                       f"commit {commit_ms:.2f} ms; ops {FLOOR_OPS}"))
    best = max((f.value for f in context.figures if f.name.startswith("(a)")), default=0.0)
    if best:
        context.add(Figure(SECTION, "(a) best rate vs the floor's 2-core ceiling",
                           best / (2000 / floor_ms), "ratio",
                           f"ceiling {2000 / floor_ms:.0f} tx/s on 2 cores"))


def run(context: BenchContext) -> None:
    directory = Path(tempfile.mkdtemp(prefix="minicanton-bench-net-"))
    try:
        network = launcher.up(directory, None, lambda message: None)
        asyncio.run(bootstrap_dvp(network, lambda message: None))
        asyncio.run(_run(context, network, directory))
    finally:
        launcher.down(directory, True, lambda message: None)
        shutil.rmtree(directory, ignore_errors=True)


__all__ = ["run"]
