"""One sequenced event in, one `RecordedEvent` (what to store) and the sends out.

The node's pump calls `EventProcessor.process` for each verified event in order: the topology
client takes the topology broadcasts (effective only after the topology change delay, so the
snapshot at the event's own timestamp is unaffected), the mediator machine handles the event
with that snapshot, and the machine's effects become the rows of one `RecordedEvent` — every
envelope indexed for the auditor, requests, responses, verdicts, topology accepted, receipts
and refusals of our own sends. No I/O here: the node writes the record, then sends.

`replay` feeds a stored event to a fresh processor with the effects discarded: that is how a
restarted or newly active instance rebuilds its pending requests (the machine is
deterministic, so it reaches the state it had).
"""

from __future__ import annotations

from dataclasses import dataclass

from minicanton.core.ids import MemberId
from minicanton.core.protocol.mediator import (
    VERDICT_MESSAGE_ID_PREFIX as VERDICT,
)
from minicanton.core.protocol.mediator import (
    Effect,
    Mediator,
    PersistRequest,
    PersistResponse,
    PersistVerdict,
    RaiseAlarm,
    SendVerdict,
)
from minicanton.core.sequencing.chain import VerifiedEvent
from minicanton.core.sequencing.events import Deliver, DeliverError, SequencedEvent
from minicanton.core.topology.transactions import BROADCAST_MAGIC
from minicanton.runtime.topology_client import TopologyAlarm, TopologyClient
from minicanton.store.mediator_store import MessageIndex, MessageKind, RecordedEvent


@dataclass(frozen=True, slots=True)
class Processed:
    record: RecordedEvent
    sends: tuple[SendVerdict, ...] = ()
    alarms: tuple[RaiseAlarm, ...] = ()
    topology_alarms: tuple[TopologyAlarm, ...] = ()  # already logged by the topology client


class EventProcessor:
    def __init__(self, mediator: Mediator, topology: TopologyClient) -> None:
        self.mediator = mediator
        self.topology = topology

    @property
    def member(self) -> MemberId:
        return self.mediator.mediator_id

    def process(self, verified: VerifiedEvent, signed_event: bytes) -> Processed:
        event = verified.event
        ts_us = event.timestamp_us
        snapshot = self.topology.snapshot(ts_us)
        topology = self.topology.ingest_event(event)
        effects = self.mediator.handle_event(event, snapshot)
        record = RecordedEvent(
            position=verified.position,
            signed_event=signed_event,
            messages=self._index(verified, effects),
            requests=tuple(e for e in effects if isinstance(e, PersistRequest)),
            responses=tuple(e for e in effects if isinstance(e, PersistResponse)),
            verdicts=tuple(e for e in effects if isinstance(e, PersistVerdict)),
            topology=topology.rows,
            receipts=self._receipts(verified),
            send_errors=self._send_errors(verified),
        )
        return Processed(
            record,
            tuple(e for e in effects if isinstance(e, SendVerdict)),
            tuple(e for e in effects if isinstance(e, RaiseAlarm)),
            topology.alarms,
        )

    def replay(self, event: SequencedEvent) -> None:
        """Rebuild state from an event whose effects are already stored (its topology rows
        were restored with the rest of the member topology store)."""
        self.mediator.handle_event(event, self.topology.snapshot(event.timestamp_us))

    # --- what to store -------------------------------------------------------------------

    @staticmethod
    def _index(verified: VerifiedEvent, effects: list[Effect]) -> tuple[MessageIndex, ...]:
        content = verified.event.content
        if not isinstance(content, Deliver):
            return ()
        known: dict[bytes, tuple[MessageKind, int]] = {}
        for effect in effects:
            if isinstance(effect, PersistRequest):
                informee, *root_hashes = effect.payloads
                known[informee] = (MessageKind.INFORMEE_MESSAGE, effect.request_ts_us)
                for payload in root_hashes:
                    known[payload] = (MessageKind.ROOT_HASH_MESSAGE, effect.request_ts_us)
            elif isinstance(effect, PersistResponse):
                known[effect.payload] = (MessageKind.CONFIRMATION_RESPONSE, effect.request_ts_us)
        rows = []
        for index, envelope in enumerate(content.batch.envelopes):
            kind, request_ts_us = known.get(envelope.content, (MessageKind.OTHER, None))
            if kind is MessageKind.OTHER and envelope.content.startswith(BROADCAST_MAGIC):
                kind = MessageKind.TOPOLOGY_BROADCAST
            rows.append(MessageIndex(index, request_ts_us, kind))
        return tuple(rows)

    def _receipts(self, verified: VerifiedEvent) -> tuple[str, ...]:
        content = verified.event.content
        if (isinstance(content, Deliver) and content.sender == self.member
                and content.message_id and content.message_id.startswith(VERDICT)):
            return (content.message_id,)
        return ()

    @staticmethod
    def _send_errors(verified: VerifiedEvent) -> tuple[tuple[str, str], ...]:
        content = verified.event.content
        if isinstance(content, DeliverError) and content.message_id.startswith(VERDICT):
            return ((content.message_id, f"{content.error_id}: {content.reason}"),)
        return ()
