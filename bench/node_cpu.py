"""Where benchmark (a)'s CPU goes, process by process and thread by thread.

`python -m bench.node_cpu` starts a local network, drives (a) (Iou creates through Bank's
participant, SubmitAndWait) at concurrency 32, and prints the CPU every process on the machine
spent per committed transaction (from /proc, so PostgreSQL backends and anything else running
show too), grouped by program (PostgreSQL's backends by database), and each node's threads.
It is not part of `make bench`: it is for comparing two trees of the code on this noisy
machine, in alternating runs:

    PYTHONPATH=/path/to/other/checkout/services python -m bench.node_cpu   # the other tree
    python -m bench.node_cpu                                              # this one

The nodes inherit PYTHONPATH, and the load uses only the gRPC Ledger API, so any tree with the
same localnet layout can be measured. BENCH_NODE_CPU_S sets the measured seconds (default 20).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench import end_to_end_bench as e2e
from minicanton.cli.localnet import launcher
from minicanton.cli.localnet.bootstrap import bootstrap_dvp
from minicanton.codec.gen.com.daml.ledger.api.v1 import command_service_pb2 as command_pb
from minicanton.codec.gen.com.daml.ledger.api.v1 import command_service_pb2_grpc as command_grpc
from minicanton.codec.gen.com.daml.ledger.api.v1 import commands_pb2

TICKS_PER_S = os.sysconf("SC_CLK_TCK")
CONCURRENCY = 32


def _cpu_s(stat_path: str) -> tuple[float, str]:
    """(user + system seconds, name) of one /proc stat file."""
    with open(stat_path) as stat:
        text = stat.read()
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S, text.split("(", 1)[1].split(")")[0]


def _processes() -> dict[int, tuple[float, str]]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cpu_s, name = _cpu_s(f"/proc/{entry}/stat")
                command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue  # gone meanwhile
            found[int(entry)] = (cpu_s, command.decode(errors="replace").strip() or name)
    return found


def _threads(pid: int) -> dict[tuple[int, str], float]:
    found = {}
    for entry in os.listdir(f"/proc/{pid}/task"):
        try:
            cpu_s, name = _cpu_s(f"/proc/{pid}/task/{entry}/stat")
        except OSError:
            continue
        found[(int(entry), name)] = cpu_s
    return found


def _program(command: str) -> str:
    if "-m minicanton." in command:
        return command.split("-m ", 1)[1].split()[0]
    if command.startswith("postgres: "):
        # a backend's title is "postgres: USER DATABASE HOST(PORT) STATE": one line per node's
        # database; the server's own processes ("postgres: walwriter", ...) are summed
        words = command.split()
        return f"postgres {words[2]}" if len(words) > 3 and "(" in words[3] else "postgres"
    return "postgres" if command.startswith("postgres") else command.split()[0][-40:]


async def _measure(network: dict[str, Any], seconds: float) -> None:
    parties = {hint: e2e.Party(network, hint) for hint in network["parties"]}
    bank, alice = parties["Bank"], parties["Alice"]
    commands = command_grpc.CommandServiceStub(bank.client.channel)
    metadata = (("authorization", f"Bearer {bank.token}"),)

    async def create(_: Any, latencies: list[float]) -> int:
        request = command_pb.SubmitAndWaitRequest(commands=commands_pb2.Commands(
            ledger_id="minicanton", application_id="bench", command_id=uuid.uuid4().hex,
            act_as=[bank.id], commands=[e2e._iou(bank, alice)]))
        started = time.perf_counter()
        await commands.SubmitAndWait(request, metadata=metadata, timeout=120)
        latencies.append(time.perf_counter() - started)
        return 1

    e2e.DURATION_S = 5
    await e2e._load(create, parties, CONCURRENCY)  # warm: packages, keys, plans
    nodes = {f"{group}/{name}": node["pid"] for group in ("participants", "sequencers",
             "mediators") for name, node in network[group].items()}
    threads_before = {node: _threads(pid) for node, pid in nodes.items()}
    before = _processes()
    e2e.DURATION_S = seconds
    rate, latencies = await e2e._load(create, parties, CONCURRENCY)
    after = _processes()
    threads_after = {node: _threads(pid) for node, pid in nodes.items()}
    for party in parties.values():
        await party.client.close()
    _report(rate, max(1, len(latencies)), before, after, nodes, threads_before, threads_after)


def _report(rate: float, transactions: int, before: dict[int, tuple[float, str]],
            after: dict[int, tuple[float, str]], nodes: dict[str, int],
            threads_before: dict[str, dict[tuple[int, str], float]],
            threads_after: dict[str, dict[tuple[int, str], float]]) -> None:
    by_program: dict[str, float] = defaultdict(float)
    for pid, (cpu_s, command) in after.items():
        by_program[_program(command)] += (cpu_s - before.get(pid, (0.0, ""))[0]) * 1000
    print(f"(a) at concurrency {CONCURRENCY}: {rate:.1f} tx/s, {transactions} transactions")
    print("CPU ms per transaction, by program:")
    for program, ms in sorted(by_program.items(), key=lambda item: -item[1]):
        if ms / transactions >= 0.05:
            print(f"  {ms / transactions:6.2f}  {program}")
    print("CPU ms per transaction, by node thread (id relative to the process):")
    for node, pid in nodes.items():
        spent = []
        for (tid, name), cpu_s in threads_after[node].items():
            ms = (cpu_s - threads_before[node].get((tid, name), 0.0)) * 1000 / transactions
            if ms >= 0.005:
                spent.append(f"{name}:{tid - pid}={ms:.2f}")
        print(f"  {node:24} {'  '.join(spent)}")


def main() -> None:
    seconds = float(os.environ.get("BENCH_NODE_CPU_S", "20"))
    directory = Path(tempfile.mkdtemp(prefix="minicanton-node-cpu-"))
    try:
        network = launcher.up(directory, None, lambda message: None)
        asyncio.run(bootstrap_dvp(network, lambda message: None))
        asyncio.run(_measure(network, seconds))
    finally:
        launcher.down(directory, True, lambda message: None)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
