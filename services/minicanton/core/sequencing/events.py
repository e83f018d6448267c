"""Sequenced events: what a member reads from its own stream, one per timestamp.

Every event names its domain and member, carries the member's gapless counter, the
domain-unique timestamp and the member's previous timestamp (a chain), and is signed by the
serving sequencer over its canonical hash (HashPurpose.SEQUENCED_EVENT). Binding member and
domain into the hash stops an event signed for one member being replayed to another. Several
events served together may share one signature over a run root, each with its inclusion
proof (run_signature.py): the evidence is the same, the signing and verifying once per run.
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
from minicanton.core.sequencing.batch import Batch, batch_digest
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


@dataclass(frozen=True, slots=True)
class DeliverError:
    """To the sender only: its request reached sequencing but could not be delivered."""

    message_id: str
    error_id: str
    reason: str


EventContent = Deliver | DeliverError


@dataclass(frozen=True, slots=True)
class SequencedEvent:
    domain_id: str
    member: MemberId
    counter: int
    timestamp_us: int
    previous_timestamp_us: int | None
    content: EventContent


@dataclass(frozen=True, slots=True)
class SignedSequencedEvent:
    """`signature` is over the event hash when `run_proof` is empty, else over the root
    the proof leads to from the event hash (HashPurpose.SEQUENCED_EVENT_RUN)."""

    event: SequencedEvent
    signature: Signature
    run_proof: RunProof = ()


def _i64(value: int) -> bytes:
    return value.to_bytes(8, "big", signed=True)


def _content_parts(content: EventContent,
                   known_batch_digest: bytes | None) -> tuple[bytes | str, ...]:
    if isinstance(content, Deliver):
        # a hidden sender hashes as "" (no member id is empty), so an event that shows its
        # sender keeps the hash it always had
        return ("deliver", content.sender or "", content.message_id or "",
                known_batch_digest or batch_digest(content.batch))
    return ("deliver-error", content.message_id, content.error_id, content.reason)


def event_hash(event: SequencedEvent, known_batch_digest: bytes | None = None) -> Hash:
    """`known_batch_digest`: `batch_digest` of the event's batch where the caller already has
    it (a sequencer serving the same envelopes to several members); it must be exactly that."""
    previous = -1 if event.previous_timestamp_us is None else event.previous_timestamp_us
    return hash_of(
        HashPurpose.SEQUENCED_EVENT, "minicanton.event.v1", event.domain_id, event.member,
        _i64(event.counter), _i64(event.timestamp_us), _i64(previous),
        *_content_parts(event.content, known_batch_digest),
    )


def sign_event(event: SequencedEvent, key: SigningKeyPair) -> SignedSequencedEvent:
    return SignedSequencedEvent(event, key.sign(event_hash(event), HashPurpose.SEQUENCED_EVENT))


def sign_events(events: Sequence[SequencedEvent], key: SigningKeyPair,
                hashes: Sequence[Hash] | None = None) -> list[SignedSequencedEvent]:
    """The events signed together: one signature over their run root (one event: as
    `sign_event`). `hashes`: their `event_hash`es, where the caller computed them already."""
    if hashes is None:
        hashes = [event_hash(event) for event in events]
    elif len(hashes) != len(events):
        raise ValueError("one hash per event")
    signed = sign_run(hashes, key, HashPurpose.SEQUENCED_EVENT,
                      HashPurpose.SEQUENCED_EVENT_RUN)
    return [SignedSequencedEvent(event, signature, proof)
            for event, (signature, proof) in zip(events, signed, strict=True)]


def verify_event(
    signed: SignedSequencedEvent, trusted: Mapping[Fingerprint, SigningPublicKey],
    cache: RunSignatureCache | None = None,
) -> Hash:
    """The event's hash, once its signature is checked against the trusted sequencer keys;
    with a `cache`, a run root verified just before is not verified again."""
    signature = signed.signature
    key = trusted.get(signature.signed_by)
    if key is None:
        raise EventVerificationFailed(
            f"event {signed.event.counter} is signed by {signature.signed_by}, "
            "which is not a trusted sequencer key"
        )
    digest = event_hash(signed.event)
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
