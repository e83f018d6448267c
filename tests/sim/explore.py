"""The explorer: one seed draws a network, a workload, faults and a Byzantine member, runs
the real core machines to quiescence and checks `network_invariants`; the same seed replays
the same run bit for bit.

    .venv/bin/python -m tests.sim.explore --seed 17          # one seed, with its story
    .venv/bin/python -m tests.sim.explore --seeds 1000       # seeds 0..999
    .venv/bin/python -m tests.sim.explore --seeds 500 --start 10000

Each iteration of a run does one thing the seed picks: a command, a Byzantine misbehaviour,
a fault (a member reads slowly for a while; a participant stops answering, or crashes and
restarts later from its store; the mediator crashes and restarts; time jumps ahead, so that
requests time out) or, mostly, one step of the network (sequence a send, or let a member
read its next event). Then every fault heals, the network runs until nothing is pending and
no deadline is left, and the invariants are checked.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field

from tests.sim.byzantine import MISBEHAVIOURS, Byzantine
from tests.sim.dvp_flow import exercise
from tests.sim.faulty_network import FaultyNetwork
from tests.sim.network_invariants import (
    InvariantViolation,
    KnownGap,
    RunView,
    check_run,
    classified,
    local_checks,
)
from tests.sim.network_workload import (
    TRADERS,
    Scenario,
    Workload,
    build_domain,
    draw_scenario,
    field_of,
)

from minicanton.core.lf.commands import Command
from minicanton.core.lf.value import ContractIdValue, PartyValue
from minicanton.core.topology.parameters import MILLISECOND_US

ITERATIONS = 400
MAX_STEPS = 50_000


def replay_command(seed: int, iterations: int = ITERATIONS) -> str:
    extra = "" if iterations == ITERATIONS else f" --iterations {iterations}"
    return f".venv/bin/python -m tests.sim.explore --seed {seed}{extra}"


class SeedFailed(AssertionError):
    def __init__(self, seed: int, iterations: int, cause: BaseException) -> None:
        super().__init__(f"seed {seed} failed: {type(cause).__name__}: {cause}\n"
                         f"  replay: {replay_command(seed, iterations)}")
        self.seed, self.cause = seed, cause


@dataclass
class RunReport:
    seed: int
    scenario: Scenario
    faults: Counter[str] = field(default_factory=Counter)
    misbehaviour: Counter[str] = field(default_factory=Counter)
    submitted: int = 0
    accepted: int = 0
    committed: int = 0
    steps: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # honest completions' codes
    known_gap: str = ""
    gap: str = ""  # which known gap

    def describe(self) -> str:
        gap = f"\n  hit known gap: {self.known_gap}" if self.known_gap else ""
        return (f"seed {self.seed}: {self.scenario.describe()}\n"
                f"  {self.submitted} honest commands, {self.accepted} accepted, "
                f"{self.committed} transactions in the virtual ledger, {self.steps} steps\n"
                f"  completions {dict(sorted(self.outcomes.items()))}\n"
                f"  faults {dict(sorted(self.faults.items()))}\n"
                f"  byzantine {dict(sorted(self.misbehaviour.items()))}{gap}")


class Run:
    def __init__(self, seed: int, *, strict: bool = False) -> None:
        self.seed, self.strict = seed, strict
        self.rng = random.Random(seed)
        self.scenario = draw_scenario(self.rng, MISBEHAVIOURS)
        self.net = FaultyNetwork(build_domain(self.scenario, seed), seed=seed)
        self.net.local_checks.append(local_checks)
        self.workload = Workload(self.net, self.scenario, random.Random(seed * 7 + 1))
        self.byz = None if self.scenario.byzantine is None else Byzantine(
            self.net, self.scenario.byzantine, random.Random(seed * 7 + 2),
            self.scenario.misbehaviours)
        self.report = RunReport(seed, self.scenario)
        self.heal_at: dict[str, int] = {}  # member -> iteration it comes back
        self.crashed: set[str] = set()

    def go(self, iterations: int) -> RunReport:
        try:
            try:
                for iteration in range(iterations):
                    self._heal(iteration)
                    self._one(iteration)
                self._heal(None)
                self.report.steps += self.net.run(advance_time=True, max_steps=MAX_STEPS)
            except InvariantViolation as violation:  # one found after a step
                raise classified(RunView(self.net, self.scenario, self.byz),
                                 violation) from violation
            check_run(self.net, self.scenario, self.byz, self.workload.submitted)
        except KnownGap as gap:
            if self.strict:
                raise
            self.report.known_gap, self.report.gap = str(gap), gap.gap
        return self._finish()

    def _one(self, iteration: int) -> None:
        roll = self.rng.random()
        if roll < 0.22:
            self.workload.act()
        elif roll < 0.26 and self.byz is not None and self.net.participants[
                self.byz.name].running:
            self.byz.act(self._byz_command)
        elif roll < 0.275:
            self._fault(iteration)
        elif self.net.step():
            self.report.steps += 1

    def _fault(self, iteration: int) -> None:
        net, rng = self.net, self.rng
        kind = rng.choice(["slow", "slow", "stop", "crash", "crash_mediator", "time"])
        down = [n for n in net.participants if n not in self.heal_at]
        if kind == "slow":
            net.slow(rng.choice(sorted(net.inbox)), rng.randint(20, 200))
        elif kind == "time":
            net.advance_clock(rng.choice([200, 1_000, 2_500]) * MILLISECOND_US)
        elif kind == "crash_mediator" and "mediator" not in self.heal_at:
            net.crash_mediator()
            self.heal_at["mediator"] = iteration + rng.randint(0, 40)
        elif kind in ("stop", "crash") and down:
            name = rng.choice(sorted(down))
            if kind == "stop":
                net.stop(name)
            else:
                net.crash(name)
                self.crashed.add(name)
            self.heal_at[name] = iteration + rng.randint(0, 60)
        else:
            return
        self.report.faults[kind] += 1

    def _heal(self, iteration: int | None) -> None:
        for name, at in sorted(self.heal_at.items()):
            if iteration is not None and at > iteration:
                continue
            del self.heal_at[name]
            if name == "mediator":
                self.net.restart_mediator()
            elif name in self.crashed:
                self.crashed.discard(name)
                self.net.restart(name)
            else:
                self.net.start(name)

    def _byz_command(self, how: str) -> tuple[str, Command] | None:
        """A command for the Byzantine member to misbehave with (`how`)."""
        assert self.byz is not None
        name, work = self.byz.name, self.workload
        if how == "foreign":
            others = [t for t in TRADERS if name not in self.scenario.hosts[t]]
            if self.rng.random() < 0.3 or not others:
                picked = work.issue_iou()  # as the Bank
                return None if picked is None else (picked[1], picked[2])
            hint = self.rng.choice(others)  # a transfer of another's contract, as seen by
            picked = work.transfer(hint, self.scenario.hosts[hint][0])  # its owner's host
            return None if picked is None else (picked[1], picked[2])
        own = [t for t in TRADERS if self.scenario.hosts[t] == (name,)]
        if not own:
            return None
        hint = self.rng.choice(own)
        if how == "stale":  # with nothing archived to spend, spend twice what is active
            return self._stale_transfer(hint) or self._own_transfer(hint)
        picked = work.swap_of(hint, name) if self.rng.random() < 0.3 else None
        picked = picked or work.transfer(hint, name)
        return None if picked is None else (picked[1], picked[2])

    def _own_transfer(self, hint: str) -> tuple[str, Command] | None:
        assert self.byz is not None
        picked = self.workload.transfer(hint, self.byz.name)
        return None if picked is None else (picked[1], picked[2])

    def _stale_transfer(self, hint: str) -> tuple[str, Command] | None:
        """Spend again what its party controlled and saw archived: an Iou or Share it owned
        (Transfer), a proposal it was offered (Accept), a deal it bought (Swap)."""
        assert self.byz is not None
        store = self.net.store(self.byz.name)
        party = PartyValue(self.net.domain.party(hint))
        roles = {"Iou": "owner", "Share": "owner", "DvpProposal": "seller", "DvP": "buyer"}
        archived = sorted(cid for cid, c in store.archived.items()
                          if field_of(c, roles[c.template_id.entity_name]) == party)
        if not archived:
            return None
        target = self.rng.choice(archived)
        entity = store.archived[target].template_id.entity_name
        if entity == "DvP":
            return hint, exercise("dvp:DvP", target, "Swap")
        if entity == "DvpProposal":
            shares = self.workload.owned(self.byz.name, hint, "Share") or sorted(
                cid for cid, c in store.archived.items()
                if c.template_id.entity_name == "Share" and field_of(c, "owner") == party)
            return None if not shares else (hint, exercise(
                "dvp:DvpProposal", target, "Accept", share=ContractIdValue(shares[0])))
        other = self.rng.choice([t for t in TRADERS if t != hint])
        return hint, exercise(f"dvp:{entity}", target, "Transfer",
                              recipient=PartyValue(self.net.domain.party(other)))

    def _finish(self) -> RunReport:
        report = self.report
        report.submitted = len(self.workload.submitted)
        completions = [c for n in self.scenario.honest for _, c in self.net.store(n).completions]
        report.accepted = sum(1 for c in completions if c.accepted)
        report.outcomes.update("ACCEPTED" if c.rejection is None else c.rejection.error_id
                               for c in completions)
        report.committed = len(RunView(self.net, self.scenario, self.byz).approved)
        if self.byz is not None:
            report.misbehaviour.update(self.byz.done)
        return report


def run_seed(seed: int, iterations: int = ITERATIONS, *, strict: bool = False) -> RunReport:
    """Run one seed; raises `SeedFailed` (naming the seed and its replay command). A run
    that hits a known gap reports it in `known_gap` (with `strict`, it fails)."""
    try:
        return Run(seed, strict=strict).go(iterations)
    except Exception as err:  # any failure, invariant or crash, is the seed's finding
        raise SeedFailed(seed, iterations, err) from err


@dataclass
class Totals:
    seeds: int = 0
    failed: list[int] = field(default_factory=list)
    gaps: list[int] = field(default_factory=list)
    gap_kinds: Counter[str] = field(default_factory=Counter)
    commands: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    misbehaviour: Counter[str] = field(default_factory=Counter)

    def add(self, report: RunReport) -> None:
        self.commands += report.submitted
        self.outcomes.update(report.outcomes)
        self.faults.update(report.faults)
        self.misbehaviour.update(report.misbehaviour)
        if report.known_gap:
            self.gaps.append(report.seed)
            self.gap_kinds[report.gap] += 1

    def describe(self, elapsed_s: float) -> str:
        return (f"{self.seeds} seeds in {elapsed_s:.1f} s: {len(self.failed)} failed "
                f"{self.failed[:20]}, {len(self.gaps)} hit a known gap {self.gaps[:20]} "
                f"{dict(self.gap_kinds)}\n"
                f"  {self.commands} honest commands: {dict(self.outcomes.most_common())}\n"
                f"  faults {dict(self.faults.most_common())}\n"
                f"  byzantine {dict(self.misbehaviour.most_common())}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.sim.explore")
    parser.add_argument("--seed", type=int, help="run this one seed and tell its story")
    parser.add_argument("--seeds", type=int, default=100, help="how many seeds to run")
    parser.add_argument("--start", type=int, default=0, help="the first seed")
    parser.add_argument("--iterations", type=int, default=ITERATIONS)
    parser.add_argument("--strict", action="store_true", help="known gaps fail too")
    args = parser.parse_args(argv)
    seeds = [args.seed] if args.seed is not None else range(args.start, args.start + args.seeds)
    totals = Totals()
    began = time.monotonic()
    for seed in seeds:
        totals.seeds += 1
        try:
            report = run_seed(seed, args.iterations, strict=args.strict)
        except SeedFailed as err:
            totals.failed.append(seed)
            print(err, file=sys.stderr, flush=True)
            if args.seed is not None:
                traceback.print_exception(err.cause)
            continue
        totals.add(report)
        if args.seed is not None:
            print(report.describe())
    print(totals.describe(time.monotonic() - began))
    return 1 if totals.failed else 0


if __name__ == "__main__":
    sys.exit(main())
