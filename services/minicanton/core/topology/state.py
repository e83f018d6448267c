"""`TopologyState`: the topology every member keeps, built from accepted transactions.

Theory of operation
-------------------
The topology manager sends each topology transaction through the sequencer; every member feeds
the delivered transactions, in sequencing order, to `accept(signed, sequenced_us)`. No clock
and no I/O: the sequencing time is the only time there is.

* Effective time. A transaction sequenced at `s` becomes effective at
  `s + topology_change_delay_us`, the delay in force at `s` (read from the snapshot at `s`), and
  never before the previous transaction's effective time: when the delay shrinks, effective
  times do not run backwards (Canton's TopologyTimestampPlusEpsilonTracker does the same).
  A change of the delay itself therefore applies to transactions sequenced at or after its own
  effective time.
* Validation. Effective times being monotone, every transaction accepted before is in force by
  the new one's effective time; the new one is authorised against that snapshot (so the root
  certificate and the first mappings of a bootstrap may travel together) and its serial must
  follow the last accepted serial for the same unique key.
* Validity. A mapping is in force on [its effective time, the next version's effective time).
  `snapshot(t)` answers as of `t`; a snapshot never changes once taken.
* Replay. A transaction whose hash is already accepted is a no-op, whatever its signatures: a
  member replaying the sequencer's events after a restart changes nothing.
* Rejection. A transaction that fails validation raises a typed `TopologyError` and leaves the
  state untouched; the shell alarms and moves on (every honest member rejects it alike).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from minicanton.core.hashing import Hash
from minicanton.core.ids import Fingerprint
from minicanton.core.topology.errors import TopologyOutOfOrder, TopologySerialMismatch
from minicanton.core.topology.mappings import (
    DomainParametersState,
    MappingCode,
    MappingKey,
)
from minicanton.core.topology.parameters import DomainParameters
from minicanton.core.topology.snapshot import MappingHistory, TopologySnapshot
from minicanton.core.topology.transactions import (
    SignedTopologyTransaction,
    TopologyChangeOp,
    TopologyTransaction,
)
from minicanton.core.topology.validation import validate

END_OF_TIME_US = (1 << 63) - 1
_PARAMETERS_KEY = MappingKey(MappingCode.DOMAIN_PARAMETERS_STATE, "domain")


@dataclass(frozen=True, slots=True)
class StoredTopologyTransaction:
    """An accepted transaction with its times. `valid_until_us` is None while in force."""

    signed: SignedTopologyTransaction
    sequenced_us: int
    valid_from_us: int
    valid_until_us: int | None = None

    @property
    def transaction(self) -> TopologyTransaction:
        return self.signed.transaction

    @property
    def hash(self) -> Hash:
        return self.signed.hash


@dataclass(frozen=True, slots=True)
class AcceptResult:
    stored: StoredTopologyTransaction
    newly_accepted: bool  # False: a replay of an accepted transaction, nothing changed


class TopologyState:
    def __init__(
        self,
        domain_namespace: Fingerprint,
        genesis_parameters: DomainParameters | None = None,
    ) -> None:
        """`genesis_parameters` apply until a `DomainParametersState` is in force; all members
        of a domain must agree on them (they are part of the domain's static configuration)."""
        self.domain_namespace = domain_namespace
        self.genesis_parameters = genesis_parameters or DomainParameters()
        self._log: list[StoredTopologyTransaction] = []
        self._by_hash: dict[Hash, int] = {}
        self._serials: dict[MappingKey, int] = {}
        self._history = MappingHistory()

    @classmethod
    def restore(
        cls,
        domain_namespace: Fingerprint,
        accepted: Iterable[tuple[SignedTopologyTransaction, int]],
        genesis_parameters: DomainParameters | None = None,
    ) -> TopologyState:
        """Rebuild from a store's (transaction, sequenced_us) rows, re-validating each, so a
        corrupted row is caught rather than trusted."""
        state = cls(domain_namespace, genesis_parameters)
        for signed, sequenced_us in accepted:
            state.accept(signed, sequenced_us)
        return state

    # --- feeding -----------------------------------------------------------------------

    def accept(self, signed: SignedTopologyTransaction, sequenced_us: int) -> AcceptResult:
        """Validate and append; raise a `TopologyError` (state untouched) if invalid."""
        tx_hash = signed.hash
        position = self._by_hash.get(tx_hash)
        if position is not None:
            return AcceptResult(self._log[position], newly_accepted=False)
        stored = self.check(signed, sequenced_us)
        position = len(self._log)
        tx = signed.transaction
        self._log.append(stored)
        self._by_hash[tx_hash] = position
        self._serials[tx.key] = tx.serial
        mapping = tx.mapping if tx.operation is TopologyChangeOp.REPLACE else None
        self._history.append(position, stored.valid_from_us, tx.key, mapping)
        return AcceptResult(stored, newly_accepted=True)

    def check(
        self, signed: SignedTopologyTransaction, sequenced_us: int
    ) -> StoredTopologyTransaction:
        """What `accept` would store, without storing it; raises as `accept` would. The topology
        manager runs this on an admin request before sending it to the sequencer."""
        last = self.last_sequenced_us
        if last is not None and sequenced_us < last:
            raise TopologyOutOfOrder(
                f"sequenced at {sequenced_us}, before the last accepted ({last})"
            )
        tx = signed.transaction
        expected = self.next_serial(tx.key)
        if tx.serial != expected:
            raise TopologySerialMismatch(
                f"{tx.key} has serial {tx.serial}, expected {expected}"
            )
        effective_us = self.effective_time_us(sequenced_us)
        validate(signed, self.snapshot(effective_us))
        return StoredTopologyTransaction(signed, sequenced_us, effective_us)

    def effective_time_us(self, sequenced_us: int) -> int:
        delay_us = self.snapshot(sequenced_us).parameters.topology_change_delay_us
        earliest = self._log[-1].valid_from_us if self._log else sequenced_us
        return max(sequenced_us + delay_us, earliest)

    # --- reading -----------------------------------------------------------------------

    def snapshot(self, t_us: int) -> TopologySnapshot:
        """The topology in force at `t_us` as far as accepted so far; stable once taken."""
        return TopologySnapshot(
            self.domain_namespace, t_us, self.genesis_parameters, self._history, len(self._log)
        )

    def head(self) -> TopologySnapshot:
        """Everything accepted, pending changes included: what the domain is heading to."""
        return self.snapshot(END_OF_TIME_US)

    def snapshot_known_until_us(self, processed_up_to_us: int) -> int:
        """Once every event sequenced at or before `processed_up_to_us` has been fed in,
        snapshots at any `t` up to the returned time are final: any later transaction is
        sequenced after `processed_up_to_us`, with a delay at least the smallest one in force
        or already scheduled, hence effective strictly after the returned time."""
        delays = [self.snapshot(processed_up_to_us).parameters.topology_change_delay_us]
        for _, from_us, mapping in self._history.versions(_PARAMETERS_KEY):
            if from_us > processed_up_to_us and isinstance(mapping, DomainParametersState):
                delays.append(mapping.parameters.topology_change_delay_us)
        return processed_up_to_us + min(delays)

    def next_serial(self, key: MappingKey) -> int:
        return self._serials.get(key, 0) + 1

    @property
    def last_sequenced_us(self) -> int | None:
        return self._log[-1].sequenced_us if self._log else None

    def __len__(self) -> int:
        return len(self._log)

    def get(self, tx_hash: Hash) -> StoredTopologyTransaction | None:
        position = self._by_hash.get(tx_hash)
        return None if position is None else self._with_until(position)

    def transactions(self) -> tuple[StoredTopologyTransaction, ...]:
        """Every accepted transaction in acceptance order, with its validity range."""
        return tuple(self._with_until(p) for p in range(len(self._log)))

    def history(self, key: MappingKey) -> tuple[StoredTopologyTransaction, ...]:
        """The accepted transactions for one unique key, oldest first, with validity ranges."""
        return tuple(self._with_until(p) for p, _, _ in self._history.versions(key))

    def _with_until(self, position: int) -> StoredTopologyTransaction:
        stored = self._log[position]
        later = [
            from_us
            for p, from_us, _ in self._history.versions(stored.transaction.key)
            if p > position
        ]
        return replace(stored, valid_until_us=later[0]) if later else stored
