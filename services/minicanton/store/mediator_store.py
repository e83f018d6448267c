"""The mediator store: what processing sequenced events writes, and what the auditor reads.

Theory of operation. The mediator handles its sequenced events in order and writes everything
one or more events cause — the events themselves (the audit log, with the sequencer's
signature as evidence), one index row per envelope, the requests, responses and verdicts the
machine decided, topology transactions accepted (into the shared member topology store,
`store.topology_store`), receipts of its own verdict sends — in ONE
database transaction together with the new clean position (`record_events`). An event at or
below the stored clean position is recognised and skipped, so a replay is harmless.

Active-passive: all instances of one mediator share the database; the instance holding the
lease is the active one. Every `record_events` re-checks the lease (holder and epoch) inside
its transaction and holds it shared until commit, so an instance that lost the lease can never
write again (fencing), and a takeover waits for the last write of the old leader to finish.
A holder restarting under the same name takes its lease back at once, with a new epoch (its
previous incarnation, were it somehow alive, is fenced by the epoch). Holder and epoch are
the whole fence: the expiry lets another instance take the lease, but a holder whose lease
lapsed while nobody took it (a paused process) may renew it and go on, since nobody else
can have written meanwhile.

`PostgresMediatorStore` (store/postgres/mediator_store.py) implements it with asyncpg.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from minicanton.core.errors import MinicantonError
from minicanton.core.ids import ParticipantId
from minicanton.core.protocol.mediator import PersistRequest, PersistResponse, PersistVerdict
from minicanton.core.sequencing.events import SequencerPosition
from minicanton.store.topology_store import TopologyRow


class LeaseLost(MinicantonError):
    """This instance is no longer the active mediator: it must stop writing and sending."""

    error_id = "MEDIATOR_LEASE_LOST"


class MessageKind(Enum):
    """What an envelope the mediator received was (stable: stored)."""

    INFORMEE_MESSAGE = "informee_message"
    ROOT_HASH_MESSAGE = "root_hash_message"
    CONFIRMATION_RESPONSE = "confirmation_response"
    TOPOLOGY_BROADCAST = "topology_broadcast"
    OTHER = "other"  # undecodable or not meant for the mediator: kept as evidence


@dataclass(frozen=True, slots=True)
class Lease:
    holder: str
    epoch: int


@dataclass(frozen=True, slots=True)
class MessageIndex:
    envelope_index: int
    request_ts_us: int | None
    kind: MessageKind


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """One processed event and everything it caused."""

    position: SequencerPosition
    signed_event: bytes  # the SignedSequencedEvent as delivered (codec bytes)
    messages: tuple[MessageIndex, ...] = ()
    requests: tuple[PersistRequest, ...] = ()
    responses: tuple[PersistResponse, ...] = ()
    verdicts: tuple[PersistVerdict, ...] = ()
    topology: tuple[TopologyRow, ...] = ()  # accepted now, written to the member store
    receipts: tuple[str, ...] = ()  # message ids of our sends sequenced in this event
    send_errors: tuple[tuple[str, str], ...] = field(default=())  # (message id, reason)


@dataclass(frozen=True, slots=True)
class OutboxVerdict:
    request_ts_us: int
    message_id: str
    recipients: tuple[ParticipantId, ...]
    max_sequencing_time_us: int
    result: bytes  # encoded MediatorResult: the full verdict, never to be sent to everyone
    deliveries: tuple[bytes, ...] = ()  # encoded MediatorResult sent to recipients[i]


@dataclass(frozen=True, slots=True)
class AuditedMessage:
    """An envelope the mediator received, as the auditor API returns it."""

    ts_us: int
    envelope_index: int
    request_ts_us: int | None
    kind: MessageKind
    recipients: tuple[str, ...]
    payload: bytes


@dataclass(frozen=True, slots=True)
class StoredVerdict:
    request_ts_us: int
    decided_ts_us: int
    message_id: str
    verdict: str
    result: bytes
    sent_ts_us: int | None
    send_error: str | None


class MediatorStore(Protocol):
    async def acquire_lease(self, holder: str, ttl_ms: int) -> Lease | None: ...

    async def renew_lease(self, lease: Lease, ttl_ms: int) -> bool: ...

    async def release_lease(self, lease: Lease) -> None: ...

    async def clean_position(self) -> SequencerPosition | None: ...

    async def record_events(self, lease: Lease, events: Sequence[RecordedEvent]) -> int:
        """Store `events` (in order) with the last one's position; the number newly stored."""
        ...

    async def topology_transactions(self) -> list[TopologyRow]:
        """The member topology store's rows, for `TopologyState.restore`."""
        ...

    async def replay_start_ts(self, clean_ts_us: int) -> int | None:
        """The timestamp from which stored events must be replayed to rebuild the machine:
        the oldest request whose decision time is after `clean_ts_us`."""
        ...

    async def signed_events(self, from_ts_us: int, to_ts_us: int) -> list[bytes]: ...

    async def unsent_verdicts(self) -> list[OutboxVerdict]: ...

    async def mark_send_error(self, lease: Lease, message_id: str, reason: str) -> None:
        """A sequencer refused our verdict send for good (e.g. its max sequencing time)."""
        ...

    async def verdict(self, request_ts_us: int) -> StoredVerdict | None: ...

    async def messages_for_request(self, request_ts_us: int) -> list[AuditedMessage]: ...

    async def messages_between(
        self, from_ts_us: int, to_ts_us: int, limit: int
    ) -> list[AuditedMessage]: ...
