"""What one seed draws: the network (3-6 participants, the DvP parties hosted at random, some
on two participants, maybe one Byzantine participant) and a random DvP workload on it
(examples/dvp.py: Iou and Share issues, transfers, proposals, accepts, swaps, and pairs of
commands that spend the same contract).

Commands are built against the submitting participant's own store, as a Ledger API client
reading its ACS would: a contract locked by a request still in flight is still offered, and
a slow participant offers what it has not yet seen archived, so conflicts arise by
themselves. A command that does not interpret is refused before anything is sent.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from tests.sim.dvp_flow import create, exercise
from tests.sim.faulty_network import FaultyNetwork
from tests.sim.sim_domain import SimDomain

from minicanton.core.errors import MinicantonError
from minicanton.core.lf.commands import Command, ExerciseCommand
from minicanton.core.lf.transaction import ContractInstance
from minicanton.core.lf.value import ContractIdValue, Int64Value, NumericValue, PartyValue
from minicanton.core.lf.value import TextValue as Text
from minicanton.core.protocol.submission import PreparedSubmission
from minicanton.core.topology.mappings import ParticipantPermission

ISSUERS = ("Bank", "SR")
TRADERS = ("Alice", "Bob", "Carol", "Dave")
COMPANY = "ACME"
QUANTITY = 10


@dataclass(frozen=True)
class Scenario:
    participants: tuple[str, ...]
    hosts: dict[str, tuple[str, ...]]  # party hint -> the participants hosting it
    byzantine: str | None
    misbehaviours: frozenset[str]
    # a second host's permission (the first always has Submission), by party hint
    second: dict[str, ParticipantPermission] = field(default_factory=dict)

    def may_submit(self, hint: str, name: str) -> bool:
        on = self.hosts[hint]
        return name == on[0] or self.second.get(hint) is ParticipantPermission.SUBMISSION

    @property
    def honest(self) -> tuple[str, ...]:
        return tuple(n for n in self.participants if n != self.byzantine)

    def describe(self) -> str:
        hosting = ", ".join(
            f"{h}@{'+'.join(on)}" + (f"({self.second[h].name.lower()})" if h in self.second
                                     else "") for h, on in self.hosts.items())
        byz = f"; byzantine {self.byzantine}: {sorted(self.misbehaviours)}" if self.byzantine \
            else ""
        return f"{len(self.participants)} participants; {hosting}{byz}"


def draw_scenario(rng: random.Random, misbehaviours: tuple[str, ...]) -> Scenario:
    names = tuple(f"p{i}" for i in range(rng.randint(3, 6)))
    byzantine = rng.choice(names) if rng.random() < 0.8 else None
    honest = [n for n in names if n != byzantine]
    hosts: dict[str, tuple[str, ...]] = {h: (rng.choice(honest),) for h in ISSUERS}
    for hint in TRADERS:
        first = rng.choice(names)
        if first != byzantine and len(honest) > 1 and rng.random() < 0.3:
            hosts[hint] = (first, rng.choice([n for n in honest if n != first]))
        else:
            hosts[hint] = (first,)
    if byzantine is not None and all(byzantine not in on for on in hosts.values()):
        hosts[rng.choice(TRADERS)] = (byzantine,)
    chosen = frozenset(m for m in misbehaviours if rng.random() < 0.5) or frozenset(
        {rng.choice(misbehaviours)})
    second = {h: rng.choice(list(ParticipantPermission)) for h, on in hosts.items()
              if len(on) > 1}
    return Scenario(names, hosts, byzantine, chosen if byzantine else frozenset(), second)


def build_domain(scenario: Scenario, seed: int) -> SimDomain:
    hosting = {n: tuple(h for h, on in scenario.hosts.items() if on[0] == n)
               for n in scenario.participants}
    domain = SimDomain(hosting, seed=seed)
    for hint, on in scenario.hosts.items():
        if len(on) > 1:
            domain.host(hint, {on[0]: ParticipantPermission.SUBMISSION,
                               on[1]: scenario.second[hint]})
    return domain


def field_of(contract: ContractInstance, name: str) -> object:
    return dict(contract.argument.fields)[name]


@dataclass
class Workload:
    net: FaultyNetwork
    scenario: Scenario
    rng: random.Random
    submitted: list[PreparedSubmission] = field(default_factory=list)  # by honest members
    refused: int = 0
    count: int = 0

    def party(self, hint: str) -> PartyValue:
        return PartyValue(self.net.domain.party(hint))

    def host_of(self, hint: str, honest_only: bool = False) -> str | None:
        on = [n for n in self.scenario.hosts[hint] if self.net.participants[n].running
              and self.scenario.may_submit(hint, n)
              and not (honest_only and n == self.scenario.byzantine)]
        return self.rng.choice(on) if on else None

    def owned(self, name: str, hint: str, entity: str, role: str = "owner") -> list[str]:
        party = self.net.domain.party(hint)
        return sorted(cid for cid, c in self.net.store(name).active.items()
                      if c.template_id.entity_name == entity
                      and field_of(c, role) == PartyValue(party))

    def submit(self, name: str, hint: str, command: Command) -> None:
        self.count += 1
        try:
            prepared = self.net.submit(name, command, act_as=[hint],
                                       command_id=f"{name}-{self.count}")
        except MinicantonError:
            self.refused += 1
            return
        if name != self.scenario.byzantine:
            self.submitted.append(prepared)

    # --- the commands ---------------------------------------------------------------------

    def act(self) -> None:
        actions: list[Callable[[], tuple[str, str, Command] | None]] = [
            self.issue_iou, self.issue_share, self.transfer, self.propose, self.accept,
            self.swap, self.transfer, self.propose, self.accept, self.swap,
        ]
        if self.rng.random() < 0.12:
            self.double_spend()
            return
        picked = self.rng.choice(actions)()
        if picked is not None:
            self.submit(*picked)

    def issue_iou(self) -> tuple[str, str, Command] | None:
        name = self.host_of("Bank")
        owner = self.rng.choice(TRADERS)
        return None if name is None else (name, "Bank", create(
            "dvp:Iou", issuer=self.party("Bank"), owner=self.party(owner),
            amount=NumericValue(Decimal(self.rng.choice(["10", "100", "250"]))),
            currency=Text("USD")))

    def issue_share(self) -> tuple[str, str, Command] | None:
        name = self.host_of("SR")
        owner = self.rng.choice(TRADERS)
        return None if name is None else (name, "SR", create(
            "dvp:Share", registry=self.party("SR"), owner=self.party(owner),
            company=Text(COMPANY), quantity=Int64Value(QUANTITY)))

    def transfer(self, hint: str | None = None, name: str | None = None
                 ) -> tuple[str, str, Command] | None:
        hint = hint or self.rng.choice(TRADERS)
        name = name or self.host_of(hint)
        if name is None:
            return None
        entity = self.rng.choice(["Iou", "Share"])
        target = self._pick(self.owned(name, hint, entity))
        recipient = self.rng.choice([t for t in TRADERS if t != hint])
        return None if target is None else (name, hint, exercise(
            f"dvp:{entity}", target, "Transfer", recipient=self.party(recipient)))

    def propose(self) -> tuple[str, str, Command] | None:
        buyer = self.rng.choice(TRADERS)
        name = self.host_of(buyer)
        if name is None:
            return None
        iou = self._pick(self.owned(name, buyer, "Iou"))
        seller = self.rng.choice([t for t in TRADERS if t != buyer])
        return None if iou is None else (name, buyer, create(
            "dvp:DvpProposal", buyer=self.party(buyer), seller=self.party(seller),
            iou=ContractIdValue(iou), company=Text(COMPANY), quantity=Int64Value(QUANTITY)))

    def accept(self) -> tuple[str, str, Command] | None:
        seller = self.rng.choice(TRADERS)
        name = self.host_of(seller)
        if name is None:
            return None
        proposal = self._pick(self.owned(name, seller, "DvpProposal", role="seller"))
        share = self._pick(self.owned(name, seller, "Share"))
        return None if proposal is None or share is None else (name, seller, exercise(
            "dvp:DvpProposal", proposal, "Accept", share=ContractIdValue(share)))

    def swap(self) -> tuple[str, str, Command] | None:
        buyer = self.rng.choice(TRADERS)
        name = self.host_of(buyer)
        return None if name is None else self.swap_of(buyer, name)

    def swap_of(self, buyer: str, name: str) -> tuple[str, str, Command] | None:
        deal = self._pick(self.owned(name, buyer, "DvP", role="buyer"))
        return None if deal is None else (name, buyer, exercise("dvp:DvP", deal, "Swap"))

    def double_spend(self) -> None:
        """Two commands spending the same contract, sent back to back (from two of the
        owner's participants when it has two): at most one may commit."""
        hint = self.rng.choice(TRADERS)
        first = self.transfer(hint)
        if first is None:
            return
        self.submit(*first)
        second_host = self.host_of(hint) or first[0]
        command = first[2]
        assert isinstance(command, ExerciseCommand)
        recipient = self.rng.choice([t for t in TRADERS if t != hint])
        self.submit(second_host, hint, exercise(
            f"dvp:{command.template.entity_name}", command.contract_id, "Transfer",
            recipient=self.party(recipient)))

    def _pick(self, items: list[str]) -> str | None:
        return self.rng.choice(items) if items else None
