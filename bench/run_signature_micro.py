"""Micro-benchmark of the sequenced-event signature path (docs/performance.md, session 6).

A sequencer instance serves a member a run of N events (`sequencer.delivery.signed_run`:
serialize, hash, sign once, frame) and the member receives them (`codec.sequencer.
parse_signed_event` and `EventChain.accept`: parse, hash, fold the proof, verify once). Both
calls have the same signature in the trees before and after session 6 (session 8 serves from
stored bytes: `PreparedEvent.event_for`), so this file runs against either:
`PYTHONPATH=TREE/services python bench/run_signature_micro.py`.

Prints, per run length, the min-of-rounds time per event on each side and, with the pure
Python core (`MINICANTON_NATIVE=0`: the count wraps `hashlib.sha256`, which the compiled core
also calls but may bind early), the SHA-256 computations per event on each side.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable

_calls = [0]
_sha256 = hashlib.sha256


def _counting_sha256(*args: bytes) -> object:
    _calls[0] += 1
    return _sha256(*args)


hashlib.sha256 = _counting_sha256  # type: ignore[assignment]

from minicanton import _native  # noqa: E402
from minicanton.codec.sequencer import parse_signed_event  # noqa: E402
from minicanton.core.crypto.signing import SigningKeyPair  # noqa: E402
from minicanton.core.ids import MemberId  # noqa: E402
from minicanton.core.sequencing.batch import Envelope, MemberRecipient  # noqa: E402
from minicanton.core.sequencing.chain import EventChain  # noqa: E402
from minicanton.core.sequencing.stored import (  # noqa: E402
    StoredEnvelope,
    StoredEvent,
    StreamCursor,
    project_event,
)
from minicanton.sequencer.delivery import PreparedEvent, signed_run  # noqa: E402

DOMAIN = "da::1220" + "ab" * 32
MEMBERS = {n: MemberId(f"PAR::p{n}::1220" + "cd" * 32) for n in (1, 2, 3)}
KEY = SigningKeyPair.from_private(bytes([7]) * 32)
TRUSTED = {KEY.fingerprint: KEY.public}
ROUNDS = 30


def _stored(count: int) -> list[StoredEvent]:
    """Events from member 1 to members 2 and 3, shaped like an Iou create's confirmation
    request (a view envelope of ~2.5 KB for both, a small one each, a root hash message)."""
    def envelope(numbers: frozenset[int], size: int, tag: int) -> StoredEnvelope:
        recipients = tuple(MemberRecipient(MEMBERS[n]) for n in sorted(numbers))
        return StoredEnvelope(numbers, Envelope(recipients, bytes([tag % 251]) * size))
    return [StoredEvent(10_000 + i, 0, 1, f"m{i}", (
        envelope(frozenset({2, 3}), 2_500, i), envelope(frozenset({2}), 300, i + 1),
        envelope(frozenset({3}), 300, i + 2), envelope(frozenset({2, 3}), 120, i + 3)))
        for i in range(count)]


def _serve(stored: list[StoredEvent], number: int) -> list[bytes]:
    prepared = [PreparedEvent(event, warm=False) for event in stored]
    if hasattr(PreparedEvent, "event_for"):  # session 8 on: events made from stored bytes
        previous = [None] + [item.stored.timestamp_us for item in prepared]
        return signed_run([item.event_for(DOMAIN, MEMBERS[number], number, MEMBERS[1],
                                          counter, previous[counter])  # type: ignore
                           for counter, item in enumerate(prepared)], KEY)  # type: ignore
    cursor, run, views = StreamCursor(), [], []
    for item in prepared:
        view = item.view_for(number)  # type: ignore[attr-defined]
        event = project_event(item.stored, DOMAIN, MEMBERS[number], number, MEMBERS[1],
                              cursor, None if view is None else view.batch)
        cursor = StreamCursor(event.counter, event.timestamp_us)
        run.append(event)
        views.append(view)
    return signed_run(run, views, KEY)  # type: ignore[call-arg,arg-type]


def _receive(raws: list[bytes], number: int) -> None:
    chain = EventChain(DOMAIN, MEMBERS[number], TRUSTED, None)
    for raw in raws:
        chain.accept(parse_signed_event(raw), raw)


def _measure(action: Callable[[], object], count: int) -> tuple[float, float]:
    """(min µs per event over ROUNDS, SHA-256 calls per event)."""
    _calls[0] = 0
    action()
    hashes = _calls[0] / count
    best = min(_timed(action) for _ in range(ROUNDS))
    return best * 1e6 / count, hashes


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    print(_native.STATE.describe(), file=sys.stderr)
    print("events  sequencer_us/event  sequencer_sha256/event  member_us/event  "
          "member_sha256/event")
    for count in (1, 8, 16, 32):
        stored = _stored(count)
        raws = _serve(stored, 2)
        serve = _measure(lambda: _serve(stored, 2), count)  # noqa: B023
        receive = _measure(lambda: _receive(raws, 2), count)  # noqa: B023
        print(f"{count:6d}  {serve[0]:18.1f}  {serve[1]:22.2f}  {receive[0]:15.1f}  "
              f"{receive[1]:19.2f}")


if __name__ == "__main__":
    main()
