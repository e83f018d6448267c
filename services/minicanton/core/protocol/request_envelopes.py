"""What one sequenced event brings a participant, sorted by kind.

A participant's envelopes in one event are encrypted view messages (routed by their own
magic prefix), protocol messages (root-hash messages and mediator verdicts are ours; any
other is an alarm), topology broadcasts (not ours to read here: the shell routes them) and
empty time proofs. Payloads are kept as raw bytes where validation reads them again, so a
pending request can be re-validated from what was persisted after a restart; a view
message's recipients are kept with it, for the check that it went to every participant
hosting its informees.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from minicanton.core.protocol.message_codec import (
    MessageDecodeError,
    UnknownMessageKind,
    decode_protocol_message,
)
from minicanton.core.protocol.messages import MediatorResult, RootHashMessage
from minicanton.core.protocol.view_message import is_view_message
from minicanton.core.sequencing.batch import Envelope, Recipient


@dataclass(frozen=True, slots=True)
class Arrived:
    """One event's envelopes for a participant, sorted by what they are."""

    view_messages: tuple[bytes, ...]
    view_recipients: tuple[tuple[Recipient, ...], ...]  # each view message's envelope's
    root_hash_messages: tuple[bytes, ...]
    results: tuple[MediatorResult, ...]
    alarms: tuple[tuple[int, str, str], ...]  # (ts, code, message)

    def __init__(
        self,
        view_messages: tuple[bytes, ...],
        view_recipients: tuple[tuple[Recipient, ...], ...],
        root_hash_messages: tuple[bytes, ...],
        results: tuple[MediatorResult, ...],
        alarms: tuple[tuple[int, str, str], ...],
    ) -> None:
        object.__setattr__(self, "view_messages", view_messages)
        object.__setattr__(self, "view_recipients", view_recipients)
        object.__setattr__(self, "root_hash_messages", root_hash_messages)
        object.__setattr__(self, "results", results)
        object.__setattr__(self, "alarms", alarms)


def sort_envelopes(ts_us: int, envelopes: Iterable[Envelope]) -> Arrived:
    views: list[bytes] = []
    view_recipients: list[tuple[Recipient, ...]] = []
    roots: list[bytes] = []
    results: list[MediatorResult] = []
    alarms: list[tuple[int, str, str]] = []
    for envelope in envelopes:
        payload = envelope.content
        if not payload:
            continue  # a time proof
        if is_view_message(payload):
            views.append(payload)
            view_recipients.append(envelope.recipients)
            continue
        try:
            message = decode_protocol_message(payload)
        except UnknownMessageKind:
            continue  # not ours to read (a topology broadcast): the shell routes it
        except MessageDecodeError as err:
            alarms.append((ts_us, err.error_id, err.message))
            continue
        if isinstance(message, RootHashMessage):
            roots.append(payload)
        elif isinstance(message, MediatorResult):
            results.append(message)
        else:
            alarms.append((ts_us, "PARTICIPANT_UNEXPECTED_MESSAGE",
                           f"a {type(message).__name__} was sent to us"))
    return Arrived(tuple(views), tuple(view_recipients), tuple(roots), tuple(results),
                   tuple(alarms))
