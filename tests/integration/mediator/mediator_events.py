"""Sequencer-signed events for the mediator, as its sequencer client would hand them over."""

from __future__ import annotations

from mediator_fixtures import DvpDomain

from minicanton.codec.mediator import encode_signed_event
from minicanton.codec.sequencer import sign_event
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.entropy import SeededEntropy
from minicanton.core.sequencing.chain import VerifiedEvent
from minicanton.core.sequencing.events import (
    SequencedEvent,
    SequencerPosition,
    event_hash,
)

SEQUENCER_KEY = SigningKeyPair.generate(SeededEntropy(99))


def verified(
    event: SequencedEvent, previous_ts_us: int | None = None
) -> tuple[VerifiedEvent, bytes]:
    """The event as delivered (signed by the sequencer) and its stored bytes."""
    event = SequencedEvent(event.domain_id, event.member, event.counter, event.timestamp_us,
                           previous_ts_us, event.content)
    signed = sign_event(event, SEQUENCER_KEY)
    position = SequencerPosition(event.counter, event.timestamp_us, event_hash(signed.event_bytes))
    return VerifiedEvent(signed, position), encode_signed_event(signed)


def chain(events: list[SequencedEvent]) -> list[tuple[VerifiedEvent, bytes]]:
    out = []
    previous = None
    for event in events:
        out.append(verified(event, previous))
        previous = event.timestamp_us
    return out


__all__ = ["DvpDomain", "chain", "verified"]
