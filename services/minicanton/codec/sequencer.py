"""Protobuf <-> core dataclasses for the sequencer API (minicanton.sequencer.v1).

The only module that touches the generated sequencer code. Decoding untrusted bytes raises
`MalformedRequest` (a typed error) rather than a protobuf or enum exception.

The sequencer moves envelopes as bytes: `parse_submission_envelopes` gives, besides the
request, each envelope's canonical serialization (what the parsed message serializes to with
unknown fields dropped: byte for byte `envelope_bytes` of the envelope it decodes to, so a
sender's unknown fields or odd encodings are never passed on), `encode_stored_envelopes` and
`decode_stored_batch` store and read them as they are, and `deliver_event_bytes` splices a
member's selection of them into its event.
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
from minicanton.core.sequencing.event_wire import decode_signed_event, unpack_items
from minicanton.core.sequencing.events import (
    Deliver,
    DeliverError,
    SequencedEvent,
    SignedSequencedEvent,
    event_hash,
)
from minicanton.core.sequencing.events import sign_events as core_sign_events
from minicanton.core.sequencing.run_signature import (
    MAX_PROOF_STEPS,
    RunProof,
    proof_step,
    sign_run,
)
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


def submission_run_bytes(run: Sequence[SignedSubmissionRequest]) -> list[bytes]:
    """Each request of a run as `submission_to_proto(signed).SerializeToString()` gives it,
    byte for byte, written straight to the wire format: building the message objects copied
    each envelope's content into the batch, the batch into the request and the request into
    the signed request before serializing. A signed request is framed as a signed event is
    (`_framed_run`: the same three fields), the run's signature encoded once."""
    return _framed_run([(_request_bytes(signed.request), signed.signature, signed.run_proof)
                        for signed in run])


def submission_bytes(signed: SignedSubmissionRequest) -> bytes:
    """`submission_to_proto(signed).SerializeToString()`, byte for byte."""
    return submission_run_bytes([signed])[0]


def _request_bytes(request: SubmissionRequest) -> bytes:
    """A SubmissionRequest: its flat fields as protobuf serializes them (in number order,
    proto3 defaults left out; faster than writing them here), then the batch (field 5, always
    present, as `submission_to_proto` sets it) written around the envelopes' bytes."""
    head = pb.SubmissionRequest(
        domain_id=request.domain_id, sender=request.sender, message_id=request.message_id,
        max_sequencing_time_us=request.max_sequencing_time_us).SerializeToString()
    return head + _field(5, packed_messages(
        [_envelope_wire(envelope) for envelope in request.batch.envelopes]))


def _envelope_wire(envelope: Envelope) -> bytes:
    """`envelope_bytes(envelope)`: its recipients (a member's encoding cached by its id),
    then the content unless empty."""
    parts = []
    for recipient in envelope.recipients:
        if isinstance(recipient, MemberRecipient):
            encoded = _MEMBERS.get(recipient.member)
            parts.append(encoded if encoded is not None else _member_field(recipient.member))
        else:  # a oneof field is written even when it holds its type's default
            parts.append(_field(1, b"\x10" + _int_varint(_GROUP_TO_PB[recipient.group])))
    if envelope.content:
        parts.append(_field(2, envelope.content))
    return b"".join(parts)


def _member_field(member: str) -> bytes:
    """A member recipient as field 1 of an Envelope (the oneof member, written even if empty)."""
    encoded = _field(1, _field(1, member.encode()))
    if len(_MEMBERS) >= _MAX_CACHED_MEMBERS:
        _MEMBERS.clear()  # a member's sends reach a domain's few members: never hit in practice
    _MEMBERS[member] = encoded
    return encoded


def _int_varint(value: int) -> bytes:
    """An int32/int64 field's varint: a negative value as its 64-bit two's complement."""
    return _varint(value if value >= 0 else value & _U64)


_MEMBERS: dict[str, bytes] = {}
_MAX_CACHED_MEMBERS = 4_096


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
    return submission_from_proto(_parse_submission_message(raw))


def _parse_submission_message(raw: bytes) -> pb.SignedSubmissionRequest:
    message = pb.SignedSubmissionRequest()
    try:
        message.ParseFromString(raw)
    except (DecodeError, ValueError):
        raise MalformedRequest("the request is not a SignedSubmissionRequest") from None
    return message


def parse_submission_envelopes(raw: bytes) -> tuple[SignedSubmissionRequest, tuple[bytes, ...]]:
    """`parse_submission`, and each envelope of the request serialized canonically: what
    `envelope_bytes` gives for the envelope it decoded to (unknown fields are dropped, and
    re-serializing normalizes any other liberty the wire allows: field order, repeated
    scalar fields, long varints)."""
    message = _parse_submission_message(raw)
    signed = submission_from_proto(message)
    message.DiscardUnknownFields()  # recursively: the envelopes' and their recipients' too
    return signed, tuple([envelope.SerializeToString()
                          for envelope in message.request.batch.envelopes])


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


def sign_events(events: Sequence[SequencedEvent], key: SigningKeyPair
                ) -> list[SignedSequencedEvent]:
    """The events serialized (`event_bytes`) and signed together over those bytes (core
    `sign_events`), so a `SignedSequencedEvent`'s bytes are exactly its event's. A sequencer
    serving members signs their events' bytes without the events (`sign_event_bytes`)."""
    return core_sign_events(events, [event_bytes(event) for event in events], key)


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


def event_bytes(event: SequencedEvent) -> bytes:
    """`event_to_proto(event).SerializeToString()`."""
    return event_to_proto(event).SerializeToString()


def deliver_event_bytes(domain_id: str, member: MemberId, counter: int, timestamp_us: int,
                        previous_timestamp_us: int | None, sender: MemberId | None,
                        message_id: str | None, serialized_batch: bytes) -> bytes:
    """`event_bytes` of the SequencedEvent with these fields whose content is a Deliver of
    the batch `serialized_batch` (`batch_bytes`) encodes, without that event or batch: the
    batch is spliced in as the Deliver's last field (batch, 3), itself the event's last
    (deliver, 6)."""
    header = pb.SequencedEvent(
        domain_id=domain_id, member=member, counter=counter, timestamp_us=timestamp_us,
        previous_timestamp_us=previous_timestamp_us or 0).SerializeToString()
    deliver = pb.Deliver(sender=sender or "", message_id=message_id or "").SerializeToString()
    return header + _field(6, deliver + _field(3, serialized_batch))


def signed_run_bytes(run: Sequence[SignedSequencedEvent]) -> list[bytes]:
    """Each event of a run serialized as `signed_event_to_proto(...).SerializeToString()`
    would, byte for byte, but building the run's shared signature and proof steps once: on
    the wire a message is its fields in order, each a tag, a length and its bytes."""
    return _framed_run([(signed.event_bytes, signed.signature, signed.run_proof)
                        for signed in run])


def sign_event_bytes(encoded: Sequence[bytes], key: SigningKeyPair) -> list[bytes]:
    """Serialized events (`event_bytes`) signed together over the root of their hashes, each
    framed as a SignedSequencedEvent: byte for byte `signed_run_bytes(sign_events(events,
    key))` for the events they encode, without those events (a sequencer's delivery never
    needs them)."""
    signed = sign_run([event_hash(raw) for raw in encoded], key, HashPurpose.SEQUENCED_EVENT,
                      HashPurpose.SEQUENCED_EVENT_RUN)
    return _framed_run([(raw, signature, proof)
                        for raw, (signature, proof) in zip(encoded, signed, strict=True)])


def _framed_run(run: Sequence[tuple[bytes, Signature, RunProof]]) -> list[bytes]:
    """Each (content bytes, signature, proof) as a serialized SignedSequencedEvent or
    SignedSubmissionRequest (both: content 1, signature 2, proof steps 3), the run's shared
    signature and proof steps encoded once."""
    signatures: dict[Signature, bytes] = {}
    steps: dict[tuple[bytes, bool], bytes] = {}
    out = []
    for event_raw, event_signature, run_proof in run:
        signature = signatures.get(event_signature)
        if signature is None:
            signature = signatures[event_signature] = _field(
                2, signature_to_proto(event_signature).SerializeToString())
        parts = [_field(1, event_raw), signature]
        for step in run_proof:
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
    `MalformedRequest`: never a protobuf error a caller does not expect. Bytes in the form
    sequencers write are read by the compiled `decode_signed_event`, to exactly what the
    protobuf path below gives them; that path decides everything else."""
    if type(raw) is bytes:
        signed = decode_signed_event(raw)
        if signed is not None:
            return signed
    return signed_event_from_proto(parse_message(pb.SignedSequencedEvent, raw))


def parse_message(message_type: type[_M], raw: bytes) -> _M:
    """Untrusted bytes to a message of `message_type` (a reply from a sequencer, whose
    answers a member must not trust either), or `MalformedRequest`."""
    try:
        return message_type.FromString(raw)
    except (DecodeError, ValueError):
        raise MalformedRequest(f"the bytes are not a {message_type.__name__}") from None


def encode_stored_envelopes(envelopes: Sequence[StoredEnvelope]) -> bytes:
    """A StoredBatch, byte for byte what protobuf serializes (member numbers sorted and
    packed, then the envelope), with serialized envelopes (`bytes`) spliced in as they are
    and `Envelope`s serialized (`envelope_bytes`)."""
    out = []
    for stored in envelopes:
        raw = stored.envelope
        if not isinstance(raw, bytes):
            raw = envelope_bytes(raw)
        numbers = b"".join([_int_varint(n)
                            for n in sorted(stored.member_numbers)])
        item = _field(1, numbers) + _field(2, raw) if numbers else _field(2, raw)
        out.append(_field(1, item))
    return b"".join(out)


def decode_stored_envelopes(raw: bytes) -> tuple[StoredEnvelope, ...]:
    """A StoredBatch with its envelopes decoded (`Envelope`s)."""
    message = parse_message(pb.StoredBatch, raw)
    return tuple([StoredEnvelope(frozenset(e.member_numbers), envelope_from_proto(e.envelope))
                  for e in message.envelopes])


def decode_stored_batch(raw: bytes) -> tuple[StoredEnvelope, ...]:
    """A StoredBatch with each envelope as its serialized bytes (`envelope_bytes` of what
    `decode_stored_envelopes` gives), sliced out of `raw` where it is in the canonical form
    every release stores (`encode_stored_envelopes`), else re-serialized from a parse."""
    envelopes: list[StoredEnvelope] = []
    position, end = 0, len(raw)
    while position < end:
        if raw[position] != _FIELD_1_MESSAGE_BYTE:
            return _decode_stored_batch_parsed(raw)
        length, position = _read_varint(raw, position + 1)
        item_end = position + length
        numbers: frozenset[int] = frozenset()
        if position < item_end and raw[position] == _FIELD_1_MESSAGE_BYTE:
            length, position = _read_varint(raw, position + 1)
            numbers = _packed_numbers(raw[position:position + length])
            position += length
        if position >= item_end or raw[position] != _FIELD_2_MESSAGE_BYTE:
            return _decode_stored_batch_parsed(raw)
        length, position = _read_varint(raw, position + 1)
        if position + length != item_end or item_end > end:
            return _decode_stored_batch_parsed(raw)
        envelopes.append(StoredEnvelope(numbers, raw[position:item_end]))
        position = item_end
    return tuple(envelopes)


def _packed_numbers(packed: bytes) -> frozenset[int]:
    if not packed or max(packed) < 0x80:  # every number one byte: the bytes are the numbers
        return frozenset(packed)
    numbers, position = [], 0
    while position < len(packed):
        value, position = _read_varint(packed, position)
        numbers.append(value - (1 << 64) if value >= 1 << 63 else value)
    return frozenset(numbers)


def _decode_stored_batch_parsed(raw: bytes) -> tuple[StoredEnvelope, ...]:
    """`decode_stored_batch` of a payload in any other valid encoding."""
    message = parse_message(pb.StoredBatch, raw)
    message.DiscardUnknownFields()
    return tuple([StoredEnvelope(frozenset(e.member_numbers), e.envelope.SerializeToString())
                  for e in message.envelopes])


def packed_messages(serialized: list[bytes]) -> bytes:
    """The bytes of a message whose field 1 is a repeated message (SignedSequencedEventBatch,
    SendResponseBatch) holding these already serialized messages, without decoding and
    re-encoding them: on the wire each element is its tag, its length and its bytes."""
    return b"".join([_FIELD_1_MESSAGE + _varint(len(item)) + item for item in serialized])


_FIELD_1_MESSAGE_BYTE = (1 << 3) | 2  # field number 1, wire type 2 (length-delimited)
_FIELD_2_MESSAGE_BYTE = (2 << 3) | 2
_FIELD_1_MESSAGE = bytes([_FIELD_1_MESSAGE_BYTE])
_U64 = (1 << 64) - 1  # a negative int32 is sent as its 64-bit two's complement
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
    of `packed_messages`. Anything else in `raw` is a `MalformedRequest`. (Compiled:
    core `unpack_items`.)"""
    return unpack_items(raw if type(raw) is bytes else bytes(raw))


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
