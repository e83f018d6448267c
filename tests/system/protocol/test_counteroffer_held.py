"""Seed 003's counteroffer, locking diagrams 2 and 3, with real processes.

As in tests/sim/test_sim_counteroffer.py: c1 is the Bank's Iou owned by A, c2 A's
Counteroffer to the painter P, offering c1; tx1 is P's acceptance (consumes c2 and, as a
consequence, c1), tx2 A's retraction (consumes c2). The Bank is on bank's participant, P on
bob's, and A on the rogue participant (rogue.py): a real domain member whose real machine
decides, but whose answers the test may hold back — the diagrams need A's participant to
answer one request and keep its answer to another, which stopping a process cannot do
(diagram 1, which needs no such thing, is test_counteroffer.py).

Diagram 2 — the rejected request keeps its lock until its verdict. tx2 is in flight (A
holds its approval back); tx1 arrives: P's participant rejects it (c2 locked by tx2), A's
approves c1's archival and rejects c2's, the Bank approves. One rejection decides, so P's
would end tx1 at once: the mediator is frozen (SIGSTOP) meanwhile, which keeps tx1 in flight
without keeping anyone's answer. While it is, the Bank's participant and, for consistency,
A's hold c1 locked by tx1, and P's and A's hold c2 locked by both (the locks read from A's
machine and from the Bank's and P's own stores, whose pending requests are the locks they
restore after a restart); a transfer of c1 sequenced meanwhile is rejected as locked by A's
and the Bank's participants. The mediator resumes: tx1 and the transfer are rejected as
locked, tx1's verdict frees c1 everywhere while tx2 keeps c2. Released, tx2 commits, and
c1, active all along, transfers.

Diagram 3 — the incorrect negative. A spends c1 first; P, who only had it divulged, never
hears. tx1 is in flight (A holds its answer back, the Bank's participant is stopped): A's
participant approves c2's archival (so locks c2) and rejects c1's (inactive). tx2 arrives
and is rejected: c2 is locked by tx1. Then tx1 fails (c1 inactive), which releases c2 —
but tx2 stays rejected, though it would have succeeded: the retraction sent again commits.

The honest participants' answers are read from the mediator's auditor API; A's from its
machine (what the rogue sent or holds). The participants' response timeout is 6 s: each
held request is released well inside it, so its verdict comes from the answers, not the
clock.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
import pytest_asyncio
from tests.sim.dvp_flow import created_id, exercise
from tests.system.participant.harness import created, eventually
from tests.system.protocol.ledger import (
    create_in,
    exercise_in,
    failure_of,
    known_everywhere,
    sees,
    trees_of,
)
from tests.system.protocol.network import CONFIRMATION_RESPONSE_TIMEOUT_MS, Network
from tests.system.protocol.rogue import Rogue, audited_request, responses_in, verdict_code
from tests.system.protocol.test_counteroffer import stopped, store_locks

from minicanton.codec.gen.com.daml.ledger.api.v1.value_pb2 import Value
from minicanton.core.ids import PartyId
from minicanton.core.lf.value import ContractIdValue, PartyValue
from minicanton.core.protocol.participant_effects import Completion
from minicanton.core.protocol.validation import request_id_of

pytestmark = pytest.mark.system
LOCKED = "LOCAL_VERDICT_LOCKED_CONTRACTS"
INACTIVE = "LOCAL_VERDICT_INACTIVE_CONTRACTS"
FROZEN_S = 4.0  # the longest wait with the mediator frozen: inside its lease and tx2's timeout


@pytest_asyncio.fixture(scope="module")
async def rogue(network: Network) -> AsyncIterator[Rogue]:
    rogue = await Rogue.join(network, "a-node")
    try:
        yield rogue
    finally:
        await rogue.close()


@dataclass
class Paint:
    network: Network
    rogue: Rogue
    name: str  # the scenario's prefix for parties and command ids
    a: str
    p: str
    bank: str
    c1: str
    c2: str

    async def accept(self) -> Any:
        """tx1: P accepts the counteroffer, through bob's Ledger API."""
        return await self.network.clients["bob"].submit(self.p, f"{self.name}-tx1-accept",
                                                        exercise_in("paint", "Counteroffer",
                                                                    self.c2, "Accept"))

    def retract(self, command_id: str) -> Any:
        """tx2: A retracts it, from the rogue (the honest submission path)."""
        return self.rogue.submit(self.a, command_id,
                                 exercise("paint:Counteroffer", self.c2, "Retract"))

    def spend_c1(self, command_id: str) -> Any:
        """A hands the Iou back to the Bank, from the rogue: a request that uses c1 only."""
        return self.rogue.submit(self.a, command_id, exercise(
            "paint:Iou", self.c1, "Transfer", recipient=PartyValue(PartyId(self.bank))))

    def locks(self, contract_id: str) -> tuple[str, ...]:
        """A's participant's locks (the rogue's machine is in this process)."""
        return tuple(self.rogue.machine.conflict_detector.lock_holders(contract_id))

    async def bank_sees(self, contract_id: str) -> bool:
        active = await self.network.clients["bank"].active_contracts(self.bank)
        return contract_id in {c.contract_id for c in active}

    async def p_sees(self, contract_id: str) -> bool:
        active = await self.network.clients["bob"].active_contracts(self.p)
        return contract_id in {c.contract_id for c in active}


async def paint_setup(network: Network, rogue: Rogue, name: str) -> Paint:
    c = network.clients
    a = await rogue.allocate(f"A{name}")
    p, bank = (await network.allocate("bob", f"P{name}"),
               await network.allocate("bank", f"PaintBank{name}"))
    await known_everywhere(network, [a, p, bank])
    c1 = created(await c["bank"].submit(bank, f"{name}-c1", create_in(
        "paint", "Iou", issuer=Value(party=bank), owner=Value(party=a),
        amount=Value(numeric="100.0"), currency=Value(text="USD"))), "Iou")
    offer = created(await c["bob"].submit(p, f"{name}-offer", create_in(
        "paint", "PaintOffer", painter=Value(party=p), owner=Value(party=a))), "PaintOffer")
    await eventually(lambda: _holds(rogue, c1, offer))
    counter = rogue.submit(a, f"{name}-counter", exercise(
        "paint:PaintOffer", offer, "CounterOffer", iou=ContractIdValue(c1)))
    assert (await rogue.completion(f"{name}-counter")).accepted
    c2 = created_id(counter, "Counteroffer")
    await eventually(lambda: sees(c["bob"], p, c2))  # with c1 divulged to P's participant
    return Paint(network, rogue, name, a, p, bank, c1, c2)


async def _holds(rogue: Rogue, *contract_ids: str) -> None:
    rogue.check_running()
    assert set(contract_ids) <= set(rogue.store.active)


async def honest_verdicts(paint: Paint, request_ts_us: int,
                         of: tuple[str, ...] = ("bank", "bob")) -> dict[str, list[str]]:
    """Bank's and P's participants' (or those `of`) local verdicts on the request, view by
    view, as the mediator received them (auditor API); waits until each answered."""
    names = {paint.network.participant_id(n): n for n in of}

    async def answered() -> dict[str, list[str]]:
        _, responses = await audited_request(paint.network, request_ts_us)
        found: dict[str, list[str]] = {}
        for response in responses:
            if response.sender in names:
                found.setdefault(names[response.sender], []).append(verdict_code(response))
        assert set(found) == set(names.values()), found
        return {name: sorted(codes) for name, codes in found.items()}

    result: dict[str, list[str]] = await eventually(answered)
    return result


def answered_others(rogue: Rogue, after_us: int) -> list[int]:
    """The requests of others (by timestamp) the rogue sent answers to after `after_us`."""
    return sorted({r.request_ts_us for send in rogue.sent for r in responses_in(send)
                   if r.root_hash not in rogue.own_roots and r.request_ts_us > after_us})


def rejected(completion: Completion, code: str) -> None:
    assert completion.rejection is not None, completion
    assert completion.rejection.error_id == code, completion.rejection


async def test_diagram_2_the_rejected_request_keeps_its_lock_until_its_verdict(
        network: Network, rogue: Rogue) -> None:
    paint = await paint_setup(network, rogue, "D2")
    tx2 = paint.retract("D2-tx2-retract")
    rogue.hold("tx2", Rogue.responses_to(tx2.root_hash))  # before it is sequenced
    tx2_us = await rogue.request_ts(tx2)
    rid2 = request_id_of(tx2_us)
    await eventually(lambda: _held(rogue, "tx2"))
    assert rogue.held_verdicts("tx2") == ["APPROVE"]
    assert paint.locks(paint.c2) == (rid2,)

    with mediator_stopped(network):
        tx1 = asyncio.ensure_future(paint.accept())
        tx1_us = await eventually(lambda: _answered_one(rogue, tx2_us), FROZEN_S)
        rid1 = request_id_of(tx1_us)
        # A answers tx1 view by view: approves c1's archival, rejects c2's (locked by tx2)
        assert rogue.sent_verdicts(tx1_us) == ["APPROVE", LOCKED]
        # yet tx1, rejected, holds c1 at A and the Bank, and c2 after tx2 at A and P
        assert paint.locks(paint.c1) == (rid1,)
        assert paint.locks(paint.c2) == (rid2, rid1)
        await eventually(lambda: store_locks(network, "bank", paint.c1, [rid1]), FROZEN_S)
        await eventually(lambda: store_locks(network, "bob", paint.c2, [rid2, rid1]), FROZEN_S)
        tx3 = paint.spend_c1("D2-tx3-spend-c1")  # a request using c1 meanwhile
        tx3_us = await rogue.request_ts(tx3, FROZEN_S)
        assert await eventually(lambda: _sent(rogue, tx3_us), FROZEN_S) == [LOCKED]
        assert not tx1.done() and not rogue.store.completion_of("D2-tx3-spend-c1")
        # locks are counted: tx3, rejected, takes its own after tx1's
        rid3 = request_id_of(tx3_us)
        assert paint.locks(paint.c1) == (rid1, rid3)
        await eventually(lambda: store_locks(network, "bank", paint.c1, [rid1, rid3]), FROZEN_S)
    with pytest.raises(grpc.aio.AioRpcError) as tx1_error:
        await tx1
    failure = failure_of(tx1_error.value)
    assert failure.error_id == LOCKED, failure
    assert paint.c2 in failure.message
    tx3_done = await rogue.completion("D2-tx3-spend-c1")
    rejected(tx3_done, LOCKED)
    assert tx3_done.rejection is not None and paint.c1 in tx3_done.rejection.message
    # the verdicts freed c1 everywhere; tx2, still undecided, keeps c2
    await eventually(lambda: _free_at_a(paint, paint.c1))
    await eventually(lambda: store_locks(network, "bank", paint.c1, []))
    await eventually(lambda: store_locks(network, "bob", paint.c2, [rid2]))
    assert paint.locks(paint.c2) == (rid2,)
    assert paint.c1 in rogue.store.active and await paint.bank_sees(paint.c1)
    assert not rogue.store.completion_of("D2-tx2-retract")

    released_us = time.time_ns() // 1_000
    rogue.release("tx2")
    assert released_us < tx2_us + CONFIRMATION_RESPONSE_TIMEOUT_MS * 1_000  # not a timeout
    assert (await rogue.completion("D2-tx2-retract")).accepted
    assert paint.c2 in rogue.store.archived
    await eventually(lambda: _gone_at_p(paint, paint.c2))
    assert await honest_verdicts(paint, tx1_us) == {"bank": ["APPROVE", "APPROVE"],
                                                    "bob": [LOCKED]}
    # the Bank rejected tx3's archival of c1 as locked (and approved the new Iou's view)
    assert await honest_verdicts(paint, tx3_us, ("bank",)) == {"bank": ["APPROVE", LOCKED]}
    # c1, unlocked by tx1's rejection and never archived, transfers now
    paint.spend_c1("D2-tx3-spend-c1-again")
    assert (await rogue.completion("D2-tx3-spend-c1-again")).accepted
    assert paint.c1 in rogue.store.archived and not await paint.bank_sees(paint.c1)
    assert paint.locks(paint.c1) == paint.locks(paint.c2) == ()


@contextmanager
def mediator_stopped(network: Network) -> Iterator[None]:
    """The mediator frozen (SIGSTOP) for the block: no verdict, so every request sequenced
    meanwhile stays in flight (the protocol domain's stop wakes it should the test fail)."""
    (node,) = [n for n in network.domain.nodes if n.name == "mediator"]
    assert node.process is not None and node.process.poll() is None
    node.process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        node.process.send_signal(signal.SIGCONT)


async def _answered_one(rogue: Rogue, after_us: int) -> int:
    rogue.check_running()
    found = answered_others(rogue, after_us)
    assert len(found) == 1, found
    return found[0]


async def _sent(rogue: Rogue, request_ts_us: int) -> list[str]:
    rogue.check_running()
    verdicts = rogue.sent_verdicts(request_ts_us)
    assert verdicts, f"no answer to {request_ts_us} yet"
    return verdicts


async def _free_at_a(paint: Paint, contract_id: str) -> None:
    paint.rogue.check_running()
    assert paint.locks(contract_id) == ()


async def _held(rogue: Rogue, name: str) -> None:
    rogue.check_running()
    assert rogue.held_under(name)


async def _gone_at_p(paint: Paint, contract_id: str) -> None:
    assert not await paint.p_sees(contract_id)


async def test_diagram_3_an_incorrect_negative_the_earlier_request_fails_yet_the_later_stays_rejected(  # noqa: E501
        network: Network, rogue: Rogue) -> None:
    paint = await paint_setup(network, rogue, "D3")
    # c1 is archived first (A hands the Iou back); P, who only had it divulged, never hears
    paint.spend_c1("D3-spend-c1")
    assert (await rogue.completion("D3-spend-c1")).accepted
    assert paint.c1 in rogue.store.archived and not await paint.bank_sees(paint.c1)

    rogue.hold("tx1", rogue.responses_to_others())
    with stopped(network, "bank"):
        tx1 = asyncio.ensure_future(paint.accept())
        await eventually(lambda: _held(rogue, "tx1"))
        (tx1_us,) = {r.request_ts_us for s in rogue.held_under("tx1") for r in responses_in(s)}
        assert rogue.held_verdicts("tx1") == ["APPROVE", INACTIVE]
        assert paint.locks(paint.c2) == (request_id_of(tx1_us),)

        paint.retract("D3-tx2-retract")
        tx2 = await rogue.completion("D3-tx2-retract")
        rejected(tx2, LOCKED)  # c2 is locked by tx1, still in flight
        assert tx2.rejection is not None and paint.c2 in tx2.rejection.message
        assert tx2.rejection.participants == (rogue.participant_id,)
        assert not tx1.done()
        rogue.release("tx1")
        resumed_us = time.time_ns() // 1_000
    with pytest.raises(grpc.aio.AioRpcError) as tx1_outcome:
        await tx1
    assert resumed_us < tx1_us + CONFIRMATION_RESPONSE_TIMEOUT_MS * 1_000  # not a timeout
    failure = failure_of(tx1_outcome.value)
    assert failure.error_id == INACTIVE, failure
    assert paint.c1 in failure.message
    assert await honest_verdicts(paint, tx1_us) == {"bank": ["APPROVE", INACTIVE],
                                                    "bob": ["APPROVE"]}

    # c2 is active again and unlocked, but tx2 stays rejected: the incorrect negative
    assert paint.c2 in rogue.store.active and await paint.p_sees(paint.c2)
    assert paint.locks(paint.c2) == ()
    assert not [t for t in rogue.store.transactions
                if t.commit.completion is not None
                and t.commit.completion.change_id.command_id == "D3-tx2-retract"]
    choices = {e.exercised.choice for t in await trees_of(network.clients["bob"], paint.p)
               for e in t.events_by_id.values() if e.WhichOneof("kind") == "exercised"}
    assert "Retract" not in choices and "Accept" not in choices
    # it would have succeeded: the same retraction, sent again, commits
    paint.retract("D3-tx2-retract-again")
    assert (await rogue.completion("D3-tx2-retract-again")).accepted
    await eventually(lambda: _gone_at_p(paint, paint.c2))
