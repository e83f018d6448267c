"""What became of a member's sends, learnt only from its own event stream.

Theory of operation: a tracked send is pending until the stream shows its fate. The receipt
(the sender's copy of its event, which carries the message id) means delivered; a deliver-error
for it means failed, or not sequenced when the reason is that the max sequencing time passed.
Events arrive in timestamp order, so once the member sees *any* event after a pending send's
max sequencing time without its receipt, that send can never be sequenced any more: it is
reported not sequenced. Nothing is ever dropped silently.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from minicanton.core.errors import InvalidArgument
from minicanton.core.sequencing.events import Deliver, DeliverError, SequencedEvent
from minicanton.core.sequencing.submission import SEQUENCING_TIME_EXCEEDED


@dataclass(frozen=True, slots=True)
class SendDelivered:
    message_id: str
    timestamp_us: int
    counter: int

    def __init__(self, message_id: str, timestamp_us: int, counter: int) -> None:
        object.__setattr__(self, "message_id", message_id)
        object.__setattr__(self, "timestamp_us", timestamp_us)
        object.__setattr__(self, "counter", counter)


@dataclass(frozen=True, slots=True)
class SendFailed:
    message_id: str
    error_id: str
    reason: str
    timestamp_us: int


@dataclass(frozen=True, slots=True)
class SendNotSequenced:
    message_id: str
    max_sequencing_time_us: int
    observed_timestamp_us: int


SendOutcome = SendDelivered | SendFailed | SendNotSequenced


class SendTracker:
    def __init__(self) -> None:
        self._pending: dict[str, int] = {}
        self._deadlines: list[tuple[int, str]] = []

    def track(self, message_id: str, max_sequencing_time_us: int) -> None:
        if message_id in self._pending:
            raise InvalidArgument(f"a send with message id {message_id!r} is already pending")
        self._pending[message_id] = max_sequencing_time_us
        heapq.heappush(self._deadlines, (max_sequencing_time_us, message_id))

    def forget(self, message_id: str) -> None:
        self._pending.pop(message_id, None)

    def is_pending(self, message_id: str) -> bool:
        return message_id in self._pending

    def observe(self, event: SequencedEvent) -> list[SendOutcome]:
        outcomes: list[SendOutcome] = []
        message_id = _own_message_id(event)
        if message_id is not None:
            deadline_us = self._pending.pop(message_id, None)
            if deadline_us is not None:
                outcomes.append(_outcome(event, message_id, deadline_us))
        outcomes += self._expire(event.timestamp_us)
        return outcomes

    def _expire(self, now_us: int) -> list[SendOutcome]:
        expired: list[SendOutcome] = []
        while self._deadlines and self._deadlines[0][0] < now_us:
            deadline_us, message_id = heapq.heappop(self._deadlines)
            if self._pending.get(message_id) == deadline_us:
                del self._pending[message_id]
                expired.append(SendNotSequenced(message_id, deadline_us, now_us))
        return expired


def _own_message_id(event: SequencedEvent) -> str | None:
    content = event.content
    if isinstance(content, Deliver):
        return content.message_id
    return content.message_id


def _outcome(event: SequencedEvent, message_id: str, deadline_us: int) -> SendOutcome:
    content = event.content
    if isinstance(content, Deliver):
        return SendDelivered(message_id, event.timestamp_us, event.counter)
    assert isinstance(content, DeliverError)
    if content.error_id == SEQUENCING_TIME_EXCEEDED:
        return SendNotSequenced(message_id, deadline_us, event.timestamp_us)
    return SendFailed(message_id, content.error_id, content.reason, event.timestamp_us)
