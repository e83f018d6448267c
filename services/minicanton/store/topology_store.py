"""Topology stores: what a member keeps of the topology, and the topology manager's own state.

Theory of operation. Every member (participant, mediator, sequencer, the topology manager
itself) learns the topology from the sequencer and keeps the transactions it accepted as
`TopologyRow`s — the signed bytes and the sequencing time, in acceptance order — written in the
same database transaction as the sequenced event that carried them (and the member's clean
position). At start the rows are replayed into the core's `TopologyState`, which re-validates
every signature: a row altered in the database is refused, not trusted. The rows are all a
member needs; anything else (validity ranges, snapshots) is recomputed.

`TopologyMemberStore` is that store on its own tables (store "topology_member"), for members
that include it; a member with its own table (the participant's `topology_transactions`) maps
`TopologyRow` onto it. `TopologyManagerStore` adds what only the manager has: the domain's
identity and keys, its clean position, participants' onboarding requests, and the outbox of
registrations the sequencers must still apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from minicanton.core.sequencing.events import SequencerPosition
from minicanton.core.topology.state import StoredTopologyTransaction
from minicanton.core.topology.transactions import SignedTopologyTransaction


@dataclass(frozen=True, slots=True)
class TopologyRow:
    """One accepted transaction. `position` is its index in acceptance order (0, 1, …)."""

    position: int
    tx_hash: bytes
    sequenced_us: int
    valid_from_us: int
    signed: bytes

    @classmethod
    def of(cls, position: int, stored: StoredTopologyTransaction) -> TopologyRow:
        return cls(position, stored.hash.digest, stored.sequenced_us, stored.valid_from_us,
                   stored.signed.to_bytes())

    def decode(self) -> tuple[SignedTopologyTransaction, int]:
        """What `TopologyState.restore` takes."""
        return SignedTopologyTransaction.from_bytes(self.signed), self.sequenced_us


class TopologyMemberStore(Protocol):
    async def load(self) -> list[TopologyRow]:
        """Every row, in acceptance order."""
        ...

    async def append(self, connection: Any, rows: Sequence[TopologyRow]) -> None:
        """Insert `rows` inside the caller's transaction on `connection`."""
        ...


@dataclass(frozen=True, slots=True)
class ManagerIdentity:
    """The domain's identity, created at the manager's first start."""

    domain_id: str
    manager_id: str
    namespace_key: bytes  # Ed25519 seed
    member_key: bytes  # Ed25519 seed
    created_at_us: int

    def __repr__(self) -> str:  # never print the private keys
        return f"ManagerIdentity(domain_id={self.domain_id!r}, manager_id={self.manager_id!r})"


class OnboardingState(Enum):
    """Stable: stored."""

    PENDING = "pending"
    ADMITTED = "admitted"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class OnboardingRecord:
    participant: str
    key_mapping: bytes  # the participant-signed SignedTopologyTransaction
    permission: int
    status: OnboardingState
    requested_at_us: int
    decided_at_us: int | None = None
    reason: str = ""


class TopologyManagerStore(TopologyMemberStore, Protocol):
    async def load_identity(self) -> ManagerIdentity | None: ...

    async def create_identity(self, identity: ManagerIdentity) -> ManagerIdentity:
        """Store `identity` unless one exists; the stored one either way."""
        ...

    async def load_position(self) -> SequencerPosition | None: ...

    async def record_event(
        self, position: SequencerPosition, rows: Sequence[TopologyRow],
        admitted: Sequence[str], decided_at_us: int,
        sequencer_sync: Sequence[tuple[str, int]] = (),
    ) -> None:
        """One transaction: the accepted rows, pending requests of `admitted` participants
        marked admitted, the (member, effective time) pairs the sequencers must be told about
        (`sequencer_sync`, kept until `sequencer_sync_done`), and the clean position."""
        ...

    async def pending_sequencer_syncs(self) -> list[tuple[str, int]]:
        """The (member, effective time) pairs not yet applied at the sequencers, oldest first."""
        ...

    async def sequencer_sync_done(self, member: str, effective_us: int) -> None: ...

    async def save_request(self, record: OnboardingRecord) -> None:
        """Insert or replace a participant's request, unless it is already admitted."""
        ...

    async def get_request(self, participant: str) -> OnboardingRecord | None: ...

    async def list_requests(self, pending_only: bool) -> list[OnboardingRecord]: ...

    async def decide(self, participant: str, status: OnboardingState, decided_at_us: int,
                     reason: str = "") -> bool:
        """Mark a pending request decided; False when there is no pending one."""
        ...
