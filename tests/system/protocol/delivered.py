"""What the sequencer delivered to a participant, read the way that participant reads it.

`delivered_to` subscribes to the sequencers *as the participant's member* (its signing key
from its key file, the sequencer's trust anchor), from its first event, through the product's
`SequencerClient` — so every event is checked for the sequencer signature and the counter
chain, and holds exactly the envelopes the sequencer projected for that member. It reads
until it has the member's newest event in the sequencer database, then opens every envelope
with the participant's own encryption key: view messages are decrypted and decoded
(`decode_tree`, `open_views`), protocol messages decoded, topology broadcasts and time proofs
recognised; anything else is reported as unknown, and a view it cannot decrypt as "view for
others" (seed 003: a participant never receives a view it is not entitled to, not even
encrypted).

The sequencer database (`SequencerDb`) is read directly for what a member cannot see from
its own stream: who sent what, and the batch of a request as it was sequenced.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from tests.integration.sequencer.harness import DOMAIN_ID, SEQUENCER_KEY, Recorder
from tests.system.protocol.network import Network

from minicanton.codec.sequencer import decode_stored_envelopes
from minicanton.core.crypto.encryption import decrypt_view
from minicanton.core.errors import CryptoError
from minicanton.core.ids import MemberId, ParticipantId
from minicanton.core.protocol.merkle import decode_tree
from minicanton.core.protocol.message_codec import decode_protocol_message
from minicanton.core.protocol.messages import MAGIC as PROTOCOL_MAGIC
from minicanton.core.protocol.messages import ProtocolMessage
from minicanton.core.protocol.validation_views import open_views
from minicanton.core.protocol.view_message import MAGIC as VIEW_MAGIC
from minicanton.core.protocol.view_message import decode_view_message
from minicanton.core.sequencing.events import Deliver
from minicanton.core.sequencing.stored import StoredEnvelope
from minicanton.core.topology.transactions import BROADCAST_MAGIC
from minicanton.participant.keys import ParticipantKeys, load
from minicanton.runtime.sequencer_client import SequencerClient, SequencerClientConfig


@dataclass(frozen=True)
class Opened:
    """One envelope as delivered (`raw`) and what its recipient can make of it."""

    timestamp_us: int
    sender: str | None  # the sender as the sequencer named it to this member
    kind: str  # "view" | "protocol" | "topology" | "time proof" | "view for others" | "unknown"
    raw: bytes
    plaintext: bytes = b""  # a view's decrypted tree
    entities: frozenset[str] = frozenset()  # templates of a view's actions
    message: ProtocolMessage | None = None


def keys_of(net: Network, name: str) -> ParticipantKeys:
    return load(Path(net.node(name).config["key_file"]))


class SequencerDb:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    @classmethod
    async def connect(cls, net: Network) -> SequencerDb:
        assert net.domain.sequencers is not None
        return cls(await asyncpg.connect(net.domain.sequencers.dsn))

    async def close(self) -> None:
        await self.connection.close()

    async def number_of(self, member: str) -> int:
        number = await self.connection.fetchval(
            "SELECT number FROM sequencer_members WHERE member = $1", member)
        assert number is not None, f"{member} is not a sequencer member"
        return int(number)

    async def head(self, number: int | None = None) -> int:
        """The newest event's timestamp (for one member: addressed to it or sent by it)."""
        if number is None:
            value = await self.connection.fetchval("SELECT max(ts) FROM sequencer_events")
        else:
            value = await self.connection.fetchval(
                "SELECT max(ts) FROM sequencer_events WHERE recipients @> ARRAY[$1::int]",
                number)
        return int(value or 0)

    async def sent_by(self, number: int, after_us: int) -> list[Any]:
        return list(await self.connection.fetch(
            "SELECT ts, message_id, payload, error_id FROM sequencer_events "
            "WHERE sender = $1 AND ts > $2 ORDER BY ts", number, after_us))

    async def events_after(self, after_us: int) -> list[Any]:
        return list(await self.connection.fetch(
            "SELECT ts, sender, message_id, payload FROM sequencer_events WHERE ts > $1 "
            "AND payload IS NOT NULL ORDER BY ts", after_us))


    async def requests_sent_by(self, number: int, after_us: int) -> list[Any]:
        """The confirmation requests (batches with view messages) `number` had sequenced."""
        return [row for row in await self.sent_by(number, after_us)
                if any(s.envelope.content.startswith(VIEW_MAGIC) for s in stored_envelopes(row))]

    async def request_ts(self, number: int, after_us: int) -> int:
        """The sequencing time of the one request `number` had sequenced after `after_us`."""
        requests = await self.requests_sent_by(number, after_us)
        assert len(requests) == 1, f"{len(requests)} requests sequenced so far"
        return int(requests[0]["ts"])


def stored_envelopes(row: Any) -> tuple[StoredEnvelope, ...]:
    return decode_stored_envelopes(row["payload"]) if row["payload"] is not None else ()


def protocol_messages(rows: Iterable[Any]) -> list[tuple[int, ProtocolMessage]]:
    """Every protocol message in these event rows, with its event's timestamp."""
    found = []
    for row in rows:
        for stored in stored_envelopes(row):
            if stored.envelope.content.startswith(PROTOCOL_MAGIC):
                found.append((row["ts"], decode_protocol_message(stored.envelope.content)))
    return found


async def delivered_to(net: Network, name: str, timeout_s: float = 30.0) -> list[Opened]:
    """Every envelope the sequencer has delivered to participant `name`, opened."""
    keys = keys_of(net, name)
    member = MemberId(keys.participant_id)
    db = await SequencerDb.connect(net)
    try:
        head = await db.head(await db.number_of(member))
    finally:
        await db.close()
    assert net.domain.sequencers is not None
    client = SequencerClient(
        domain_id=DOMAIN_ID, member=member, signing_key=keys.signing,
        trusted_sequencer_keys=[SEQUENCER_KEY.public],
        config=SequencerClientConfig(tuple(net.domain.sequencers.endpoints)))
    recorder = Recorder()
    await client.start(recorder)
    try:
        await recorder.wait_for(
            lambda events: bool(events) and events[-1].event.timestamp_us >= head, timeout_s)
    finally:
        await client.close()
    opened = []
    for verified in recorder.events:
        event = verified.event
        assert event.member == member
        if isinstance(event.content, Deliver):
            sender = event.content.sender
            for envelope in event.content.batch.envelopes:
                opened.append(open_envelope(keys, event.timestamp_us, sender, envelope.content))
    return opened


def open_envelope(keys: ParticipantKeys, ts_us: int, sender: str | None,
                  content: bytes) -> Opened:
    if not content:
        return Opened(ts_us, sender, "time proof", content)
    if content.startswith(BROADCAST_MAGIC):
        return Opened(ts_us, sender, "topology", content)
    if content.startswith(PROTOCOL_MAGIC):
        return Opened(ts_us, sender, "protocol", content,
                      message=decode_protocol_message(content))
    if content.startswith(VIEW_MAGIC):
        message = decode_view_message(content)
        try:
            plaintext = decrypt_view(message.encrypted, ParticipantId(keys.participant_id),
                                     keys.encryption)
        except CryptoError:  # a view for others: it should never have been delivered here
            return Opened(ts_us, sender, "view for others", content)
        view = open_views(decode_tree(plaintext), message.view_position)
        entities = frozenset(node.template_id.entity_name
                             for node in view.subtree_nodes().values())
        return Opened(ts_us, sender, "view", content, plaintext, entities)
    return Opened(ts_us, sender, "unknown", content)


def assert_learns_nothing_of(opened: list[Opened], *, contract_ids: Iterable[str],
                             parties: Iterable[str], participants: Iterable[str],
                             entity: str) -> None:
    """Nothing delivered names the hidden contracts, template, parties or participants.

    Topology broadcasts are public within the domain (who hosts which party, with which keys),
    so parties and participants may appear there; nothing else may name them. Contract ids
    and the template may appear nowhere, not even in a topology broadcast."""
    contract_needles = [c.encode() for c in contract_ids]
    identity_needles = [p.encode() for p in [*parties, *participants]]
    assert contract_needles and identity_needles
    for item in opened:
        assert item.kind not in ("unknown", "view for others"), (
            f"a participant got an envelope it cannot read ({item.kind}): {item.raw[:16]!r}")
        where = f"a {item.kind} envelope at {item.timestamp_us}"
        for needle in contract_needles:
            assert needle not in item.raw and needle not in item.plaintext, (needle, where)
        assert entity not in item.entities, (entity, where)
        if item.kind == "topology":
            continue
        assert entity.encode() not in item.plaintext, (entity, where)
        if item.kind == "protocol":
            assert entity.encode() not in item.raw, (entity, where)
        for needle in identity_needles:
            assert needle not in item.raw and needle not in item.plaintext, (needle, where)
        assert item.sender is None or item.sender.encode() not in identity_needles, where
