"""Protobuf <-> core dataclasses for the sequencer API (minicanton.sequencer.v1).

The only module that touches the generated sequencer code. Decoding untrusted bytes raises
`MalformedRequest` (a typed error) rather than a protobuf or enum exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from google.protobuf.message import DecodeError, Message

from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_pb2 as pb
from minicanton.core.crypto.signing import Signature, SigningKeyPair
from minicanton.core.hashing import HashPurpose
from minicanton.core.ids import Fingerprint, MemberId
from minicanton.core.sequencing.batch import (
    Batch,
    Envelope,
    GroupRecipient,
    MemberRecipient,
    Recipient,
    RecipientGroup,
    SignedSubmissionRequest,
    SubmissionRequest,
)
from minicanton.core.sequencing.errors import MalformedRequest
from minicanton.core.sequencing.events import (
    Deliver,
    DeliverError,
    SequencedEvent,
    SignedSequencedEvent,
)
from minicanton.core.sequencing.events import sign_events as core_sign_events
from minicanton.core.sequencing.run_signature import MAX_PROOF_STEPS, RunProof, proof_step
from minicanton.core.sequencing.stored import StoredEnvelope

_M = TypeVar("_M", bound=Message)
_GROUP_TO_PB = {
    RecipientGroup.ALL_MEMBERS: pb.ALL_MEMBERS,
    RecipientGroup.ALL_PARTICIPANTS: pb.ALL_PARTICIPANTS,
    RecipientGroup.MEDIATOR_GROUP: pb.MEDIATOR_GROUP,
}
_GROUP_FROM_PB = {v: k for k, v in _GROUP_TO_PB.items()}
_PURPOSES = {purpose.value: purpose for purpose in HashPurpose}


def signature_to_proto(signature: Signature) -> pb.Signature:
    return pb.Signature(signed_by=signature.signed_by, purpose=int(signature.purpose),
                        raw=signature.raw)


def signature_from_proto(message: pb.Signature) -> Signature:
    purpose = _PURPOSES.get(message.purpose)  # HashPurpose(n) without the enum machinery
    if purpose is None:
        raise MalformedRequest(f"unknown hash purpose {message.purpose}")
    return Signature(Fingerprint(message.signed_by), purpose, message.raw)


def recipient_to_proto(recipient: Recipient) -> pb.Recipient:
    if isinstance(recipient, MemberRecipient):
        return pb.Recipient(member=recipient.member)
    return pb.Recipient(group=_GROUP_TO_PB[recipient.group])


def recipient_from_proto(message: pb.Recipient) -> Recipient:
    kind = message.WhichOneof("kind")
    if kind == "member":
        return MemberRecipient(MemberId(message.member))
    group = _GROUP_FROM_PB.get(message.group) if kind == "group" else None
    if group is None:
        raise MalformedRequest("a recipient must be a member or a known group")
    return GroupRecipient(group)


def envelope_to_proto(envelope: Envelope) -> pb.Envelope:
    return pb.Envelope(recipients=[recipient_to_proto(r) for r in envelope.recipients],
                       content=envelope.content)


def envelope_from_proto(message: pb.Envelope) -> Envelope:
    return Envelope(tuple([recipient_from_proto(r) for r in message.recipients]), message.content)


def batch_to_proto(batch: Batch) -> pb.Batch:
    return pb.Batch(envelopes=[envelope_to_proto(e) for e in batch.envelopes])


def batch_from_proto(message: pb.Batch) -> Batch:
    return Batch(tuple([envelope_from_proto(e) for e in message.envelopes]))


def submission_to_proto(signed: SignedSubmissionRequest) -> pb.SignedSubmissionRequest:
    request = signed.request
    return pb.SignedSubmissionRequest(
        request=pb.SubmissionRequest(
            domain_id=request.domain_id, sender=request.sender, message_id=request.message_id,
            max_sequencing_time_us=request.max_sequencing_time_us,
            batch=batch_to_proto(request.batch),
        ),
        signature=signature_to_proto(signed.signature),
        run_proof=_proof_to_proto(signed.run_proof),
    )


def submission_from_proto(message: pb.SignedSubmissionRequest) -> SignedSubmissionRequest:
    if not message.HasField("request") or not message.HasField("signature"):
        raise MalformedRequest("a submission needs a request and a signature")
    request = message.request
    return SignedSubmissionRequest(
        SubmissionRequest(request.domain_id, MemberId(request.sender), request.message_id,
                          request.max_sequencing_time_us, batch_from_proto(request.batch)),
        signature_from_proto(message.signature), _proof_from_proto(message.run_proof),
    )


def parse_submission(raw: bytes) -> SignedSubmissionRequest:
    """Untrusted wire bytes to a submission, or `MalformedRequest`."""
    message = pb.SignedSubmissionRequest()
    try:
        message.ParseFromString(raw)
    except (DecodeError, ValueError):
        raise MalformedRequest("the request is not a SignedSubmissionRequest") from None
    return submission_from_proto(message)


def event_to_proto(event: SequencedEvent) -> pb.SequencedEvent:
    message = pb.SequencedEvent(
        domain_id=event.domain_id, member=event.member, counter=event.counter,
        timestamp_us=event.timestamp_us,
        previous_timestamp_us=event.previous_timestamp_us or 0,
    )
    content = event.content
    if isinstance(content, Deliver):
        message.deliver.CopyFrom(pb.Deliver(sender=content.sender or "",
                                            message_id=content.message_id or "",
                                            batch=batch_to_proto(content.batch)))
    else:
        message.deliver_error.CopyFrom(pb.DeliverError(
            message_id=content.message_id, error_id=content.error_id, reason=content.reason))
    return message


def event_from_proto(message: pb.SequencedEvent) -> SequencedEvent:
    kind = message.WhichOneof("kind")
    content: Deliver | DeliverError
    if kind == "deliver":
        deliver = message.deliver
        content = Deliver(MemberId(deliver.sender) if deliver.sender else None,
                          deliver.message_id or None,
                          batch_from_proto(deliver.batch))
    elif kind == "deliver_error":
        error = message.deliver_error
        content = DeliverError(error.message_id, error.error_id, error.reason)
    else:
        raise MalformedRequest("an event must be a deliver or a deliver-error")
    previous = message.previous_timestamp_us if message.counter > 0 else None
    return SequencedEvent(message.domain_id, MemberId(message.member), message.counter,
                          message.timestamp_us, previous, content)


def signed_event_to_proto(signed: SignedSequencedEvent) -> pb.SignedSequencedEvent:
    return pb.SignedSequencedEvent(
        event=signed.event_bytes, signature=signature_to_proto(signed.signature),
        run_proof=_proof_to_proto(signed.run_proof))


def signed_event_from_proto(message: pb.SignedSequencedEvent) -> SignedSequencedEvent:
    """The event is parsed from exactly the bytes the result carries (and that are hashed
    and verified): the only way a `SignedSequencedEvent` is made from the wire."""
    if not message.event or not message.HasField("signature"):
        raise MalformedRequest("a sequenced event needs an event and a signature")
    raw = message.event
    return SignedSequencedEvent(event_from_proto(parse_message(pb.SequencedEvent, raw)), raw,
                                signature_from_proto(message.signature),
                                _proof_from_proto(message.run_proof))


def sign_events(events: Sequence[SequencedEvent], key: SigningKeyPair,
                known_batch_bytes: Sequence[bytes | None] | None = None
                ) -> list[SignedSequencedEvent]:
    """The events serialized (`event_bytes`, with `known_batch_bytes` per event where the
    caller has them) and signed together over those bytes (core `sign_events`): the only way
    a sequencer makes a `SignedSequencedEvent`, so its bytes are exactly its event's."""
    if known_batch_bytes is None:
        encoded = [event_bytes(event) for event in events]
    elif len(known_batch_bytes) != len(events):
        raise ValueError("one known batch (or None) per event")
    else:
        encoded = [event_bytes(event, known)
                   for event, known in zip(events, known_batch_bytes, strict=True)]
    return core_sign_events(events, encoded, key)


def sign_event(event: SequencedEvent, key: SigningKeyPair) -> SignedSequencedEvent:
    """One event signed alone (a run of one)."""
    return sign_events([event], key)[0]


def envelope_bytes(envelope: Envelope) -> bytes:
    """`envelope_to_proto(envelope).SerializeToString()`."""
    return envelope_to_proto(envelope).SerializeToString()


def batch_bytes(serialized_envelopes: Sequence[bytes]) -> bytes:
    """A Batch of these serialized envelopes (`envelope_bytes`), as
    `batch_to_proto(...).SerializeToString()` would give it (envelopes are its field 1)."""
    return packed_messages(list(serialized_envelopes))


def event_bytes(event: SequencedEvent, known_batch_bytes: bytes | None = None) -> bytes:
    """`event_to_proto(event).SerializeToString()`; `known_batch_bytes`, the `batch_bytes` of
    a Deliver's batch where the caller has them (one envelope served to several members is
    serialized once), is spliced in as the Deliver's last field (batch, 3), itself the
    event's last (deliver, 6)."""
    content = event.content
    if known_batch_bytes is None or not isinstance(content, Deliver):
        return event_to_proto(event).SerializeToString()
    header = pb.SequencedEvent(
        domain_id=event.domain_id, member=event.member, counter=event.counter,
        timestamp_us=event.timestamp_us,
        previous_timestamp_us=event.previous_timestamp_us or 0).SerializeToString()
    deliver = pb.Deliver(sender=content.sender or "",
                         message_id=content.message_id or "").SerializeToString()
    return header + _field(6, deliver + _field(3, known_batch_bytes))


def signed_run_bytes(run: Sequence[SignedSequencedEvent]) -> list[bytes]:
    """Each event of a run serialized as `signed_event_to_proto(...).SerializeToString()`
    would, byte for byte, but building the run's shared signature and proof steps once: on
    the wire a message is its fields in order, each a tag, a length and its bytes."""
    signatures: dict[Signature, bytes] = {}
    steps: dict[tuple[bytes, bool], bytes] = {}
    out = []
    for signed in run:
        signature = signatures.get(signed.signature)
        if signature is None:
            signature = signatures[signed.signature] = _field(
                2, signature_to_proto(signed.signature).SerializeToString())
        parts = [_field(1, signed.event_bytes), signature]
        for step in signed.run_proof:
            encoded = steps.get(step)
            if encoded is None:
                encoded = steps[step] = _field(3, pb.RunProofStep(
                    sibling=step.sibling, sibling_is_left=step.sibling_is_left
                ).SerializeToString())
            parts.append(encoded)
        out.append(b"".join(parts))
    return out


def _field(number: int, serialized: bytes) -> bytes:
    """A length-delimited field (an embedded message) on the wire."""
    return bytes([(number << 3) | 2]) + _varint(len(serialized)) + serialized


def _proof_to_proto(proof: RunProof) -> list[pb.RunProofStep]:
    return [pb.RunProofStep(sibling=sibling, sibling_is_left=is_left)
            for sibling, is_left in proof]


def _proof_from_proto(steps: Sequence[pb.RunProofStep]) -> RunProof:
    """Sibling lengths are checked where the proof is folded (run_signature.run_root)."""
    if len(steps) > MAX_PROOF_STEPS:
        raise MalformedRequest(f"a run proof has at most {MAX_PROOF_STEPS} steps")
    return tuple([proof_step(step.sibling, step.sibling_is_left) for step in steps])


def parse_signed_event(raw: bytes) -> SignedSequencedEvent:
    """Untrusted bytes (a sequencer's stream, a stored event) to an event, or
    `MalformedRequest`: never a protobuf error a caller does not expect."""
    return signed_event_from_proto(parse_message(pb.SignedSequencedEvent, raw))


def parse_message(message_type: type[_M], raw: bytes) -> _M:
    """Untrusted bytes to a message of `message_type` (a reply from a sequencer, whose
    answers a member must not trust either), or `MalformedRequest`."""
    try:
        return message_type.FromString(raw)
    except (DecodeError, ValueError):
        raise MalformedRequest(f"the bytes are not a {message_type.__name__}") from None


def encode_stored_envelopes(envelopes: tuple[StoredEnvelope, ...]) -> bytes:
    return pb.StoredBatch(envelopes=[
        pb.StoredEnvelope(member_numbers=sorted(e.member_numbers),
                          envelope=envelope_to_proto(e.envelope))
        for e in envelopes
    ]).SerializeToString()


def decode_stored_envelopes(raw: bytes) -> tuple[StoredEnvelope, ...]:
    message = pb.StoredBatch()
    message.ParseFromString(raw)
    return tuple([StoredEnvelope(frozenset(e.member_numbers), envelope_from_proto(e.envelope))
                  for e in message.envelopes])


def packed_messages(serialized: list[bytes]) -> bytes:
    """The bytes of a message whose field 1 is a repeated message (SignedSequencedEventBatch,
    SendResponseBatch) holding these already serialized messages, without decoding and
    re-encoding them: on the wire each element is its tag, its length and its bytes."""
    return b"".join([_FIELD_1_MESSAGE + _varint(len(item)) + item for item in serialized])


_FIELD_1_MESSAGE = bytes([(1 << 3) | 2])  # field number 1, wire type 2 (length-delimited)
_ONE_BYTE = [bytes([value]) for value in range(0x80)]


def _varint(value: int) -> bytes:
    if value < 0x80:  # most lengths and counters: one byte, no loop
        return _ONE_BYTE[value]
    if value < 0x4000:
        return bytes(((value & 0x7F) | 0x80, value >> 7))
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def unpacked_messages(raw: bytes) -> list[bytes]:
    """The elements of field 1 (repeated message) of `raw`, each as its own bytes: the inverse
    of `packed_messages`. Anything else in `raw` is a `MalformedRequest`."""
    items, position = [], 0
    while position < len(raw):
        if raw[position:position + 1] != _FIELD_1_MESSAGE:
            raise MalformedRequest("a packed message holds something other than its items")
        length, position = _read_varint(raw, position + 1)
        end = position + length
        if end > len(raw):
            raise MalformedRequest("a packed message is cut short")
        items.append(raw[position:end])
        position = end
    return items


def _read_varint(raw: bytes, position: int) -> tuple[int, int]:
    value, shift = 0, 0
    while position < len(raw) and shift < 64:
        byte = raw[position]
        value |= (byte & 0x7F) << shift
        position += 1
        if not byte & 0x80:
            return value, position
        shift += 7
    raise MalformedRequest("a packed message has a bad length")
