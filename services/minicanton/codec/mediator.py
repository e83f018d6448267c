"""Protobuf <-> core for the mediator: stored sequenced events and the auditor API
(minicanton.mediator.v1). The only mediator module that touches generated code."""

from __future__ import annotations

from minicanton.codec.gen.minicanton.mediator.v1 import mediator_auditor_pb2 as pb
from minicanton.codec.sequencer import signed_event_to_proto
from minicanton.core.protocol.message_codec import (
    MessageDecodeError,
    UnknownMessageKind,
    decode_protocol_message,
)
from minicanton.core.protocol.messages import (
    Approve,
    ConfirmationResponse,
    InformeeMessage,
    LocalReject,
    MediatorResult,
    ProtocolMessage,
    Reject,
    RootHashMessage,
    Timeout,
)
from minicanton.core.sequencing.events import SignedSequencedEvent
from minicanton.core.topology.transactions import BROADCAST_MAGIC
from minicanton.store.mediator_store import AuditedMessage, StoredVerdict


def encode_signed_event(signed: SignedSequencedEvent) -> bytes:
    return bytes(signed_event_to_proto(signed).SerializeToString())


def audited_message_to_proto(message: AuditedMessage) -> pb.AuditedMessage:
    return pb.AuditedMessage(
        sequenced_at_us=message.ts_us, envelope_index=message.envelope_index,
        request_id_us=message.request_ts_us or 0, kind=message.kind.value,
        recipients=list(message.recipients), payload=message.payload,
        summary=summarize(message.payload),
    )


def verdict_to_proto(verdict: StoredVerdict) -> pb.AuditedVerdict:
    return pb.AuditedVerdict(
        decided_at_us=verdict.decided_ts_us, message_id=verdict.message_id,
        verdict=verdict.verdict, result=verdict.result, sent_at_us=verdict.sent_ts_us or 0,
        send_error=verdict.send_error or "", summary=summarize(verdict.result),
    )


def summarize(payload: bytes) -> str:
    """One line an auditor can read; never raises."""
    if payload.startswith(BROADCAST_MAGIC):
        return "topology broadcast"
    try:
        return _describe(decode_protocol_message(payload))
    except UnknownMessageKind:
        return f"unknown payload ({len(payload)} bytes)"
    except MessageDecodeError as error:
        return f"malformed protocol message: {error.message}"


def _describe(message: ProtocolMessage) -> str:
    if isinstance(message, InformeeMessage):
        views = ", ".join(
            f"{'.'.join(map(str, v.view_position))}: informees {sorted(v.parameters.informees)}"
            f" threshold {v.parameters.threshold}" for v in message.views
        )
        return (f"informee tree {message.root_hash} from {message.submitting_participant} "
                f"({message.confirmation_policy.value}): {views}")
    if isinstance(message, RootHashMessage):
        return f"root hash {message.root_hash}"
    if isinstance(message, ConfirmationResponse):
        verdict = message.local_verdict
        answer = f"reject {verdict.code}: {verdict.message}" if isinstance(
            verdict, LocalReject) else "approve"
        view = message.view_hash or "no view"
        return (f"response to request {message.request_ts_us} from {message.sender} for "
                f"{sorted(message.confirming_parties)} on view {view}: {answer}")
    return _describe_result(message)


def _describe_result(result: MediatorResult) -> str:
    verdict = result.verdict
    if isinstance(verdict, Approve):
        text = "approve"
    elif isinstance(verdict, Reject):
        text = "reject: " + "; ".join(f"{r.code} {r.message}" for r in verdict.reasons)
    else:
        assert isinstance(verdict, Timeout)
        text = "timeout: no answer from " + ", ".join(
            f"{u.participant} for {sorted(u.parties)}" for u in verdict.unresponsive)
    return f"verdict on request {result.request_ts_us}: {text}"
