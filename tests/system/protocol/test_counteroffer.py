"""Seed 003's counteroffer, first locking diagram, with real processes.

A (on alice's participant) holds c1, an Iou from the Bank (on bank's), and offered it to the
painter P (on bob's) in c2, a Counteroffer. P accepts (tx1: consumes c2 and, as a
consequence, c1, which the Bank must confirm); A, meanwhile, retracts (tx2: consumes c2).
Stopping the Bank's participant (SIGSTOP) holds tx1 in flight once A's participant has
approved it and so locked c2: tx2 is rejected because c2 is locked
(LOCAL_VERDICT_LOCKED_CONTRACTS), although tx1 has not committed yet — pessimistic
rejection. SIGCONT: the Bank answers before the confirmation response timeout and tx1
commits; tx2 stays rejected. Kept stopped past the timeout instead, the Bank's silence times
tx1 out, and that verdict is what releases A's lock on c2.

The locks survive a crash: with tx1 in flight, A's participant is killed (-9) and restarted.
Its locks are its store's pending requests (`store_locks`), written with the clean position
that passed tx1's request, so the restarted node does not read tx1 again: only rebuilding its
locks from those rows makes it still reject tx2 — itself, not just P's participant — and
still accept tx1's commit.

(Diagrams 2 and 3 need one participant to answer one request and hold back its answer to
another, which stopping a process cannot do: test_counteroffer_held.py runs them with A on
the rogue participant of rogue.py, a real domain member living in the test process.)
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import grpc
import pytest
from tests.system.participant.harness import created, eventually
from tests.system.protocol.delivered import (
    SequencerDb,
    keys_of,
    protocol_messages,
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
from minicanton.core.protocol.messages import ConfirmationResponse, LocalApprove, LocalReject
from minicanton.core.protocol.participant_effects import MEDIATOR_TIMEOUT
from minicanton.core.protocol.validation import request_id_of

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


async def store_locks(network: Network, name: str, contract_id: str,
                      expected: list[str]) -> None:
    """The participant's own store keeps `contract_id` locked by the `expected` requests (in
    sequencing order): its pending requests, from which it rebuilds its locks on a restart."""
    connection = await asyncpg.connect(network.node(name).config["database_dsn"])
    try:
        rows = await connection.fetch(
            "SELECT request_id FROM pending_requests WHERE $1 = ANY(locked_contracts) "
            "ORDER BY request_ts_us", contract_id)
    finally:
        await connection.close()
    assert [r["request_id"] for r in rows] == expected, (name, contract_id)


async def clean_position_us(network: Network, name: str) -> int:
    """The sequencing time of the last event whose effects the participant stored: where a
    restart resumes reading."""
    connection = await asyncpg.connect(network.node(name).config["database_dsn"])
    try:
        value = await connection.fetchval("SELECT sequencer_ts_us FROM ledger_state")
    finally:
        await connection.close()
    return int(value or 0)


async def _responses(db: SequencerDb, sender: int, request_us: int) -> list[ConfirmationResponse]:
    found = [m for _, m in protocol_messages(await db.sent_by(sender, request_us))
             if isinstance(m, ConfirmationResponse) and m.request_ts_us == request_us]
    assert found, "no response yet"
    return found


@dataclass
class Paint:
    network: Network
    a: str
    p: str
    bank: str
    c1: str  # the Bank's Iou, owned by A
    c2: str  # A's counteroffer to P, offering c1

    async def accept(self, command_id: str = "tx1-accept") -> Any:
        """tx1: P accepts the counteroffer (consuming c2 and, with it, c1)."""
        return await self.network.clients["bob"].submit(self.p, command_id, exercise_in(
            "paint", "Counteroffer", self.c2, "Accept"))

    async def retract(self, command_id: str = "tx2-retract") -> Any:
        """tx2: A retracts it (consuming c2 only)."""
        return await self.network.clients["alice"].submit(self.a, command_id, exercise_in(
            "paint", "Counteroffer", self.c2, "Retract"))


async def paint_setup(network: Network, suffix: str = "") -> Paint:
    c = network.clients
    a, p, bank = (await network.allocate("alice", f"A{suffix}"),
                  await network.allocate("bob", f"P{suffix}"),
                  await network.allocate("bank", f"PaintBank{suffix}"))
    await known_everywhere(network, [a, p, bank])
    c1 = created(await c["bank"].submit(bank, "paint-c1", create_in(
        "paint", "Iou", issuer=Value(party=bank), owner=Value(party=a),
        amount=Value(numeric="100.0"), currency=Value(text="USD"))), "Iou")
    offer = created(await c["bob"].submit(p, "paint-offer", create_in(
        "paint", "PaintOffer", painter=Value(party=p), owner=Value(party=a))), "PaintOffer")
    await eventually(lambda: sees(c["alice"], a, c1))
    await eventually(lambda: sees(c["alice"], a, offer))
    c2 = created(await c["alice"].submit(a, "paint-counter", exercise_in(
        "paint", "PaintOffer", offer, "CounterOffer", iou=Value(contract_id=c1))), "Counteroffer")
    await eventually(lambda: sees(c["bob"], p, c2))  # with c1 divulged to P's participant
    return Paint(network, a, p, bank, c1, c2)


async def test_diagram_1_the_later_conflicting_request_is_rejected_while_the_earlier_is_in_flight(
        network: Network) -> None:
    paint = await paint_setup(network)
    db = await SequencerDb.connect(network)
    try:
        head_us = await db.head()
        bob = await db.number_of(keys_of(network, "bob").participant_id)
        alice = await db.number_of(keys_of(network, "alice").participant_id)
        with stopped(network, "bank"):
            tx1 = asyncio.ensure_future(paint.accept())
            request_us = await eventually(lambda: db.request_ts(bob, head_us))
            # A's participant approved tx1's views, so it holds c2 (and c1) locked
            approvals = await eventually(lambda: _responses(db, alice, request_us))
            assert all(isinstance(r.local_verdict, LocalApprove) for r in approvals)
            with pytest.raises(grpc.aio.AioRpcError) as tx2:
                await paint.retract()
            resumed_us = time.time_ns() // 1_000
            assert not tx1.done()  # still waiting for the Bank
            await sees(network.clients["alice"], paint.a, paint.c2)  # locked, not archived
        accepted = await tx1
    finally:
        await db.close()

    rejected = failure_of(tx2.value)
    assert rejected.error_id == LOCKED, rejected
    assert rejected.code == grpc.StatusCode.ABORTED
    assert paint.c2 in rejected.message  # which contract, and who rejected
    assert network.participant_id("alice") in rejected.message
    # the Bank came back in time: tx1 was decided by its confirmations, not by a timeout
    assert resumed_us < request_us + CONFIRMATION_RESPONSE_TIMEOUT_MS * 1_000
    await _tx1_committed_and_tx2_never(paint, created(accepted, "PaintAgreement"))


async def test_a_participant_killed_and_restarted_keeps_the_locks_of_its_pending_request(
        network: Network) -> None:
    paint = await paint_setup(network, "Restart")
    db = await SequencerDb.connect(network)
    node = network.node("alice")
    try:
        head_us = await db.head()
        bob = await db.number_of(keys_of(network, "bob").participant_id)
        alice = await db.number_of(keys_of(network, "alice").participant_id)
        with stopped(network, "bank"):
            tx1 = asyncio.ensure_future(paint.accept())
            request_us = await eventually(lambda: db.request_ts(bob, head_us))
            rid1 = request_id_of(request_us)
            await eventually(lambda: _responses(db, alice, request_us))
            await eventually(lambda: _a_holds(network, paint, [rid1]))
            # stored with the clean position past tx1: a restart resumes after it
            assert await clean_position_us(network, "alice") >= request_us
            node.kill()
            await _a_holds(network, paint, [rid1])
            node.spawn()
            await node.wait_ready()
            restarted_us = time.time_ns() // 1_000
            await _a_holds(network, paint, [rid1])
            with pytest.raises(grpc.aio.AioRpcError) as tx2:
                await paint.retract()
            # the restarted participant itself rejects tx2 because c2 is locked
            tx2_us = await db.request_ts(alice, request_us)
            for response in await eventually(lambda: _responses(db, alice, tx2_us)):
                verdict = response.local_verdict
                assert isinstance(verdict, LocalReject) and verdict.code == LOCKED, verdict
                assert paint.c2 in verdict.message
            assert not tx1.done()  # still waiting for the Bank
            # tx2's verdict released the lock tx2 took; tx1's stays
            await eventually(lambda: _a_holds(network, paint, [rid1]))
        accepted = await tx1
    finally:
        await db.close()

    assert restarted_us < request_us + CONFIRMATION_RESPONSE_TIMEOUT_MS * 1_000
    rejected = failure_of(tx2.value)
    assert rejected.error_id == LOCKED, rejected
    assert paint.c2 in rejected.message
    assert network.participant_id("alice") in rejected.message
    agreement = created(accepted, "PaintAgreement")
    await _tx1_committed_and_tx2_never(paint, agreement)
    await eventually(lambda: _no_locks_left(paint))
    await _each_transaction_once(paint, str(accepted.transaction_id))


async def _a_holds(network: Network, paint: Paint, expected: list[str]) -> None:
    await store_locks(network, "alice", paint.c1, expected)
    await store_locks(network, "alice", paint.c2, expected)


async def _no_locks_left(paint: Paint) -> None:
    for name, contract_id in (("alice", paint.c1), ("alice", paint.c2), ("bob", paint.c2),
                              ("bank", paint.c1)):
        await store_locks(paint.network, name, contract_id, [])


async def _each_transaction_once(paint: Paint, accept_id: str) -> None:
    """Every ledger of the scenario's parties holds tx1 once and no transaction twice (the
    Bank's sees tx1 as c1's transfer only)."""
    c = paint.network.clients
    for name, party in (("alice", paint.a), ("bob", paint.p), ("bank", paint.bank)):
        ids = [t.transaction_id for t in await trees_of(c[name], party)]
        assert len(ids) == len(set(ids)) and accept_id in ids, (name, ids)


async def _tx1_committed_and_tx2_never(paint: Paint, agreement: str) -> None:
    c = paint.network.clients

    async def settled() -> None:
        at_a = {x.contract_id for x in await c["alice"].active_contracts(paint.a)}
        assert agreement in at_a and paint.c1 not in at_a and paint.c2 not in at_a
        ious = [x for x in await c["bank"].active_contracts(paint.bank)
                if x.template_id.entity_name == "Iou"]
        assert [{f.label: f.value.party for f in x.create_arguments.fields}["owner"]
                for x in ious] == [paint.p]

    await eventually(settled)
    a_choices = {e.exercised.choice for t in await trees_of(c["alice"], paint.a)
                 for e in t.events_by_id.values() if e.WhichOneof("kind") == "exercised"}
    assert "Retract" not in a_choices and "Accept" in a_choices
    (retract,) = [done for _, done in await completions_of(c["alice"], paint.a)
                  if done.command_id == "tx2-retract"]
    assert completion_failure(retract).error_id == LOCKED and not retract.transaction_id


async def test_the_lock_is_kept_until_the_earlier_request_times_out_then_released(
        network: Network) -> None:
    """The same, but the Bank stays stopped past tx1's decision time: tx2 is rejected while
    tx1 is in flight; tx1 times out naming the Bank's participant; that verdict releases
    A's locks, so the same retraction submitted again commits."""
    paint = await paint_setup(network, "Late")
    db = await SequencerDb.connect(network)
    try:
        head_us = await db.head()
        bob = await db.number_of(keys_of(network, "bob").participant_id)
        alice = await db.number_of(keys_of(network, "alice").participant_id)
        with stopped(network, "bank"):
            tx1 = asyncio.ensure_future(paint.accept("late-tx1-accept"))
            request_us = await eventually(lambda: db.request_ts(bob, head_us))
            await eventually(lambda: _responses(db, alice, request_us))
            with pytest.raises(grpc.aio.AioRpcError) as tx2:
                await paint.retract("late-tx2-retract")
            assert failure_of(tx2.value).error_id == LOCKED
            with pytest.raises(grpc.aio.AioRpcError) as tx1_outcome:
                await tx1
    finally:
        await db.close()
    timed_out = failure_of(tx1_outcome.value)
    assert timed_out.error_id == MEDIATOR_TIMEOUT, timed_out
    assert network.participant_id("bank") in timed_out.message
    retracted = await paint.retract("late-tx2-retract-again")
    assert [e.archived.contract_id for e in retracted.events
            if e.WhichOneof("event") == "archived"] == [paint.c2]
    await eventually(lambda: sees(network.clients["bank"], paint.bank, paint.c1))
