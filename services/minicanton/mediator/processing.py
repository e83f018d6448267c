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

from collections.abc import Sequence
from dataclasses import dataclass

from minicanton.core.ids import MemberId
from minicanton.core.protocol.mediator import (
    VERDICT_MESSAGE_ID_PREFIX as VERDICT,
)
from minicanton.core.protocol.mediator import (
    Mediator,
    PersistRequest,
    PersistResponse,
    PersistVerdict,
    RaiseAlarm,
    SendVerdict,
)
from minicanton.core.sequencing.batch import Envelope
from minicanton.core.sequencing.chain import VerifiedEvent
from minicanton.core.sequencing.events import Deliver, DeliverError, EventContent, SequencedEvent
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
        content = event.content
        snapshot = self.topology.snapshot(event.timestamp_us)
        envelopes: tuple[Envelope, ...] = (
            content.batch.envelopes if isinstance(content, Deliver) else ())
        topology = self.topology.ingest_event(event)
        effects = self.mediator.handle_event(event, snapshot)
        # one pass sorts the effects (most events cause one or two)
        requests: list[PersistRequest] = []
        responses: list[PersistResponse] = []
        verdicts: list[PersistVerdict] = []
        sends: list[SendVerdict] = []
        alarms: list[RaiseAlarm] = []
        for effect in effects:
            if isinstance(effect, PersistResponse):
                responses.append(effect)
            elif isinstance(effect, PersistRequest):
                requests.append(effect)
            elif isinstance(effect, PersistVerdict):
                verdicts.append(effect)
            elif isinstance(effect, SendVerdict):
                sends.append(effect)
            elif isinstance(effect, RaiseAlarm):
                alarms.append(effect)
        record = RecordedEvent(
            verified.position, signed_event, self._index(envelopes, requests, responses),
            tuple(requests), tuple(responses), tuple(verdicts), topology.rows,
            self._receipts(content), self._send_errors(content),
        )
        return Processed(record, tuple(sends), tuple(alarms), topology.alarms)

    def replay(self, event: SequencedEvent) -> None:
        """Rebuild state from an event whose effects are already stored (its topology rows
        were restored with the rest of the member topology store)."""
        self.mediator.handle_event(event, self.topology.snapshot(event.timestamp_us))

    # --- what to store -------------------------------------------------------------------

    @staticmethod
    def _index(envelopes: Sequence[Envelope], requests: Sequence[PersistRequest],
               responses: Sequence[PersistResponse]) -> tuple[MessageIndex, ...]:
        """Every envelope of a delivered event (none of anything else), with what it is."""
        if not envelopes:
            return ()
        known: dict[bytes, tuple[MessageKind, int]] = {}
        for request in requests:
            informee, *root_hashes = request.payloads
            known[informee] = (MessageKind.INFORMEE_MESSAGE, request.request_ts_us)
            for payload in root_hashes:
                known[payload] = (MessageKind.ROOT_HASH_MESSAGE, request.request_ts_us)
        for response in responses:
            known[response.payload] = (MessageKind.CONFIRMATION_RESPONSE, response.request_ts_us)
        rows = []
        for index, envelope in enumerate(envelopes):
            kind, request_ts_us = known.get(envelope.content, (MessageKind.OTHER, None))
            if kind is MessageKind.OTHER and envelope.content.startswith(BROADCAST_MAGIC):
                kind = MessageKind.TOPOLOGY_BROADCAST
            rows.append(MessageIndex(index, request_ts_us, kind))
        return tuple(rows)

    def _receipts(self, content: EventContent) -> tuple[str, ...]:
        if (isinstance(content, Deliver) and content.sender == self.member
                and content.message_id and content.message_id.startswith(VERDICT)):
            return (content.message_id,)
        return ()

    @staticmethod
    def _send_errors(content: EventContent) -> tuple[tuple[str, str], ...]:
        if isinstance(content, DeliverError) and content.message_id.startswith(VERDICT):
            return ((content.message_id, f"{content.error_id}: {content.reason}"),)
        return ()
