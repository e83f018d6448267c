"""Topology transactions: REPLACE or REMOVE one mapping, with a serial, signed.

We follow Canton's newer (3.x) model rather than 2.x's ADD/REMOVE pairs: a transaction
carries `serial`, and it must be exactly one more than the serial of the last accepted
transaction with the same unique key (the first one is serial 1). REPLACE puts its mapping in
force in place of the previous one for that key; REMOVE ends the key's current mapping, and a
later REPLACE may bring it back with the next serial. Serials make a replayed old transaction
(say, one re-adding a revoked key) impossible to accept again, and let an admin see and order
concurrent edits.

The hash of a transaction is the purpose-tagged hash (`TOPOLOGY_TRANSACTION`) of its
canonical bytes; signatures cover that hash, so any change to the bytes breaks them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum

from minicanton.core.crypto.signing import Signature, SigningKeyPair
from minicanton.core.hashing import Hash, HashPurpose, hash_of
from minicanton.core.ids import Fingerprint
from minicanton.core.topology.errors import InvalidTopologyMapping, TopologyDecodeError
from minicanton.core.topology.mappings import MappingKey, TopologyMapping
from minicanton.core.topology.serialization import Reader, Writer, read_mapping, write_mapping

FORMAT_VERSION = 1
MAX_SERIAL = (1 << 32) - 1
_FINGERPRINT = re.compile(r"^1220[0-9a-f]{64}$")


class TopologyChangeOp(IntEnum):
    """Stable numbers (encoded)."""

    REPLACE = 1
    REMOVE = 2


@dataclass(frozen=True, slots=True)
class TopologyTransaction:
    operation: TopologyChangeOp
    serial: int
    mapping: TopologyMapping

    def __post_init__(self) -> None:
        if not isinstance(self.operation, TopologyChangeOp):
            raise InvalidTopologyMapping(f"unknown topology operation {self.operation!r}")
        if isinstance(self.serial, bool) or not isinstance(self.serial, int):
            raise InvalidTopologyMapping(f"serial must be an integer, got {self.serial!r}")
        if not 1 <= self.serial <= MAX_SERIAL:
            raise InvalidTopologyMapping(f"serial must be in [1, {MAX_SERIAL}], got {self.serial}")

    @property
    def key(self) -> MappingKey:
        return self.mapping.key

    @property
    def hash(self) -> Hash:
        return hash_of(HashPurpose.TOPOLOGY_TRANSACTION, self.to_bytes())

    def to_bytes(self) -> bytes:
        w = Writer()
        w.u8(FORMAT_VERSION)
        w.u8(self.operation)
        w.u32(self.serial)
        write_mapping(w, self.mapping)
        return w.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TopologyTransaction:
        r = Reader(data)
        tx = _read_transaction(r)
        r.end()
        if tx.to_bytes() != data:
            raise TopologyDecodeError("not the canonical encoding of a topology transaction")
        return tx

    def sign(self, *keys: SigningKeyPair) -> SignedTopologyTransaction:
        return SignedTopologyTransaction(self, ()).with_signatures(*keys)


def _read_transaction(r: Reader) -> TopologyTransaction:
    version = r.u8()
    if version != FORMAT_VERSION:
        raise TopologyDecodeError(f"unsupported topology transaction format {version}")
    op_number = r.u8()
    serial = r.u32()
    mapping = read_mapping(r)
    try:
        return TopologyTransaction(TopologyChangeOp(op_number), serial, mapping)
    except (InvalidTopologyMapping, ValueError) as err:
        raise TopologyDecodeError(f"invalid topology transaction: {err}") from None


@dataclass(frozen=True, slots=True)
class SignedTopologyTransaction:
    """A transaction with its signatures, at most one per key, kept sorted by signer."""

    transaction: TopologyTransaction
    signatures: tuple[Signature, ...]

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.signatures, key=lambda s: s.signed_by))
        object.__setattr__(self, "signatures", ordered)
        if len({s.signed_by for s in ordered}) != len(ordered):
            raise InvalidTopologyMapping("a key signed the topology transaction twice")

    @property
    def hash(self) -> Hash:
        return self.transaction.hash

    @property
    def signers(self) -> frozenset[Fingerprint]:
        return frozenset(s.signed_by for s in self.signatures)

    def with_signatures(self, *keys: SigningKeyPair) -> SignedTopologyTransaction:
        """Add signatures by `keys` (a key that already signed is not added twice)."""
        tx_hash = self.hash
        new = [
            key.sign(tx_hash, HashPurpose.TOPOLOGY_TRANSACTION)
            for key in keys
            if key.fingerprint not in self.signers
        ]
        unique = {s.signed_by: s for s in new}
        return SignedTopologyTransaction(self.transaction, self.signatures + tuple(unique.values()))

    def to_bytes(self) -> bytes:
        w = Writer()
        w.u8(FORMAT_VERSION)
        w.raw(self.transaction.to_bytes())
        w.u32(len(self.signatures))
        for sig in self.signatures:
            w.text(sig.signed_by)
            w.u32(sig.purpose)
            w.raw(sig.raw)
        return w.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> SignedTopologyTransaction:
        """Decode strictly; any deviation from the canonical form is a `TopologyDecodeError`."""
        r = Reader(data)
        version = r.u8()
        if version != FORMAT_VERSION:
            raise TopologyDecodeError(f"unsupported signed topology format {version}")
        tx = TopologyTransaction.from_bytes(r.raw())
        signatures = tuple(_read_signature(r) for _ in range(r.count(76)))
        r.end()
        try:
            signed = cls(tx, signatures)
        except InvalidTopologyMapping as err:
            raise TopologyDecodeError(err.message) from None
        if signed.to_bytes() != data:
            raise TopologyDecodeError("not the canonical encoding of a signed transaction")
        return signed


def _read_signature(r: Reader) -> Signature:
    signed_by = r.text()
    if not _FINGERPRINT.match(signed_by):
        raise TopologyDecodeError(f"signer {signed_by!r} is not a key fingerprint")
    purpose_number = r.u32()
    try:
        purpose = HashPurpose(purpose_number)
    except ValueError:
        raise TopologyDecodeError(f"unknown hash purpose {purpose_number}") from None
    raw = r.raw()
    if len(raw) != 64:
        raise TopologyDecodeError(f"an Ed25519 signature is 64 bytes, got {len(raw)}")
    return Signature(Fingerprint(signed_by), purpose, raw)


BROADCAST_MAGIC = b"MCTB"
MAX_BROADCAST_TRANSACTIONS = 1024


@dataclass(frozen=True, slots=True)
class TopologyBroadcast:
    """What the topology manager sends through the sequencer to all members: accepted
    transactions in the order they must be applied (Canton's TopologyTransactionsBroadcast).
    Its bytes start with `BROADCAST_MAGIC`, so a member can route a payload by its prefix."""

    transactions: tuple[SignedTopologyTransaction, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "transactions", tuple(self.transactions))
        if not 1 <= len(self.transactions) <= MAX_BROADCAST_TRANSACTIONS:
            raise InvalidTopologyMapping(
                f"a broadcast carries 1-{MAX_BROADCAST_TRANSACTIONS} transactions"
            )

    def to_bytes(self) -> bytes:
        w = Writer()
        w.u8(FORMAT_VERSION)
        w.u32(len(self.transactions))
        for signed in self.transactions:
            w.raw(signed.to_bytes())
        return BROADCAST_MAGIC + w.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TopologyBroadcast:
        if not data.startswith(BROADCAST_MAGIC):
            raise TopologyDecodeError("not a topology broadcast")
        r = Reader(data[len(BROADCAST_MAGIC) :])
        version = r.u8()
        if version != FORMAT_VERSION:
            raise TopologyDecodeError(f"unsupported topology broadcast format {version}")
        count = r.count(4)
        signed = tuple(SignedTopologyTransaction.from_bytes(r.raw()) for _ in range(count))
        r.end()
        try:
            return cls(signed)
        except InvalidTopologyMapping as err:
            raise TopologyDecodeError(err.message) from None
