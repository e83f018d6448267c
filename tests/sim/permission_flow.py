"""Alice transfers the Bank's Iou to Bob while her participant's permission for her is not
Submission (issue 5: "the submitting participant hosts the submitting parties with
Submission permission at the request's timestamp").

The Bank is the Iou's signatory, so its participant holds the transfer's root view (it sees
who submitted) and confirms; the request reaches it whatever Alice's participant may do.
`submit_regardless` is the real submission path without the submitter's own permission
check (what a malicious or out-of-date participant sends); `rehost` changes a party's
hosting at a chosen sequencing time, as the topology manager's broadcast would.
"""

from __future__ import annotations

from collections.abc import Mapping

from tests.sim.altered_submission import altered_submission
from tests.sim.dvp_flow import created_id, exercise, iou
from tests.sim.harness import SimNetwork
from tests.sim.sim_domain import SimDomain

from minicanton.core.lf.commands import Command
from minicanton.core.lf.value import PartyValue
from minicanton.core.protocol.submission import CommandSubmission, PreparedSubmission
from minicanton.core.topology.mappings import (
    HostingParticipant,
    ParticipantPermission,
    PartyToParticipant,
)
from minicanton.core.topology.transactions import TopologyChangeOp, TopologyTransaction


def hosting_alice_with(permission: ParticipantPermission) -> SimDomain:
    """The DvP domain with Alice hosted on alice's participant with `permission` only."""
    domain = SimDomain()
    domain.host("Alice", {"alice": permission})
    return domain


def issue_iou_to_alice(net: SimNetwork, command_id: str = "issue") -> str:
    iou_id = created_id(net.submit("bank", iou(net), act_as=["Bank"], command_id=command_id),
                        "Iou")
    net.run()
    return iou_id


def transfer_to_bob(net: SimNetwork, iou_id: str) -> Command:
    return exercise("dvp:Iou", iou_id, "Transfer", recipient=PartyValue(net.domain.party("Bob")))


def submit_regardless(net: SimNetwork, name: str, party: str, command: Command,
                      command_id: str) -> PreparedSubmission:
    """`name`'s real submission steps for `party`, without its own permission check."""
    node = net.participants[name]
    parties = frozenset({net.domain.party(party)})
    submission = CommandSubmission((command,), parties, "sim", command_id, f"{command_id}#r")
    prepared = altered_submission(
        submission, identity=node.machine.config.identity,
        contracts=node.store.lookup(list(parties)), registry=net.domain.registry,
        snapshot=net.domain.snapshot(net.clock_us), now_us=net.clock_us,
        ttl_us=node.machine.config.submission_ttl_us, entropy=node.entropy)
    return net.submit_prepared(name, prepared)


def rehost(net: SimNetwork, hint: str, on: Mapping[str, ParticipantPermission],
           sequenced_us: int) -> int:
    """Host party `hint` on `on` from a change sequenced at `sequenced_us`; returns when the
    change is effective (after the domain's topology change delay)."""
    domain = net.domain
    mapping = PartyToParticipant(domain.party(hint), tuple(
        HostingParticipant(domain.participant_of(n), p) for n, p in on.items()))
    tx = TopologyTransaction(TopologyChangeOp.REPLACE, domain.state.next_serial(mapping.key),
                             mapping)
    return domain.state.accept(tx.sign(domain.root), sequenced_us).stored.valid_from_us
