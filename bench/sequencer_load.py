"""The sequencer bench's load generator: some of the ten members, in their own process.

Each payload starts with the send time (CLOCK_MONOTONIC ns, shared across processes), so a
recipient computes send-to-delivery latency without coordination. Deliveries are counted only
for messages sent inside the measured window.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable
from typing import Any

from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.ids import MemberId
from minicanton.core.sequencing.batch import Batch, Envelope, MemberRecipient
from minicanton.core.sequencing.chain import VerifiedEvent
from minicanton.core.sequencing.events import Deliver
from minicanton.core.sequencing.send_tracking import SendDelivered
from minicanton.runtime.sequencer_client import SequencerClient, SequencerClientConfig

DOMAIN_ID = "testdomain::1220" + "cd" * 32
SEQUENCER_SEED_HEX = "5e" * 32


class LoadWorker:
    def __init__(self, spec: dict[str, Any], duration_s: float, window: int,
                 rate_per_member: float, payload_bytes: int) -> None:
        self.spec = spec
        self.start_ns = int(spec["start_at_ns"])
        self.end_ns = self.start_ns + int(duration_s * 1e9)
        self.window = window
        self.interval_s = 1 / rate_per_member
        self.payload_bytes = payload_bytes
        self.latencies_ms: list[float] = []
        self.delivered = 0
        self.not_delivered = 0

    async def handle(self, verified: VerifiedEvent) -> None:
        content = verified.event.content
        if not isinstance(content, Deliver):
            return
        now_ns = time.monotonic_ns()
        for envelope in content.batch.envelopes:
            (sent_ns,) = struct.unpack_from(">q", envelope.content)
            if self.start_ns <= sent_ns < self.end_ns:
                self.delivered += 1
                self.latencies_ms.append((now_ns - sent_ns) / 1e6)

    def _batch(self, target: str) -> Batch:
        header = struct.pack(">q", time.monotonic_ns())
        body = header + b"\x00" * (self.payload_bytes - len(header))
        return Batch((Envelope((MemberRecipient(MemberId(target)),), body),))

    async def _send(self, client: SequencerClient, target: str,
                    slots: asyncio.Semaphore | None) -> None:
        try:
            handle = await client.send_async(self._batch(target))
            outcome = await handle.outcome
            if not isinstance(outcome, SendDelivered):
                self.not_delivered += 1
        except Exception:
            self.not_delivered += 1
        finally:
            if slots is not None:
                slots.release()

    async def _burst(self, client: SequencerClient, target: str) -> None:
        """Keep `window` sends in flight (each its own task: a send waits for acceptance)."""
        slots = asyncio.Semaphore(self.window)
        tasks = []
        while time.monotonic_ns() < self.end_ns:
            await slots.acquire()
            tasks.append(asyncio.ensure_future(self._send(client, target, slots)))
        await asyncio.gather(*tasks)

    async def _paced(self, client: SequencerClient, target: str, offset_s: float) -> None:
        await asyncio.sleep(offset_s)
        next_s = time.monotonic()
        tasks = []
        while time.monotonic_ns() < self.end_ns:
            tasks.append(asyncio.ensure_future(self._send(client, target, None)))
            next_s += self.interval_s
            await asyncio.sleep(max(0.0, next_s - time.monotonic()))
        await asyncio.gather(*tasks)

    async def run(self, seed_of: Callable[[int], bytes]) -> dict[str, Any]:
        members = self.spec["members"]
        sequencer_key = SigningKeyPair.from_private(bytes.fromhex(SEQUENCER_SEED_HEX))
        clients = []
        for index in self.spec["mine"]:
            client = SequencerClient(domain_id=DOMAIN_ID, member=MemberId(members[index]),
                            signing_key=SigningKeyPair.from_private(seed_of(index)),
                            trusted_sequencer_keys=[sequencer_key.public],
                            config=SequencerClientConfig(tuple(self.spec["endpoints"])))
            await client.start(self.handle)
            clients.append((index, client))
        await asyncio.sleep(max(0.0, (self.start_ns - time.monotonic_ns()) / 1e9))
        senders = []
        for position, (index, client) in enumerate(clients):
            target = members[(index + 1) % len(members)]
            if self.spec["mode"] == "throughput":
                senders.append(self._burst(client, target))
            else:
                offset = position * self.interval_s / len(clients)
                senders.append(self._paced(client, target, offset))
        await asyncio.gather(*senders)
        await asyncio.sleep(2.0)  # let the last deliveries arrive
        for _, client in clients:
            await client.close()
        return {"delivered": self.delivered, "latencies_ms": self.latencies_ms,
                "not_delivered": self.not_delivered, "cpu_s": time.process_time()}
