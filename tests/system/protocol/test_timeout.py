"""A confirming participant that is down (seed 003, DESIGN.md §7 "Timeout"): SR's participant
stopped, Alice's Swap is rejected once the configured confirmation response timeout has
passed, and her completion names SR's participant as the one that did not answer. Nothing
is committed anywhere, the locks are released (the same Swap commits once SR is back), and
the other participants' copies of the verdict do not name SR's participant."""

from __future__ import annotations

import time
from dataclasses import dataclass

import grpc
import pytest
from tests.system.participant.harness import created, eventually
from tests.system.protocol.delivered import (
    SequencerDb,
    assert_learns_nothing_of,
    delivered_to,
    keys_of,
)
from tests.system.protocol.ledger import (
    Dvp,
    RpcFailure,
    allocate_dvp_parties,
    completion_failure,
    completions_of,
    failure_of,
    sees,
    setup_until_dvp,
    swap,
    trees_of,
)
from tests.system.protocol.network import (
    CONFIRMATION_RESPONSE_TIMEOUT_MS,
    MEDIATOR_REACTION_TIMEOUT_MS,
    Network,
)

from minicanton.core.protocol.participant_effects import MEDIATOR_TIMEOUT

pytestmark = pytest.mark.system
SLACK_S = 5.0  # scheduling on a loaded 2-core machine


@dataclass
class TimedOut:
    dvp: Dvp
    failure: RpcFailure  # how Alice's SubmitAndWait for the Swap ended
    elapsed_s: float  # from submitting to that answer
    request_us: int  # the Swap request's sequencing time
    ledgers_before: dict[str, int]  # participant -> its party's transaction count


@pytest.fixture(scope="module")
async def timed_out(network: Network) -> TimedOut:
    """Up to the DvP contract with everyone up; then SR's participant stopped (SIGTERM, a
    clean stop) and Alice's Swap submitted."""
    parties = await allocate_dvp_parties(network, "T")
    dvp = await setup_until_dvp(network, parties, "timeout")
    ledgers_before = {name: len(await trees_of(network.clients[name], getattr(parties, name)))
                      for name in ("bank", "alice", "bob")}
    db = await SequencerDb.connect(network)
    try:
        head_us = await db.head()
        assert network.node("sr").terminate() == 0
        started = time.monotonic()
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await swap(network, dvp, "timeout-swap")
        elapsed_s = time.monotonic() - started
        alice_number = await db.number_of(keys_of(network, "alice").participant_id)
        request_us = await db.request_ts(alice_number, head_us)
    finally:
        await db.close()
    return TimedOut(dvp, failure_of(refused.value), elapsed_s, request_us, ledgers_before)


async def test_the_swap_is_rejected_after_the_timeout_naming_sr_participant(
        network: Network, timed_out: TimedOut) -> None:
    sr = network.participant_id("sr")
    failure = timed_out.failure
    assert failure.code == grpc.StatusCode.ABORTED, failure
    assert failure.error_id == MEDIATOR_TIMEOUT, failure
    assert sr in failure.message, failure
    timeout_s = CONFIRMATION_RESPONSE_TIMEOUT_MS / 1_000
    assert (timeout_s <= timed_out.elapsed_s
            <= timeout_s + MEDIATOR_REACTION_TIMEOUT_MS / 1_000 + SLACK_S)

    (completion,) = [(checkpoint, c) for checkpoint, c in await completions_of(
        network.clients["alice"], timed_out.dvp.parties.alice) if c.command_id == "timeout-swap"]
    checkpoint, rejected = completion
    assert not rejected.transaction_id
    assert completion_failure(rejected).error_id == MEDIATOR_TIMEOUT
    assert sr in rejected.status.message
    record_us = checkpoint.record_time.seconds * 1_000_000 + checkpoint.record_time.nanos // 1_000
    assert record_us - timed_out.request_us >= CONFIRMATION_RESPONSE_TIMEOUT_MS * 1_000


async def test_nothing_is_committed_and_the_others_verdicts_do_not_name_sr(
        network: Network, timed_out: TimedOut) -> None:
    dvp = timed_out.dvp
    for name in ("bank", "alice", "bob"):
        trees = await trees_of(network.clients[name], getattr(dvp.parties, name))
        assert len(trees) == timed_out.ledgers_before[name], name
    await sees(network.clients["alice"], dvp.parties.alice, dvp.dvp)
    await sees(network.clients["bank"], dvp.parties.bank, dvp.iou)
    # only the submitter's copy of the verdict names who did not answer (ADR 5): Bank's
    # copy says nothing of SR's participant, nor of its parties
    assert_learns_nothing_of(await delivered_to(network, "bank"), contract_ids=[dvp.share],
                             parties=network.hosted["sr"],
                             participants=[network.participant_id("sr")], entity="Share")


async def test_sr_catches_up_and_with_the_locks_released_the_same_swap_commits(
        network: Network, timed_out: TimedOut) -> None:
    dvp = timed_out.dvp
    node = network.node("sr")
    node.spawn()  # same database and key file: SR's participant again
    await node.wait_ready()
    await eventually(lambda: sees(network.clients["sr"], dvp.parties.sr, dvp.share),
                     timeout_s=30)
    swapped = await swap(network, dvp, "timeout-swap-again")
    assert created(swapped, "Share")
