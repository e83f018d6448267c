"""Decoding protocol messages: the strict inverse of `messages.encode_protocol_message`.

Decoding rejects truncation, trailing bytes, unknown versions and kinds, over-long text and
values the dataclasses refuse, always with a `MessageDecodeError`, and finally requires that
re-encoding gives back the input, so a message has exactly one encoding (and a signature or
audit record over its bytes is over its meaning). A payload that does not start with
``MAGIC`` raises `UnknownMessageKind`, so a node can route it to another decoder (encrypted
views, topology broadcasts) instead of treating it as garbage.

The legacy root-hash message (kind 2, which also named the submitting participant) is still
read, as the root-hash message it was, so payloads kept from before (a participant's pending
requests, the mediator's audit log) stay readable; its canonical form is its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from minicanton.core.crypto.signing import Signature
from minicanton.core.errors import InvalidArgument, MinicantonError
from minicanton.core.hashing import Hash, HashPurpose
from minicanton.core.ids import (
    Fingerprint,
    MemberId,
    MemberKind,
    ParticipantId,
    PartyId,
    parse_member_id,
)
from minicanton.core.protocol.merkle import decode_tree
from minicanton.core.protocol.messages import (
    MAGIC,
    MAX_TEXT_CHARS,
    WIRE_VERSION,
    Approve,
    ConfirmationResponse,
    InformeeMessage,
    LocalApprove,
    LocalReject,
    LocalVerdict,
    MediatorResult,
    MessageKind,
    ProtocolMessage,
    Reject,
    RejectReason,
    RootHashMessage,
    Timeout,
    UnresponsiveParticipant,
    Verdict,
    encode_protocol_message,
)
from minicanton.core.topology.errors import TopologyDecodeError
from minicanton.core.topology.serialization import Reader, Writer

_T = TypeVar("_T")


class MessageDecodeError(MinicantonError):
    """Bytes that are not the canonical encoding of a protocol message."""

    error_id = "MALFORMED_PROTOCOL_MESSAGE"


class UnknownMessageKind(MessageDecodeError):
    """The payload is not a protocol message at all (no ``MAGIC``): route it elsewhere."""

    error_id = "UNKNOWN_PROTOCOL_MESSAGE_KIND"


def decode_protocol_message(data: bytes) -> ProtocolMessage:
    """The message encoded in `data`; `MessageDecodeError` unless it is canonical."""
    if not data.startswith(MAGIC):
        raise UnknownMessageKind("payload is not a minicanton protocol message")
    try:
        message, canonical = _decode_body(Reader(data[len(MAGIC):]))
    except (TopologyDecodeError, InvalidArgument, ValueError) as err:
        raise MessageDecodeError(f"malformed protocol message: {err}") from None
    if canonical != data:
        raise MessageDecodeError("protocol message is not in canonical form")
    return message


def _decode_body(r: Reader) -> tuple[ProtocolMessage, bytes]:
    """The message and its one canonical encoding."""
    version = r.u8()
    if version != WIRE_VERSION:
        raise MessageDecodeError(f"unsupported protocol message version {version}")
    code = r.u8()
    try:
        kind = MessageKind(code)
    except ValueError:
        raise MessageDecodeError(f"unknown protocol message kind {code}") from None
    if kind is MessageKind.LEGACY_ROOT_HASH_MESSAGE:
        root, canonical = _read_legacy_root_hash_message(r)
        r.end()
        return root, canonical
    message = _DECODERS[kind](r)
    r.end()
    return message, encode_protocol_message(message)


def _read_hash(r: Reader) -> Hash:
    return Hash(r.raw())


def _read_optional_hash(r: Reader) -> Hash | None:
    return _read_optional(r, _read_hash)


def _read_optional(r: Reader, read: Callable[[Reader], _T]) -> _T | None:
    flag = r.u8()
    if flag not in (0, 1):
        raise MessageDecodeError(f"optional flag must be 0 or 1, got {flag}")
    return read(r) if flag else None


def _read_text(r: Reader) -> str:
    text = r.text()
    if len(text) > MAX_TEXT_CHARS:
        raise MessageDecodeError(f"text field longer than {MAX_TEXT_CHARS} characters")
    return text


def _read_parties(r: Reader) -> frozenset[PartyId]:
    return frozenset(PartyId(p) for p in r.texts())


def _read_signature(r: Reader) -> Signature:
    signed_by = Fingerprint(_read_text(r))
    purpose = HashPurpose(r.u32())
    return Signature(signed_by, purpose, r.raw())


def _read_informee_message(r: Reader) -> InformeeMessage:
    tree = decode_tree(r.raw())
    return InformeeMessage(tree, ParticipantId(_read_text(r)))


def _read_root_hash_message(r: Reader) -> RootHashMessage:
    return RootHashMessage(_read_hash(r))


def _read_legacy_root_hash_message(r: Reader) -> tuple[RootHashMessage, bytes]:
    """Kind 2: the root hash, then the submitting participant, which is dropped."""
    root = _read_hash(r)
    participant = _read_text(r)
    if parse_member_id(participant)[0] is not MemberKind.PARTICIPANT:
        raise MessageDecodeError(f"{participant!r} is not a participant id")
    w = Writer()
    w.u8(WIRE_VERSION)
    w.u8(MessageKind.LEGACY_ROOT_HASH_MESSAGE)
    w.raw(root.digest)
    w.text(participant)
    return RootHashMessage(root), MAGIC + w.getvalue()


def _read_response(r: Reader) -> ConfirmationResponse:
    body = Reader(r.raw())
    request_ts_us = body.i64()
    view_hash = _read_optional_hash(body)
    sender = ParticipantId(_read_text(body))
    verdict = _read_local_verdict(body)
    parties = _read_parties(body)
    root_hash = _read_hash(body)
    body.end()
    return ConfirmationResponse(
        request_ts_us, view_hash, sender, verdict, parties, root_hash, _read_signature(r)
    )


def _read_local_verdict(r: Reader) -> LocalVerdict:
    flag = r.u8()
    if flag == 0:
        return LocalApprove()
    if flag == 1:
        return LocalReject(_read_text(r), _read_text(r))
    raise MessageDecodeError(f"unknown local verdict {flag}")


def _read_verdict(r: Reader) -> Verdict:
    flag = r.u8()
    if flag == 0:
        return Approve()
    if flag == 1:
        return Reject(tuple(_read_reject_reason(r) for _ in range(r.count(10))))
    if flag == 2:
        unresponsive = tuple(
            UnresponsiveParticipant(ParticipantId(_read_text(r)), _read_parties(r))
            for _ in range(r.count(8))
        )
        return Timeout(unresponsive, _read_parties(r))
    raise MessageDecodeError(f"unknown verdict kind {flag}")


def _read_reject_reason(r: Reader) -> RejectReason:
    code = _read_text(r)
    message = _read_text(r)
    participant = _read_optional(r, lambda rr: ParticipantId(_read_text(rr)))
    view_hash = _read_optional_hash(r)
    return RejectReason(code, message, participant, view_hash, _read_parties(r))


def _read_result(r: Reader) -> MediatorResult:
    body = Reader(r.raw())
    request_ts_us = body.i64()
    root_hash = _read_hash(body)
    mediator = MemberId(_read_text(body))
    verdict = _read_verdict(body)
    body.end()
    return MediatorResult(request_ts_us, root_hash, mediator, verdict, _read_signature(r))


_DECODERS: dict[MessageKind, Callable[[Reader], ProtocolMessage]] = {
    MessageKind.INFORMEE_MESSAGE: _read_informee_message,
    MessageKind.ROOT_HASH_MESSAGE: _read_root_hash_message,
    MessageKind.CONFIRMATION_RESPONSE: _read_response,
    MessageKind.MEDIATOR_RESULT: _read_result,
}
