"""Micro-benchmark of a sequencer's per-event path outside the database (docs/performance.md).

Benchmark (a)'s three events per transaction (bank's confirmation request: a ~3 KB view for
bank and alice, the informee message for the mediator, a root hash message for each
participant and the mediator; bank's response to the mediator; the mediator's verdict, one
envelope per participant), in the shapes the protocol makes, through the real code of one
sequencer instance, phase by phase:

- admit: `SequencerService._admit` (parse, validate with the sender's run signature checked
  once per run, hand to the writer);
- write: `plan_events` and the store's write arguments (`_write_arrays`: the stored payload);
- read: the feed's read of those rows (`_page`, then `EventFeed` preparing each event);
- deliver: `member_stream` serving every event to bank, alice and the mediator, signed runs,
  from a feed that read the events afresh (what a feed caches per event is built once per
  event, as in a running instance: measured as read and deliver together, less read).

Read and deliver go by writes of `PER_WRITE` transactions (under (a) at c=32 a write carries
~4.7 events and each feed read about as many), so runs are as short as there.

Only entry points that exist unchanged in the trees before and after session 8 are called, so
the file runs against either: `PYTHONPATH=TREE/services python bench/sequencer_bytes_micro.py`.
Prints the min over rounds of each phase's CPU time in µs per transaction.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

from minicanton import _native
from minicanton.codec.sequencer import submission_to_proto
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.ids import MemberId
from minicanton.core.sequencing.batch import (
    Batch,
    Envelope,
    MemberRecipient,
    SubmissionRequest,
    sign_submissions,
)
from minicanton.core.sequencing.members import MemberDirectory, MemberRecord
from minicanton.core.sequencing.ordering import TimestampAllocator
from minicanton.core.sequencing.submission import SubmissionLimits, plan_events
from minicanton.sequencer.reader import EventFeed, StreamContext, member_stream
from minicanton.sequencer.service import SequencerService
from minicanton.store.postgres.sequencer import _page, _write_arrays
from minicanton.store.sequencer import CounterCheckpoint

DOMAIN = "da::1220" + "ab" * 32
NOW_US = 1_700_000_000_000_000
TRANSACTIONS = 32
PER_WRITE = 2
ROUNDS = 40
KEYS = {name: SigningKeyPair.from_private(bytes([n + 1]) * 32)
        for n, name in enumerate(("bank", "alice", "mediator"))}
IDS = {name: MemberId(("MED" if name == "mediator" else "PAR") + f"::{name}::1220"
                      + key.fingerprint[4:]) for name, key in KEYS.items()}
RECORDS = {name: MemberRecord(IDS[name], n, KEYS[name].public, True)
           for n, name in enumerate(("bank", "alice", "mediator"), start=1)}


def _to(*names: str) -> tuple[MemberRecipient, ...]:
    return tuple(MemberRecipient(IDS[name]) for name in names)


def _requests(tx: int) -> dict[str, list[SubmissionRequest]]:
    def req(sender: str, kind: str, *envelopes: Envelope) -> SubmissionRequest:
        return SubmissionRequest(DOMAIN, IDS[sender], f"{kind}-{tx}", NOW_US + 60_000_000,
                                 Batch(envelopes))
    filler = bytes([tx % 251])
    return {"bank": [
        req("bank", "request", Envelope(_to("alice", "bank"), filler * 3_000),
            Envelope(_to("mediator"), filler * 1_000),
            Envelope(_to("bank", "mediator"), filler * 70),
            Envelope(_to("alice", "mediator"), filler * 70)),
        req("bank", "response", Envelope(_to("mediator"), filler * 450))],
        "mediator": [req("mediator", "verdict", Envelope(_to("bank"), filler * 350),
                         Envelope(_to("alice"), filler * 350))]}


def _submissions() -> list[tuple[str, bytes]]:
    """Every transaction's sends, each sender's signed together as one run (the client signs
    what it queued in one turn of its loop), in sequencing order."""
    by_sender: dict[str, list[SubmissionRequest]] = {"bank": [], "mediator": []}
    for tx in range(TRANSACTIONS):
        for sender, requests in _requests(tx).items():
            by_sender[sender] += requests
    out = []
    for sender, requests in by_sender.items():
        for signed in sign_submissions(requests, KEYS[sender]):
            out.append((sender, submission_to_proto(signed).SerializeToString()))
    return out


class _Writer:
    def __init__(self) -> None:
        self.admitted: list[Any] = []

    def submit(self, submission: Any, size_bytes: int = 0) -> None:
        self.admitted.append(submission)


class _Store:
    """What the feed and a stream ask of the store: the rows of one write, nothing pruned."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    async def read_events(self, after_us: int, limit: int) -> Any:
        return _page([r for r in self.rows if r["ts"] > after_us][:limit], after_us, limit)

    async def pruned_counter(self, number: int) -> int:
        return -1

    async def checkpoint_before(self, number: int, counter: int) -> CounterCheckpoint:
        return CounterCheckpoint(-1, 0)

    async def save_checkpoint(self, number: int, checkpoint: CounterCheckpoint) -> None:
        pass


def _rows(arrays: list[list[Any]]) -> list[dict[str, Any]]:
    ts, senders, message_ids, _mst, _recipients, payloads, error_ids, reasons = arrays
    safe = max(ts)
    return [{"safe": safe, "ts": t, "node_index": 0, "sender": s, "message_id": m,
             "payload": p, "error_id": e, "error_reason": r}
            for t, s, m, p, e, r in zip(ts, senders, message_ids, payloads, error_ids, reasons,
                                        strict=True)]


async def _admit(raws: list[tuple[str, bytes]]) -> list[Any]:
    writer = _Writer()
    directory = MemberDirectory.of(RECORDS.values())
    limits = SubmissionLimits(DOMAIN, 10 << 20, 120_000_000)
    service = SequencerService(SimpleNamespace(  # type: ignore[arg-type]
        limits=SimpleNamespace(current=limits), members=SimpleNamespace(directory=directory),
        clock=lambda: NOW_US, writer=writer))
    for sender, raw in raws:
        await service._admit(raw, RECORDS[sender])
    return writer.admitted


def _write(admitted: list[Any]) -> list[list[Any]]:
    planned = plan_events(admitted, TimestampAllocator(2, 0, NOW_US), NOW_US)
    return _write_arrays(planned)


async def _read(rows: list[dict[str, Any]]) -> EventFeed:
    feed = EventFeed(_Store(rows))  # type: ignore[arg-type]
    await feed._read_new()
    return feed


def _writes(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The rows in sequencing order, `PER_WRITE` transactions' at a time."""
    rows = sorted(rows, key=lambda row: row["ts"])
    size = 3 * PER_WRITE
    return [rows[start:start + size] for start in range(0, len(rows), size)]


async def _read_all(writes: list[list[dict[str, Any]]]) -> list[EventFeed]:
    return [await _read(rows) for rows in writes]


async def _deliver_all(feeds: list[EventFeed], stores: list[_Store]) -> int:
    return sum([await _deliver(feed, store) for feed, store in zip(feeds, stores, strict=True)])


async def _deliver(feed: EventFeed, store: _Store) -> int:
    """Every member served every event it reads; the number of events served."""
    key = KEYS["mediator"]  # any key: the sequencer's
    names = {record.number: record.member for record in RECORDS.values()}
    context = StreamContext(store, feed, DOMAIN, key,  # type: ignore[arg-type]
                            names.__getitem__, lambda: None)
    served = 0
    for record in RECORDS.values():
        expected = sum(1 for event in feed.events_after(0) if record.number in event.recipients)
        stream = member_stream(context, record, 0)
        got = 0
        while got < expected:
            got += len(await stream.__anext__())
        await stream.aclose()  # type: ignore[attr-defined]
        served += got
    return served


def _best(action: Callable[[], Awaitable[Any]], loop: asyncio.AbstractEventLoop) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.process_time()  # CPU time: the machine is shared, waits are not ours
        loop.run_until_complete(action())
        best = min(best, time.process_time() - start)
    return best * 1e6 / TRANSACTIONS


def main() -> None:
    print(_native.STATE.describe(), file=sys.stderr)
    loop = asyncio.new_event_loop()
    raws = _submissions()
    admitted = loop.run_until_complete(_admit(raws))
    writes = _writes(_rows(_write(admitted)))
    feeds = loop.run_until_complete(_read_all(writes))
    stores = [_Store(rows) for rows in writes]
    served = loop.run_until_complete(_deliver_all(feeds, stores))
    assert served == 8 * TRANSACTIONS, served

    async def write() -> None:
        _write(admitted)

    async def read_and_deliver() -> None:
        await _deliver_all(await _read_all(writes), stores)

    phases = {
        "admit": lambda: _admit(raws),
        "write": write,
        "read": lambda: _read_all(writes),
        "deliver": read_and_deliver,
    }
    figures = {name: _best(action, loop) for name, action in phases.items()}
    figures["deliver"] -= figures["read"]
    print("  ".join(f"{name} {us:6.1f}" for name, us in figures.items()),
          f" | write+read+deliver {figures['write'] + figures['read'] + figures['deliver']:6.1f}"
          f"  all {sum(figures.values()):6.1f} µs/tx ({TRANSACTIONS} tx, min of {ROUNDS})")


if __name__ == "__main__":
    main()
