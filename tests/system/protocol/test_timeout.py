"""A confirming participant that is down (seed 003, DESIGN.md §7 "Timeout"): SR's participant
stopped, Alice's Swap is rejected once the configured confirmation response timeout has
passed, and her completion names SR's participant as the one that did not answer. Nothing
is committed anywhere, the locks are released (the same Swap commits once SR is back), and
the other participants' copies of the verdict do not name SR's participant."""

from __future__ import annotations

import time

import grpc
import pytest
from tests.system.participant.harness import eventually
from tests.system.protocol.delivered import (
    SequencerDb,
    assert_learns_nothing_of,
    delivered_to,
    keys_of,
    stored_envelopes,
)
from tests.system.protocol.ledger import (
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
from minicanton.core.protocol.view_message import MAGIC as VIEW_MAGIC

pytestmark = pytest.mark.system
SLACK_S = 5.0  # scheduling on a loaded 2-core machine


async def request_ts_of(db: SequencerDb, sender_number: int, after_us: int) -> int:
    """The sequencing time of the one confirmation request `sender` sent after `after_us`."""
    requests = [row["ts"] for row in await db.sent_by(sender_number, after_us)
                if any(s.envelope.content.startswith(VIEW_MAGIC) for s in stored_envelopes(row))]
    assert len(requests) == 1, requests
    return int(requests[0])


async def test_sr_participant_down_makes_the_swap_time_out_naming_it(network: Network) -> None:
    parties = await allocate_dvp_parties(network, "T")
    dvp = await setup_until_dvp(network, parties, "timeout")
    sr = network.participant_id("sr")
    ledgers_before = {name: len(await trees_of(network.clients[name], getattr(parties, name)))
                      for name in ("bank", "alice", "bob")}
    db = await SequencerDb.connect(network)
    try:
        head_us = await db.head()
        assert network.node("sr").terminate() == 0  # SIGTERM: a clean stop
        started = time.monotonic()
        with pytest.raises(grpc.aio.AioRpcError) as timed_out:
            await swap(network, dvp, "timeout-swap")
        elapsed_s = time.monotonic() - started
        alice_number = await db.number_of(keys_of(network, "alice").participant_id)
        request_us = await request_ts_of(db, alice_number, head_us)
    finally:
        await db.close()

    failure = failure_of(timed_out.value)
    assert failure.code == grpc.StatusCode.ABORTED, failure
    assert failure.error_id == MEDIATOR_TIMEOUT, failure
    assert sr in failure.message, failure
    timeout_s = CONFIRMATION_RESPONSE_TIMEOUT_MS / 1_000
    assert timeout_s <= elapsed_s <= timeout_s + MEDIATOR_REACTION_TIMEOUT_MS / 1_000 + SLACK_S

    (completion,) = [(checkpoint, c) for checkpoint, c in
                     await completions_of(network.clients["alice"], parties.alice)
                     if c.command_id == "timeout-swap"]
    checkpoint, rejected = completion
    assert not rejected.transaction_id
    assert completion_failure(rejected).error_id == MEDIATOR_TIMEOUT
    assert sr in rejected.status.message
    record_us = checkpoint.record_time.seconds * 1_000_000 + checkpoint.record_time.nanos // 1_000
    assert record_us - request_us >= CONFIRMATION_RESPONSE_TIMEOUT_MS * 1_000

    for name in ("bank", "alice", "bob"):  # nothing committed
        assert len(await trees_of(network.clients[name],
                                  getattr(parties, name))) == ledgers_before[name], name
    await sees(network.clients["alice"], parties.alice, dvp.dvp)
    await sees(network.clients["bank"], parties.bank, dvp.iou)

    # the others' copies of the verdict name no other participant (ADR 5): Bank's says
    # nothing of SR's participant, nor of its parties
    assert_learns_nothing_of(await delivered_to(network, "bank"), contract_ids=[dvp.share],
                             parties=network.hosted["sr"], participants=[sr], entity="Share")

    # SR comes back and catches up on the request and its timeout: its Share untouched;
    # the locks are gone everywhere, so the same Swap now commits
    node = network.node("sr")
    node.spawn()
    await node.wait_ready()
    await eventually(lambda: sees(network.clients["sr"], parties.sr, dvp.share), timeout_s=30)
    swapped = await swap(network, dvp, "timeout-swap-again")
    assert swapped.transaction_id

