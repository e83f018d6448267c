"""The domain of real processes the protocol scenarios run on (see conftest.py): the
participant harness's `Domain` with this folder's parameters, and `Network`, its four
participants' Ledger API clients and the parties the scenarios allocated on each.

The domain parameters are short so a timeout shows up in seconds, yet long enough that a
request held in flight by a stopped participant (the counteroffer) is still undecided when
that participant comes back. The participants' max sequencing time is long enough that a
resend under the same message id is still inside the sequencer's deduplication window when
the replay test sends it, and that a late replay (after the original's decision time) is
still before it, so what rejects the replay is the protocol, not the clock.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.system.participant.harness import Domain, LedgerClient, NodeProcess

ORGANISATIONS = ("bank", "sr", "alice", "bob")
ROOT = Path(__file__).parents[3]
DVP = (ROOT / "examples" / "dvp.py").read_bytes()
PAINT = (ROOT / "tests" / "sim" / "packages" / "paint.py").read_bytes()

CONFIRMATION_RESPONSE_TIMEOUT_MS = 6_000
MEDIATOR_REACTION_TIMEOUT_MS = 2_000
PARTICIPANT_MAX_SEQUENCING_TIME_MS = 20_000
PARAMETERS = {
    "confirmation_response_timeout_ms": CONFIRMATION_RESPONSE_TIMEOUT_MS,
    "mediator_reaction_timeout_ms": MEDIATOR_REACTION_TIMEOUT_MS,
    "topology_change_delay_ms": 100,
}


class ProtocolDomain(Domain):
    """The participant harness's domain with this folder's parameters: the topology
    manager's config gets `PARAMETERS` as it is spawned, the participants a longer max
    sequencing time."""

    async def _start(self, node: NodeProcess) -> NodeProcess:
        if node.module == "minicanton.topology":
            node.config["parameters"] = dict(PARAMETERS)
        return await super()._start(node)

    def participant_config(self, name: str) -> dict[str, Any]:
        config = super().participant_config(name)
        config["max_sequencing_time_ms"] = PARTICIPANT_MAX_SEQUENCING_TIME_MS
        return config

    async def stop(self) -> None:
        """A participant a test left SIGSTOPped would ignore SIGTERM: wake everyone first."""
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.send_signal(signal.SIGCONT)
        await super().stop()


@dataclass
class Network:
    domain: ProtocolDomain
    clients: dict[str, LedgerClient]
    hosted: dict[str, list[str]] = field(default_factory=dict)

    async def allocate(self, name: str, hint: str) -> str:
        party = await self.clients[name].allocate(hint)
        self.hosted.setdefault(name, []).append(party)
        return party

    def node(self, name: str) -> NodeProcess:
        return self.domain.participants[name]

    def participant_id(self, name: str) -> str:
        return str(self.node(name).ready["participant_id"])


