"""A member's topology: what participants, mediators and sequencers (and the topology manager
itself) use to follow the domain topology from their sequencer subscription.

Theory of operation
-------------------
The topology manager sends every accepted change as a `TopologyBroadcast` (bytes starting
b"MCTB") to all members through the sequencer. A member's event pump hands each sequenced event
to `TopologyClient.ingest_event(event)`, in sequencing order, inside the database transaction
that records the event's effects and the member's clean position; it writes the returned
`rows` with that same transaction (`MemberTopology.process` does both). So a transaction is
stored exactly when its event is processed: after a crash the event is replayed and its
transactions accepted again, and a replayed transaction already accepted is a no-op in the
core, so nothing is applied twice.

Each transaction is validated by the core (`TopologyState.accept`) at the event's sequencing
time: signatures by the domain namespace (the only authority) and proofs of possession, serial
order. One that fails — undecodable, forged, tampered, out of order — is not stored; the member
raises an alarm (an ERROR log line and the `minicanton_topology_alarms_total` counter) and goes
on: every honest member rejects it alike, so all keep the same topology.

`snapshot(t_us)` answers "topology as of t" from memory. It is final for any t up to
`known_until_us(last processed timestamp)`; a member evaluating a request at its sequencing
time t has processed every event before t, and since a change is effective strictly after its
sequencing time, the snapshot at t is complete.

Late joiners. A member registered after the domain started does not receive the broadcasts
sequenced before its registration. Before it processes its first event ever (timestamp T0), it
fetches from the topology manager every accepted transaction with its original sequencing
time (`FetchTopologyState`, which answers only once the manager has processed everything up to
T0 - 1) and accepts those sequenced before T0 (`bootstrap`), storing them in the same
transaction as that first event. Everything from T0 on comes from its own subscription. The
fetched transactions are validated exactly like broadcast ones, against the domain namespace
the member trusts from its configuration, so a corrupted answer cannot inject anything; a
bootstrap that does not validate stops the member (`TopologyBootstrapFailed`).

In-memory state is updated as events are ingested, before the caller commits; a caller whose
transaction fails must `reload` (or restart) so memory matches the database again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from prometheus_client import Counter

from minicanton.core.ids import Fingerprint, MemberId
from minicanton.core.sequencing.events import Deliver, SequencedEvent
from minicanton.core.topology.errors import TopologyDecodeError, TopologyError
from minicanton.core.topology.parameters import DomainParameters
from minicanton.core.topology.snapshot import TopologySnapshot
from minicanton.core.topology.state import StoredTopologyTransaction, TopologyState
from minicanton.core.topology.transactions import (
    BROADCAST_MAGIC,
    SignedTopologyTransaction,
    TopologyBroadcast,
)
from minicanton.store.postgres.topology_store import PostgresTopologyMemberStore
from minicanton.store.topology_store import TopologyRow

log = logging.getLogger(__name__)

TOPOLOGY_ALARMS = Counter(
    "minicanton_topology_alarms_total",
    "Topology transactions a member refused as forged, tampered or invalid",
    ["member", "error_id"],
)


class TopologyBootstrapFailed(TopologyError):
    """The topology fetched at bootstrap does not validate: the member must not start."""

    error_id = "TOPOLOGY_BOOTSTRAP_FAILED"
    grpc_status = "FAILED_PRECONDITION"


@dataclass(frozen=True, slots=True)
class TopologyAlarm:
    member: MemberId
    sequenced_us: int
    sender: str | None  # None: a participant is not told which other participant sent it
    error_id: str
    message: str


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: tuple[StoredTopologyTransaction, ...] = ()  # newly accepted, in order
    rows: tuple[TopologyRow, ...] = ()  # to store in the caller's transaction
    alarms: tuple[TopologyAlarm, ...] = ()

    def __add__(self, other: IngestResult) -> IngestResult:
        return IngestResult(self.accepted + other.accepted, self.rows + other.rows,
                            self.alarms + other.alarms)


_NOTHING_INGESTED = IngestResult()


def is_topology_payload(content: bytes) -> bool:
    return content.startswith(BROADCAST_MAGIC)


class TopologyClient:
    def __init__(
        self, member: MemberId, domain_namespace: Fingerprint,
        genesis_parameters: DomainParameters | None = None,
        on_alarm: Callable[[TopologyAlarm], None] | None = None,
    ) -> None:
        self.member = member
        self.state = TopologyState(domain_namespace, genesis_parameters)
        self.alarms: list[TopologyAlarm] = []
        self._on_alarm = on_alarm

    def restore(self, rows: Iterable[TopologyRow]) -> None:
        """Replace the state by the stored rows, re-validating each."""
        fresh = TopologyState(self.state.domain_namespace, self.state.genesis_parameters)
        for row in rows:
            signed, sequenced_us = row.decode()
            fresh.accept(signed, sequenced_us)
        self.state = fresh

    # --- ingesting ---------------------------------------------------------------------

    def ingest_event(self, event: SequencedEvent) -> IngestResult:
        """Accept the topology broadcasts among the event's envelopes (most events hold none:
        they get the one shared empty result, nothing is built for them)."""
        content = event.content
        result = _NOTHING_INGESTED
        if isinstance(content, Deliver):
            for envelope in content.batch.envelopes:
                if is_topology_payload(envelope.content):
                    result += self.ingest(event.timestamp_us, content.sender, envelope.content)
        return result

    def ingest(self, sequenced_us: int, sender: str | None, content: bytes) -> IngestResult:
        try:
            broadcast = TopologyBroadcast.from_bytes(content)
        except TopologyDecodeError as error:
            return IngestResult(alarms=(self._alarm(sequenced_us, sender, error),))
        accepted: list[StoredTopologyTransaction] = []
        alarms: list[TopologyAlarm] = []
        for signed in broadcast.transactions:
            try:
                result = self.state.accept(signed, sequenced_us)
            except TopologyError as error:
                alarms.append(self._alarm(sequenced_us, sender, error))
                continue
            if result.newly_accepted:
                accepted.append(result.stored)
        return self._result(accepted, alarms)

    def bootstrap(
        self, transactions: Iterable[tuple[SignedTopologyTransaction, int]], before_us: int
    ) -> IngestResult:
        """Accept the fetched transactions sequenced before `before_us` (the member's first
        event). Any that does not validate stops the bootstrap: the source is not trusted."""
        accepted: list[StoredTopologyTransaction] = []
        for signed, sequenced_us in transactions:
            if sequenced_us >= before_us:
                break
            try:
                result = self.state.accept(signed, sequenced_us)
            except TopologyError as error:
                raise TopologyBootstrapFailed(
                    f"fetched topology transaction {signed.transaction.key} at {sequenced_us} "
                    f"does not validate: {error.error_id}: {error.message}"
                ) from None
            if result.newly_accepted:
                accepted.append(result.stored)
        return self._result(accepted, [])

    def _result(
        self, accepted: Sequence[StoredTopologyTransaction], alarms: Sequence[TopologyAlarm]
    ) -> IngestResult:
        first = len(self.state) - len(accepted)
        rows = tuple(TopologyRow.of(first + i, s) for i, s in enumerate(accepted))
        return IngestResult(tuple(accepted), rows, tuple(alarms))

    def _alarm(
        self, sequenced_us: int, sender: str | None, error: TopologyError
    ) -> TopologyAlarm:
        alarm = TopologyAlarm(self.member, sequenced_us, sender, error.error_id, error.message)
        log.error(
            "ALARM: refused topology broadcast sequenced at %d from %s: %s: %s",
            sequenced_us, sender or "an undisclosed sender", error.error_id, error.message,
            extra={"fields": {"alarm": "topology", "error_id": error.error_id,
                              "sender": sender, "sequenced_us": sequenced_us}},
        )
        TOPOLOGY_ALARMS.labels(self.member, error.error_id).inc()
        self.alarms.append(alarm)
        if self._on_alarm is not None:
            self._on_alarm(alarm)
        return alarm

    # --- reading -----------------------------------------------------------------------

    def snapshot(self, t_us: int) -> TopologySnapshot:
        return self.state.snapshot(t_us)

    def head(self) -> TopologySnapshot:
        return self.state.head()

    def known_until_us(self, processed_up_to_us: int) -> int:
        return self.state.snapshot_known_until_us(processed_up_to_us)

    @property
    def last_sequenced_us(self) -> int | None:
        return self.state.last_sequenced_us


class MemberTopology:
    """A `TopologyClient` on the member's own "topology_member" store (its database must have
    the store's migrations: `migrate_member_store`)."""

    def __init__(self, client: TopologyClient, store: PostgresTopologyMemberStore) -> None:
        self.client = client
        self.store = store

    @classmethod
    async def open(
        cls, pool: asyncpg.Pool, member: MemberId, domain_namespace: Fingerprint,
        genesis_parameters: DomainParameters | None = None,
    ) -> MemberTopology:
        topology = cls(TopologyClient(member, domain_namespace, genesis_parameters),
                       PostgresTopologyMemberStore(pool))
        await topology.reload()
        return topology

    async def reload(self) -> None:
        self.client.restore(await self.store.load())

    async def process(self, connection: Any, event: SequencedEvent) -> IngestResult:
        """Ingest `event`; store what it adds on `connection` (the caller's transaction)."""
        result = self.client.ingest_event(event)
        await self.store.append(connection, result.rows)
        return result

    async def bootstrap(
        self, connection: Any, transactions: Iterable[tuple[SignedTopologyTransaction, int]],
        before_us: int,
    ) -> IngestResult:
        result = self.client.bootstrap(transactions, before_us)
        await self.store.append(connection, result.rows)
        return result
