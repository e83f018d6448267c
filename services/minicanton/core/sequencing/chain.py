"""A member's check of its own event stream (the client side of a subscription).

Theory of operation: the chain holds the last event the member received, verified (counter,
timestamp, hash). A subscription (re)starts at that counter, so the first event served is the
*overlap*: the same event again, from whichever sequencer now serves it. Its hash must equal
the stored one — different content at the same counter is a fork (alarm, stop). Every later
event must be signed by a trusted sequencer key, name this member and domain, carry the next
counter, a strictly later timestamp, and the previous timestamp of the last event. Any failure
raises and processing stops: an event is never skipped. When the overlap event was pruned the
subscription starts one later and the chain check (previous timestamp) is all that links it;
the same holds when the stored position has no event hash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from minicanton.core.crypto.signing import SigningPublicKey
from minicanton.core.ids import Fingerprint, MemberId
from minicanton.core.sequencing.errors import (
    EventChainBroken,
    EventVerificationFailed,
    SequencerFork,
)
from minicanton.core.sequencing.events import (
    SequencedEvent,
    SequencerPosition,
    SignedSequencedEvent,
    verify_event,
)
from minicanton.core.sequencing.run_signature import RunSignatureCache


@dataclass(frozen=True, slots=True)
class VerifiedEvent:
    signed: SignedSequencedEvent
    position: SequencerPosition
    # the bytes as delivered, when the client has them: a member that stores the event as
    # evidence keeps these instead of encoding it again (b"": not kept)
    raw: bytes = b""

    def __init__(
        self,
        signed: SignedSequencedEvent,
        position: SequencerPosition,
        raw: bytes = b"",
    ) -> None:
        object.__setattr__(self, "signed", signed)
        object.__setattr__(self, "position", position)
        object.__setattr__(self, "raw", raw)

    @property
    def event(self) -> SequencedEvent:
        return self.signed.event


class EventChain:
    def __init__(
        self, domain_id: str, member: MemberId,
        trusted: Mapping[Fingerprint, SigningPublicKey], last: SequencerPosition | None,
    ) -> None:
        self._domain_id = domain_id
        self._member = member
        self._trusted = trusted
        self.last = last
        self._awaiting_overlap = False
        self._runs = RunSignatureCache()

    def restart(self, *, overlap: bool = True) -> int:
        """The counter to subscribe from; with `overlap` the first event is compared."""
        if self.last is None:
            self._awaiting_overlap = False
            return 0
        self._awaiting_overlap = overlap and self.last.event_hash is not None
        return self.last.counter if self._awaiting_overlap else self.last.counter + 1

    def accept(self, signed: SignedSequencedEvent, raw: bytes = b"") -> VerifiedEvent | None:
        """The verified event, or None for the (matching) overlap event; `raw` is what
        `signed` was decoded from, kept in the `VerifiedEvent`."""
        digest = verify_event(signed, self._trusted, self._runs)
        event = signed.event
        if event.member != self._member or event.domain_id != self._domain_id:
            raise EventVerificationFailed(
                f"event for {event.member} on {event.domain_id!r} served to {self._member}"
            )
        position = SequencerPosition(event.counter, event.timestamp_us, digest)
        if self._awaiting_overlap:
            self._check_overlap(position)
            return None
        self._check_successor(event)
        self.last = position
        return VerifiedEvent(signed, position, raw)

    def _check_overlap(self, position: SequencerPosition) -> None:
        assert self.last is not None
        self._awaiting_overlap = False
        if position.counter != self.last.counter:
            raise EventChainBroken(
                f"resumed at counter {self.last.counter}, first event has {position.counter}"
            )
        if position != self.last:
            raise SequencerFork(
                f"event {position.counter} differs between sequencers: "
                f"{self.last.event_hash} vs {position.event_hash}"
            )

    def _check_successor(self, event: SequencedEvent) -> None:
        last = self.last
        expected = 0 if last is None else last.counter + 1
        previous = None if last is None else last.timestamp_us
        if event.counter != expected:
            raise EventChainBroken(f"expected counter {expected}, got {event.counter}")
        if event.previous_timestamp_us != previous:
            raise EventChainBroken(
                f"event {event.counter} chains to {event.previous_timestamp_us}, "
                f"the previous event is at {previous}"
            )
        if previous is not None and event.timestamp_us <= previous:
            raise EventChainBroken(
                f"event {event.counter} at {event.timestamp_us} is not after {previous}"
            )
