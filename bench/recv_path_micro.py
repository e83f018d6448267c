"""Micro-benchmark of a member's receive path (docs/performance.md, session 9).

Benchmark (a)'s three events per transaction (bank's confirmation request, its response, the
mediator's verdict; the shapes of `bench/sequencer_bytes_micro.py`) go through the real code of
one sequencer instance (admit, write, the feed's reads of `PER_WRITE` transactions at a time,
`member_stream`), and each member's stream is captured as it is sent: SubscribeBatched messages,
one signed run each. Then each member receives its stream as `SequencerClient` does, item by
item (`unpacked_messages`, `SequencerClient._receive`: parse, `EventChain.accept`, send
outcomes), with a fresh client per round.

Printed per member: the min over rounds of the CPU time per transaction and per event, for
the protobuf reading of an event (`signed_event_from_proto` of the parsed message, what every
release before session 9 did: "before") and for `parse_signed_event` as it is in the tree
("after": the compiled `decode_signed_event` since session 9), and the same for the parse
alone. Each run's Ed25519 verification is done in the first round and remembered by the core
after that (`signing._VERIFIED`), the same before and after: the figures are what the reading
costs, not the signature check (one per run, ~70 µs, unchanged).

The client, the chain and `parse_signed_event` have the same signatures in the trees before and
after session 9, so `PYTHONPATH=TREE/services python bench/recv_path_micro.py` runs against
either (in a tree without the compiled reading, "after" is the protobuf reading again).
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import sequencer_bytes_micro as shapes
from minicanton import _native
from minicanton.codec.sequencer import (
    packed_messages,
    parse_message,
    parse_signed_event,
    pb,
    signed_event_from_proto,
    unpacked_messages,
)
from minicanton.core.sequencing.chain import EventChain
from minicanton.core.sequencing.events import SignedSequencedEvent
from minicanton.runtime import sequencer_client
from minicanton.runtime.sequencer_client import SequencerClient
from minicanton.sequencer.reader import EventFeed, StreamContext, member_stream

ROUNDS = 40
TRANSACTIONS = 128
SEQUENCER_KEY = shapes.KEYS["mediator"]  # any key: the sequencer's
TRUSTED = {SEQUENCER_KEY.fingerprint: SEQUENCER_KEY.public}


def protobuf_reading(raw: bytes) -> SignedSequencedEvent:
    """How every release before session 9 read an event (still the codec's fallback)."""
    return signed_event_from_proto(parse_message(pb.SignedSequencedEvent, raw))


async def _streams() -> dict[str, list[bytes]]:
    """Each member's stream as SubscribeBatched sends it: one packed message per run, the
    feed reading `PER_WRITE` transactions' events at a time (as each write lands)."""
    raws = shapes._submissions()
    writes = shapes._writes(shapes._rows(shapes._write(await shapes._admit(raws))))
    store = shapes._Store([])
    feed = EventFeed(store)  # type: ignore[arg-type]
    names = {record.number: record.member for record in shapes.RECORDS.values()}
    context = StreamContext(store, feed, shapes.DOMAIN, SEQUENCER_KEY,  # type: ignore[arg-type]
                            names.__getitem__, lambda: None)
    streams = {name: member_stream(context, record, 0)
               for name, record in shapes.RECORDS.items()}
    out: dict[str, list[bytes]] = {name: [] for name in shapes.RECORDS}
    for rows in writes:
        safe = max(row["ts"] for row in rows)  # each read sees this write, as it lands
        store.rows = store.rows + [dict(row, safe=safe) for row in rows]
        before = len(feed.events_after(0))
        await feed._read_new()
        new = feed.events_after(0)[before:]
        for name, record in shapes.RECORDS.items():
            expected = sum(1 for event in new if record.number in event.recipients)
            while expected > 0:
                run = await streams[name].__anext__()
                expected -= len(run)
                out[name].append(packed_messages(run))
    for stream in streams.values():
        await stream.aclose()  # type: ignore[attr-defined]
    return out


def _client(name: str) -> SequencerClient:
    """A client that never connects, at the start of its stream (`_fresh`)."""
    config = sequencer_client.SequencerClientConfig(("127.0.0.1:9",))
    return SequencerClient(domain_id=shapes.DOMAIN, member=shapes.IDS[name],
                           signing_key=shapes.KEYS[name],
                           trusted_sequencer_keys=TRUSTED.values(), config=config)


def _fresh(client: SequencerClient) -> SequencerClient:
    client._chain = EventChain(client.domain_id, client.member, TRUSTED, None)
    return client


def _receive_all(client: SequencerClient, stream: list[bytes]) -> int:
    """The subscription loop's work for `stream`, without the handler queue."""
    received = 0
    for raw in stream:
        for item in unpacked_messages(raw):
            received += client._receive(item) is not None
    return received


def _parse_all(stream: list[bytes], read: Callable[[bytes], Any]) -> None:
    for raw in stream:
        for item in unpacked_messages(raw):
            read(item)


def _measure(client: SequencerClient, stream: list[bytes]) -> dict[str, float]:
    """Min over rounds of each variant's CPU µs, the variants alternating within a round so a
    slow minute of the machine slows them alike."""
    variants: dict[str, Callable[[], Any]] = {}
    for label, read in (("before", protobuf_reading), ("after", parse_signed_event)):
        variants[f"receive {label}"] = lambda read=read: _received_with(client, stream, read)
        variants[f"parse {label}"] = lambda read=read: _parse_all(stream, read)
    best = dict.fromkeys(variants, float("inf"))
    for _ in range(ROUNDS):
        for label, action in variants.items():
            gc.collect()
            start = time.process_time()  # CPU time: the machine is shared, waits are not ours
            action()
            best[label] = min(best[label], time.process_time() - start)
    return {label: seconds * 1e6 for label, seconds in best.items()}


def _received_with(client: SequencerClient, stream: list[bytes],
                   read: Callable[[bytes], SignedSequencedEvent]) -> None:
    """`_receive_all` with the client reading events by `read` (a fresh chain is set up
    untimed... cheaply: one constructor call, in both variants alike)."""
    original = sequencer_client.parse_signed_event
    sequencer_client.parse_signed_event = read  # type: ignore[attr-defined]
    try:
        _receive_all(_fresh(client), stream)
    finally:
        sequencer_client.parse_signed_event = original  # type: ignore[attr-defined]


def main() -> None:
    print(_native.STATE.describe(), file=sys.stderr)
    shapes.TRANSACTIONS = TRANSACTIONS
    streams = asyncio.new_event_loop().run_until_complete(_streams())
    transactions = TRANSACTIONS
    print(f"{transactions} tx of (a), runs of {shapes.PER_WRITE} transactions' events, "
          f"min of {ROUNDS}; µs per transaction (per event)")
    total_saved = 0.0
    for name, stream in streams.items():
        events = sum(len(unpacked_messages(raw)) for raw in stream)
        for label, read in (("before", protobuf_reading), ("after", parse_signed_event)):
            assert all(read(item) == protobuf_reading(item)
                       for raw in stream for item in unpacked_messages(raw)), label
        client = _client(name)
        assert _receive_all(_fresh(client), stream) == events
        figures = _measure(client, stream)
        saved = (figures["receive before"] - figures["receive after"]) / transactions
        total_saved += saved
        print(f"  {name:9} {events / transactions:.0f} events/tx, "
              + "  ".join(f"{label} {us / transactions:6.1f} ({us / events:5.2f})"
                          for label, us in figures.items())
              + f"  saved {saved:5.1f} µs/tx")
    print(f"  saved across the three members: {total_saved:.1f} µs per transaction")


if __name__ == "__main__":
    main()
