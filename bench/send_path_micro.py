"""Micro-benchmark of a member's send path in its shell (docs/performance.md).

Benchmark (a)'s sends per transaction, in the shapes the protocol makes: bank's confirmation
request (a ~3 KB view for bank and alice, the informee message for the mediator, a root hash
message for each participant and the mediator) and its confirmation response (to the
mediator), the mediator's verdict (one envelope per participant). Each goes through the real
`SequencerClient.send_async` and `SequencerConnection` on uvloop: sign with the others queued
in the same loop turn, serialize, queue on the packed send stream, pack, and wait for the
acceptance. Only gRPC is replaced: a stand-in for the stream call pulls the packed messages as
gRPC would, parses each request for its message id and answers it accepted; its own CPU is
timed apart and subtracted, and so is the signing (`sign_submissions`, the core's hashing and
Ed25519, timed around each call the client makes).

Sends go `GROUP` at a time (what a loop turn of a node at c=32 queues), `TRANSACTIONS` per
round. Prints the min over rounds of µs of CPU per transaction for bank (two sends) and the
mediator (one), and the mean requests per stream message. Uses only entry points that exist
in the trees before and after session 9: `PYTHONPATH=TREE/services python
bench/send_path_micro.py`.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import uvloop

from minicanton import _native
from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_pb2 as pb
from minicanton.codec.sequencer import packed_messages, unpacked_messages
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.ids import MemberId
from minicanton.core.sequencing.batch import (
    Batch,
    Envelope,
    MemberRecipient,
    sign_submissions,
)
from minicanton.runtime import sequencer_client
from minicanton.runtime.sequencer_client import SequencerClient, SequencerClientConfig

DOMAIN = "da::1220" + "ab" * 32
TRANSACTIONS = 64
GROUP = 4
ROUNDS = 30
KEYS = {name: SigningKeyPair.from_private(bytes([n + 1]) * 32)
        for n, name in enumerate(("bank", "alice", "mediator"))}
IDS = {name: MemberId(("MED" if name == "mediator" else "PAR") + f"::{name}::1220"
                      + key.fingerprint[4:]) for name, key in KEYS.items()}
FAR_US = 1 << 62


def _to(*names: str) -> tuple[MemberRecipient, ...]:
    return tuple(MemberRecipient(IDS[name]) for name in names)


def _batches(sender: str, tx: int) -> list[Batch]:
    filler = bytes([tx % 251])
    if sender == "mediator":
        return [Batch((Envelope(_to("bank"), filler * 350), Envelope(_to("alice"), filler * 350)))]
    return [Batch((Envelope(_to("alice", "bank"), filler * 3_000),
                   Envelope(_to("mediator"), filler * 1_000),
                   Envelope(_to("bank", "mediator"), filler * 70),
                   Envelope(_to("alice", "mediator"), filler * 70))),
            Batch((Envelope(_to("mediator"), filler * 450),))]


class _Stand:
    """What the client sees of gRPC's stream call: requests pulled from the iterator it was
    given, one response message per request message (as the sequencer answers a packed one)."""

    def __init__(self, requests: Any, packed: bool) -> None:
        self._requests = requests
        self._packed = packed
        self.cpu_s = 0.0
        self.messages = self.requests = 0

    def __aiter__(self) -> _Stand:
        return self

    async def __anext__(self) -> bytes:
        raw = await self._requests.__anext__()
        start = time.process_time()
        items = unpacked_messages(raw) if self._packed else [raw]
        answers = [pb.SendResponse(
            message_id=pb.SignedSubmissionRequest.FromString(item).request.message_id,
            accepted=pb.SendAccepted(timestamp_us=1)).SerializeToString() for item in items]
        self.messages += 1
        self.requests += len(items)
        out = packed_messages(answers) if self._packed else answers[0]
        self.cpu_s += time.process_time() - start
        return out

    def cancel(self) -> bool:
        return True


class _Channel:
    def __init__(self) -> None:
        self.stands: list[_Stand] = []

    def stream_stream(self, method: str) -> Any:
        def call(requests: Any, metadata: Any = None) -> _Stand:
            stand = _Stand(requests, packed=method.endswith("Packed"))
            self.stands.append(stand)
            return stand
        return call

    async def close(self) -> None:
        pass


def _client(sender: str) -> tuple[SequencerClient, list[_Channel]]:
    client = SequencerClient(domain_id=DOMAIN, member=IDS[sender], signing_key=KEYS[sender],
                             trusted_sequencer_keys=[],
                             config=SequencerClientConfig(("a:1", "b:2")))
    channels = []
    for connection in client.connections:
        channel = _Channel()
        connection.channel = channel  # type: ignore[assignment]

        async def metadata() -> tuple[tuple[str, str], ...]:
            return (("authorization", "Bearer x"),)
        connection._metadata = metadata  # type: ignore[method-assign]
        channels.append(channel)
    return client, channels


async def _round(client: SequencerClient, sender: str, round_no: int) -> tuple[float, list[str]]:
    """CPU seconds of every send of the round; the message ids sent."""
    ids: list[str] = []
    sends = [(batch, f"{sender}-{round_no}-{tx}-{n}") for tx in range(TRANSACTIONS)
             for n, batch in enumerate(_batches(sender, tx))]
    start = time.process_time()
    for at in range(0, len(sends), GROUP):
        group = sends[at:at + GROUP]
        await asyncio.gather(*[client.send_async(batch, message_id=message_id,
                                                 max_sequencing_time_us=FAR_US)
                               for batch, message_id in group])
        ids += [message_id for _, message_id in group]
    return time.process_time() - start, ids


class _TimedSigning:
    """`sign_submissions` as the client calls it, its CPU added up."""

    def __init__(self) -> None:
        self.cpu_s = 0.0

    def __call__(self, requests: Any, key: Any) -> Any:
        start = time.process_time()
        try:
            return sign_submissions(requests, key)
        finally:
            self.cpu_s += time.process_time() - start


async def _measure(sender: str) -> tuple[float, float, float]:
    """µs per transaction: the shell (less the stand-in and signing), signing; requests per
    stream message."""
    client, channels = _client(sender)
    signing = _TimedSigning()
    sequencer_client.sign_submissions = signing  # type: ignore[attr-defined]
    best, best_signing = float("inf"), float("inf")
    for round_no in range(ROUNDS):
        stand_before = sum(s.cpu_s for c in channels for s in c.stands)
        signing_before = signing.cpu_s
        cpu_s, ids = await _round(client, sender, round_no)
        stand_s = sum(s.cpu_s for c in channels for s in c.stands) - stand_before
        signing_s = signing.cpu_s - signing_before
        best = min(best, cpu_s - stand_s - signing_s)
        best_signing = min(best_signing, signing_s)
        for message_id in ids:  # outcomes come from the stream, not measured here
            client._tracker.forget(message_id)
            client._outcomes.pop(message_id, None)
    stands = [s for c in channels for s in c.stands]
    per_message = sum(s.requests for s in stands) / max(1, sum(s.messages for s in stands))
    await client.close()
    return best * 1e6 / TRANSACTIONS, best_signing * 1e6 / TRANSACTIONS, per_message


def main() -> None:
    print(_native.STATE.describe(), file=sys.stderr)
    for sender in ("bank", "mediator"):
        shell, signing, per_message = uvloop.run(_measure(sender))
        print(f"{sender}: send shell {shell:.1f} µs/tx (signing {signing:.1f} µs/tx apart), "
              f"{per_message:.2f} requests per stream message")


if __name__ == "__main__":
    main()
