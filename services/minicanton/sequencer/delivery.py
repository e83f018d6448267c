"""One stored event as the members served by this instance read it, made from bytes.

Theory of operation. A stored event's envelopes are the serialized bytes its sender's
submission carried, checked when it was admitted (codec `parse_submission_envelopes`) and
stored as they are (core/sequencing/stored.py). A member's copy of the event differs from
another member's in its header (member, counter, previous timestamp, the sender shown, the
receipt's message id) and in which envelopes it carries: those the member is a recipient of.
So a member's event is its header spliced around its envelopes' bytes (codec
`deliver_event_bytes`), and that is what is hashed and signed (`signed_run`): no envelope is
decoded into objects or encoded again between the submission and the member. The bytes are
exactly what encoding the projected event (`stored.project_event`) gives: the header follows
the same rules (`stored.deliver_header`), and an envelope's stored bytes are its canonical
encoding.

A `PreparedEvent` keeps, per selection of envelopes, the serialized batch, so the members
served by this instance that read the same envelopes share it. Everything kept is a pure
function of the stored event, which never changes once written. The feed keeps its newest
events `warm` (caching) and turns them cold as they age, dropping what they cached; a cold
event, or one read from the database for a subscriber behind the feed, computes what it needs
each time.
"""

from __future__ import annotations

from minicanton.codec.sequencer import (
    batch_bytes,
    deliver_event_bytes,
    envelope_bytes,
    event_bytes,
    sign_event_bytes,
)
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.ids import MemberId
from minicanton.core.sequencing.events import SequencedEvent
from minicanton.core.sequencing.stored import (
    StoredEvent,
    deliver_header,
    envelope_indices,
)


class PreparedEvent:
    __slots__ = ("_batches", "recipients", "size_bytes", "stored")

    def __init__(self, stored: StoredEvent, warm: bool = True) -> None:
        self.stored = stored
        self.recipients = stored.recipient_numbers
        # the feed's budget and each stream's run size: the envelopes as they travel (or
        # their content, for envelopes held as objects)
        self.size_bytes = sum([len(e.envelope) if isinstance(e.envelope, bytes)
                               else len(e.envelope.content) for e in stored.envelopes])
        self._batches: dict[tuple[int, ...], bytes] | None = {} if warm else None

    def cool(self) -> None:
        """Drop what was cached and cache nothing more."""
        self._batches = None

    def batch_for(self, number: int) -> bytes:
        """Member `number`'s envelopes of this event, serialized as a Batch (`batch_bytes`)."""
        indices = envelope_indices(self.stored, number)
        if self._batches is None:
            return self._batch(indices)
        batch = self._batches.get(indices)
        if batch is None:
            batch = self._batches[indices] = self._batch(indices)
        return batch

    def _batch(self, indices: tuple[int, ...]) -> bytes:
        envelopes = self.stored.envelopes
        serialized = []
        for index in indices:
            envelope = envelopes[index].envelope
            serialized.append(envelope if isinstance(envelope, bytes)
                              else envelope_bytes(envelope))
        return batch_bytes(serialized)

    def event_for(self, domain_id: str, member: MemberId, number: int, sender: MemberId,
                  counter: int, previous_timestamp_us: int | None) -> bytes:
        """The serialized SequencedEvent member `number` reads at `counter` (its previous
        event at `previous_timestamp_us`), `sender` the member that sent this one: byte for
        byte `event_bytes(project_event(...))`."""
        stored = self.stored
        if stored.error is not None:  # to its sender only, and rare: encoded as an event
            return event_bytes(SequencedEvent(domain_id, member, counter, stored.timestamp_us,
                                              previous_timestamp_us, stored.error))
        shown, message_id = deliver_header(stored, member, number, sender)
        return deliver_event_bytes(domain_id, member, counter, stored.timestamp_us,
                                   previous_timestamp_us, shown, message_id,
                                   self.batch_for(number))


def signed_run(run: list[bytes], key: SigningKeyPair) -> list[bytes]:
    """The run's serialized events signed once over the root of their hashes
    (run_signature.py), each framed as a SignedSequencedEvent."""
    return sign_event_bytes(run, key)
