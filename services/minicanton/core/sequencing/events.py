"""Sequenced events: what a member reads from its own stream, one per timestamp.

Every event names its domain and member, carries the member's gapless counter, the
domain-unique timestamp and the member's previous timestamp (a chain), and is signed by the
serving sequencer over the hash of its serialized bytes (HashPurpose.SEQUENCED_EVENT), as
Canton's SignedContent signs the hash of the content's bytes: the sequencer hashes the bytes
it sends, a member the bytes it received, and neither rebuilds a hash from the event's parts.
Member and domain are inside those bytes, so an event signed for one member cannot be replayed
to another. Several events served together may share one signature over a run root, each with
its inclusion proof (run_signature.py): the evidence is the same, the signing and verifying
once per run.

The core never encodes the wire form: a `SignedSequencedEvent` carries the event's bytes
(`event_bytes`) and the event they encode, and the codec is the only place that makes one,
from bytes it parses or from an event it encodes (codec/sequencer.py), so the two always
agree. Everything signed and checked is the bytes; the event is what a reader then trusts.
The codec's parse reads the bytes sequencers write through `event_wire.decode_signed_event`,
compiled here, which gives exactly what its protobuf path gives or declines (event_wire.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from minicanton.core.crypto.signing import (
    Signature,
    SigningKeyPair,
    SigningPublicKey,
)
from minicanton.core.errors import CryptoError
from minicanton.core.hashing import Hash, HashPurpose, hash_of
from minicanton.core.ids import Fingerprint, MemberId
from minicanton.core.sequencing.batch import Batch
from minicanton.core.sequencing.errors import EventVerificationFailed
from minicanton.core.sequencing.run_signature import (
    RunProof,
    RunSignatureCache,
    sign_run,
    verify_in_run,
)


@dataclass(frozen=True, slots=True)
class Deliver:
    """A sequenced batch as the reading member sees it: only its envelopes. `message_id` is
    set only in the sender's copy, which is its receipt. `sender` is None where the reader may
    not learn who sent the batch (`stored.sender_visible`): a participant is never told which
    other participant submitted (seed 003, sender privacy; Canton's `Deliver` has no sender)."""

    sender: MemberId | None
    message_id: str | None
    batch: Batch

    def __init__(self, sender: MemberId | None, message_id: str | None, batch: Batch) -> None:
        object.__setattr__(self, "sender", sender)
        object.__setattr__(self, "message_id", message_id)
        object.__setattr__(self, "batch", batch)


@dataclass(frozen=True, slots=True)
class DeliverError:
    """To the sender only: its request reached sequencing but could not be delivered."""

    message_id: str
    error_id: str
    reason: str

    def __init__(self, message_id: str, error_id: str, reason: str) -> None:
        object.__setattr__(self, "message_id", message_id)
        object.__setattr__(self, "error_id", error_id)
        object.__setattr__(self, "reason", reason)


EventContent = Deliver | DeliverError


@dataclass(frozen=True, slots=True)
class SequencedEvent:
    domain_id: str
    member: MemberId
    counter: int
    timestamp_us: int
    previous_timestamp_us: int | None
    content: EventContent

    def __init__(
        self,
        domain_id: str,
        member: MemberId,
        counter: int,
        timestamp_us: int,
        previous_timestamp_us: int | None,
        content: EventContent,
    ) -> None:
        object.__setattr__(self, "domain_id", domain_id)
        object.__setattr__(self, "member", member)
        object.__setattr__(self, "counter", counter)
        object.__setattr__(self, "timestamp_us", timestamp_us)
        object.__setattr__(self, "previous_timestamp_us", previous_timestamp_us)
        object.__setattr__(self, "content", content)


@dataclass(frozen=True, slots=True)
class SignedSequencedEvent:
    """`event_bytes` is the serialized SequencedEvent exactly as signed and sent, `event` what
    they decode to (made only by the codec, which guarantees it). `signature` is over the
    event hash (`event_hash(event_bytes)`) when `run_proof` is empty, else over the root the
    proof leads to from the event hash (HashPurpose.SEQUENCED_EVENT_RUN)."""

    event: SequencedEvent
    event_bytes: bytes
    signature: Signature
    run_proof: RunProof = ()

    def __init__(
        self,
        event: SequencedEvent,
        event_bytes: bytes,
        signature: Signature,
        run_proof: RunProof = (),
    ) -> None:
        object.__setattr__(self, "event", event)
        object.__setattr__(self, "event_bytes", event_bytes)
        object.__setattr__(self, "signature", signature)
        object.__setattr__(self, "run_proof", run_proof)


def event_hash(event_bytes: bytes) -> Hash:
    """The hash a sequencer signs: of the event's serialized bytes, as they travel."""
    return hash_of(HashPurpose.SEQUENCED_EVENT, event_bytes)


def sign_events(events: Sequence[SequencedEvent], encoded: Sequence[bytes],
                key: SigningKeyPair) -> list[SignedSequencedEvent]:
    """The events signed together: one signature over their run root (one event: over its
    hash alone). `encoded[i]` is the serialized `events[i]` (the codec's `event_bytes`), which
    is what is hashed and signed."""
    if len(encoded) != len(events):
        raise ValueError("one serialized event per event")
    signed = sign_run([event_hash(raw) for raw in encoded], key, HashPurpose.SEQUENCED_EVENT,
                      HashPurpose.SEQUENCED_EVENT_RUN)
    return [SignedSequencedEvent(event, raw, signature, proof)
            for event, raw, (signature, proof) in zip(events, encoded, signed, strict=True)]


def verify_event(
    signed: SignedSequencedEvent, trusted: Mapping[Fingerprint, SigningPublicKey],
    cache: RunSignatureCache | None = None,
) -> Hash:
    """The event's hash, once its signature is checked against the trusted sequencer keys;
    with a `cache`, a run root verified just before is not verified again, and the inner
    nodes its events share are hashed once (run_signature.py)."""
    signature = signed.signature
    key = trusted.get(signature.signed_by)
    if key is None:
        raise EventVerificationFailed(
            f"event {signed.event.counter} is signed by {signature.signed_by}, "
            "which is not a trusted sequencer key"
        )
    digest = event_hash(signed.event_bytes)
    try:
        verify_in_run(key, digest, signed.run_proof, signature, HashPurpose.SEQUENCED_EVENT,
                      HashPurpose.SEQUENCED_EVENT_RUN, cache)
    except (CryptoError, ValueError) as error:
        raise EventVerificationFailed(
            f"event {signed.event.counter}: {getattr(error, 'message', error)}"
        ) from None
    return digest


@dataclass(frozen=True, slots=True)
class SequencerPosition:
    """The last event a member processed: what it stores with the event's effects and resumes
    from. `event_hash` lets the next sequencer's copy of that event be compared (fork check);
    a member that stores only counter and timestamp resumes after it, checking the chain."""

    counter: int
    timestamp_us: int
    event_hash: Hash | None = None

    def __init__(self, counter: int, timestamp_us: int, event_hash: Hash | None = None) -> None:
        object.__setattr__(self, "counter", counter)
        object.__setattr__(self, "timestamp_us", timestamp_us)
        object.__setattr__(self, "event_hash", event_hash)
