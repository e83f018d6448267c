"""Seed 003's counteroffer, first locking diagram, with real processes.

A (on alice's participant) holds c1, an Iou from the Bank (on bank's), and offered it to the
painter P (on bob's) in c2, a Counteroffer. P accepts (tx1: consumes c2 and, as a
consequence, c1, which the Bank must confirm); A, meanwhile, retracts (tx2: consumes c2).
Stopping the Bank's participant (SIGSTOP) holds tx1 in flight once A's participant has
approved it and so locked c2: tx2 is rejected because c2 is locked
(LOCAL_VERDICT_LOCKED_CONTRACTS), although tx1 has not committed yet — pessimistic
rejection. SIGCONT: the Bank answers before the confirmation response timeout and tx1
commits; tx2 stays rejected.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

import grpc
import pytest
from tests.system.participant.harness import created, eventually
from tests.system.protocol.delivered import (
    SequencerDb,
    keys_of,
    protocol_messages,
    stored_envelopes,
)
from tests.system.protocol.ledger import (
    completion_failure,
    completions_of,
    create_in,
    exercise_in,
    failure_of,
    known_everywhere,
    sees,
    trees_of,
)
from tests.system.protocol.network import CONFIRMATION_RESPONSE_TIMEOUT_MS, Network

from minicanton.codec.gen.com.daml.ledger.api.v1.value_pb2 import Value
from minicanton.core.protocol.messages import ConfirmationResponse, LocalApprove
from minicanton.core.protocol.view_message import MAGIC as VIEW_MAGIC

pytestmark = pytest.mark.system
LOCKED = "LOCAL_VERDICT_LOCKED_CONTRACTS"


@contextmanager
def stopped(network: Network, name: str) -> Iterator[None]:
    """The participant's process frozen (SIGSTOP) for the block, then resumed (SIGCONT)."""
    process = network.node(name).process
    assert process is not None and process.poll() is None
    process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        process.send_signal(signal.SIGCONT)


async def _request_ts(db: SequencerDb, sender: int, after_us: int) -> int:
    requests = [row["ts"] for row in await db.sent_by(sender, after_us)
                if any(s.envelope.content.startswith(VIEW_MAGIC) for s in stored_envelopes(row))]
    assert len(requests) == 1, f"{len(requests)} requests sequenced so far"
    return int(requests[0])


async def _responses(db: SequencerDb, sender: int, request_us: int) -> list[ConfirmationResponse]:
    found = [m for _, m in protocol_messages(await db.sent_by(sender, request_us))
             if isinstance(m, ConfirmationResponse) and m.request_ts_us == request_us]
    assert found, "no response yet"
    return found


async def test_diagram_1_the_later_conflicting_request_is_rejected_while_the_earlier_is_in_flight(
        network: Network) -> None:
    c = network.clients
    a, p, bank = (await network.allocate("alice", "A"), await network.allocate("bob", "P"),
                  await network.allocate("bank", "PaintBank"))
    await known_everywhere(network, [a, p, bank])
    party = lambda x: Value(party=x)  # noqa: E731
    c1 = created(await c["bank"].submit(bank, "paint-c1", create_in(
        "paint", "Iou", issuer=party(bank), owner=party(a), amount=Value(numeric="100.0"),
        currency=Value(text="USD"))), "Iou")
    offer = created(await c["bob"].submit(p, "paint-offer", create_in(
        "paint", "PaintOffer", painter=party(p), owner=party(a))), "PaintOffer")
    await eventually(lambda: sees(c["alice"], a, c1))
    await eventually(lambda: sees(c["alice"], a, offer))
    c2 = created(await c["alice"].submit(a, "paint-counter", exercise_in(
        "paint", "PaintOffer", offer, "CounterOffer", iou=Value(contract_id=c1))), "Counteroffer")
    await eventually(lambda: sees(c["bob"], p, c2))

    db = await SequencerDb.connect(network)
    try:
        head_us = await db.head()
        bob_number = await db.number_of(keys_of(network, "bob").participant_id)
        alice_number = await db.number_of(keys_of(network, "alice").participant_id)
        with stopped(network, "bank"):
            tx1 = asyncio.ensure_future(c["bob"].submit(p, "tx1-accept", exercise_in(
                "paint", "Counteroffer", c2, "Accept")))
            request_us = await eventually(lambda: _request_ts(db, bob_number, head_us))
            # A's participant approved tx1's views, so it holds c2 (and c1) locked
            approvals = await eventually(lambda: _responses(db, alice_number, request_us))
            assert all(isinstance(r.local_verdict, LocalApprove) for r in approvals)
            assert not tx1.done()
            with pytest.raises(grpc.aio.AioRpcError) as tx2:
                await c["alice"].submit(a, "tx2-retract", exercise_in(
                    "paint", "Counteroffer", c2, "Retract"))
            resumed_us = time.time_ns() // 1_000
            assert not tx1.done()  # still waiting for the Bank
        accepted = await tx1
    finally:
        await db.close()

    rejected = failure_of(tx2.value)
    assert rejected.error_id == LOCKED, rejected
    assert rejected.code == grpc.StatusCode.ABORTED
    assert c2 in rejected.message and network.participant_id("alice") in rejected.message
    # the Bank came back in time: tx1 was decided by its confirmations, not by a timeout
    assert resumed_us < request_us + CONFIRMATION_RESPONSE_TIMEOUT_MS * 1_000
    agreement = created(accepted, "PaintAgreement")

    async def settled() -> None:
        at_a = {x.contract_id for x in await c["alice"].active_contracts(a)}
        assert agreement in at_a and c1 not in at_a and c2 not in at_a
        ious = [x for x in await c["bank"].active_contracts(bank)
                if x.template_id.entity_name == "Iou"]
        assert [{f.label: f.value.party for f in x.create_arguments.fields}["owner"]
                for x in ious] == [p]

    await eventually(settled)
    a_choices = {e.exercised.choice for t in await trees_of(c["alice"], a)
                 for e in t.events_by_id.values() if e.WhichOneof("kind") == "exercised"}
    assert "Retract" not in a_choices and "Accept" in a_choices
    (retract,) = [done for _, done in await completions_of(c["alice"], a)
                  if done.command_id == "tx2-retract"]
    assert completion_failure(retract).error_id == LOCKED and not retract.transaction_id
