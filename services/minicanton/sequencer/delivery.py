"""What the deliveries of one stored event share, computed once per instance.

Theory of operation. A member's copy of a stored event differs from another member's in its
header (member, counter, previous timestamp, the sender shown, the receipt's message id) and in
which envelopes it carries: those the member is a recipient of. The rest, envelope by envelope,
is the same for every member: its serialized bytes. A `PreparedEvent` serializes each envelope
on first use and, per selection of envelopes, keeps the `Batch` and its serialized bytes, so the
members served by this instance that read the same envelopes share them. A member's event is
then its header spliced around those bytes, and that is what is hashed and signed (events.py):
nothing is hashed per envelope. Everything kept is a pure function of the stored event, which never
changes once written: a member's signed bytes are exactly what computing them afresh gives.

The feed keeps its newest events `warm` (caching) and turns them cold as they age, dropping
what they cached, so the cache adds a bounded amount to the feed's own bound; a cold event, or
one read from the database for a subscriber behind the feed, computes what it needs each time.
"""

from __future__ import annotations

from typing import NamedTuple

from minicanton.codec.sequencer import batch_bytes, envelope_bytes, sign_events, signed_run_bytes
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.sequencing.batch import Batch
from minicanton.core.sequencing.events import SequencedEvent
from minicanton.core.sequencing.stored import StoredEvent, envelope_indices


class BatchView(NamedTuple):
    """One selection of a stored event's envelopes: as a Batch and serialized
    (`codec.sequencer.batch_bytes`)."""

    batch: Batch
    serialized: bytes


class PreparedEvent:
    __slots__ = ("_envelopes", "_views", "recipients", "size_bytes", "stored")

    def __init__(self, stored: StoredEvent, warm: bool = True) -> None:
        self.stored = stored
        self.recipients = stored.recipient_numbers
        # its envelopes' payload bytes: the feed's budget and each stream's run size
        self.size_bytes = sum([len(e.envelope.content) for e in stored.envelopes])
        self._envelopes: list[bytes | None] | None = None  # each envelope serialized
        self._views: dict[tuple[int, ...], BatchView] | None = {} if warm else None

    def cool(self) -> None:
        """Drop what was cached and cache nothing more."""
        self._envelopes = self._views = None

    def view_for(self, number: int) -> BatchView | None:
        """Member `number`'s envelopes of this event; None for a deliver-error."""
        if self.stored.error is not None:
            return None
        indices = envelope_indices(self.stored, number)
        if self._views is None:
            return self._view(indices, [None] * len(self.stored.envelopes))
        view = self._views.get(indices)
        if view is None:
            if self._envelopes is None:
                self._envelopes = [None] * len(self.stored.envelopes)
            view = self._views[indices] = self._view(indices, self._envelopes)
        return view

    def _view(self, indices: tuple[int, ...],
              known: list[bytes | None]) -> BatchView:
        envelopes = tuple(self.stored.envelopes[index].envelope for index in indices)
        serialized = []
        for index, envelope in zip(indices, envelopes, strict=True):
            raw = known[index]
            if raw is None:
                raw = known[index] = envelope_bytes(envelope)
            serialized.append(raw)
        return BatchView(Batch(envelopes), batch_bytes(serialized))


def signed_run(run: list[SequencedEvent], views: list[BatchView | None],
               key: SigningKeyPair) -> list[bytes]:
    """The run serialized, signed once over the root of its events' byte hashes
    (run_signature.py) and framed; `views[i]` is the BatchView `run[i]` was projected with
    (None: serialized from the event)."""
    known = [None if view is None else view.serialized for view in views]
    return signed_run_bytes(sign_events(run, key, known))
