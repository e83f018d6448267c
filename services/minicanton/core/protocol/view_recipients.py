"""Transparency: a view must have gone to every participant hosting one of its informees.

Seed 003 asks that "participants who should be notified get notified", and Canton's
participants validate the recipients of the views they receive. The submitter addresses each
view to the participants hosting the parties entitled to it (its informees and its ancestors'
informees); the sequencer tells each recipient who an envelope was addressed to. A participant
holding a view checks that every participant hosting one of the view's own informees (any
permission, observation included) was among them. Otherwise the request is malformed, and a
confirming holder rejects it: an informee's participant left out would never learn of a
contract its party is a stakeholder of, while the others commit it.

Ancestors' informees cannot be checked here (a subview's holder need not hold the parent), and
need not be: the parent's own holders check the parent's informees, and the parent's
informees are exactly who is entitled to its subviews as a consequence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from minicanton.core.ids import MemberId, ParticipantId, PartyId
from minicanton.core.protocol.merkle import MerklePath
from minicanton.core.protocol.validation_views import OpenView
from minicanton.core.protocol.view_message import EncryptedViewMessage
from minicanton.core.sequencing.batch import GroupRecipient, MemberRecipient, Recipient
from minicanton.core.topology.snapshot import TopologySnapshot


def recipient_problems(
    messages: Sequence[EncryptedViewMessage],
    recipients: Sequence[tuple[Recipient, ...]],
    opened: Iterable[OpenView],
    snapshot: TopologySnapshot,
) -> list[str]:
    """One line per opened view whose envelope missed a participant hosting an informee."""
    by_position: dict[MerklePath, OpenView] = {view.position: view for view in opened}
    problems = []
    for message, addressed in zip(messages, recipients, strict=True):
        view = by_position.get(message.view_position)
        if view is None or any(isinstance(r, GroupRecipient) for r in addressed):
            continue  # not opened (a problem of its own), or sent to a whole group
        reached = {r.member for r in addressed if isinstance(r, MemberRecipient)}
        missing = sorted(_hosts(view.common.informees, snapshot) - reached)
        if missing:
            problems.append(f"the view at {message.view_position} was not sent to "
                            f"{', '.join(missing)}, which host its informees")
    return problems


def _hosts(parties: Iterable[str], snapshot: TopologySnapshot) -> set[MemberId]:
    hosts: set[ParticipantId] = set()
    for party in parties:
        hosts.update(snapshot.hosting_participants(PartyId(party)))
    return {MemberId(participant) for participant in hosts}
