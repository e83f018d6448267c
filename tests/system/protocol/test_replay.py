"""A captured confirmation request replayed to the sequencer, with real processes.

The Bank's participant submits an Iou (Bank to Alice, each on their own participant). The
test takes the request's batch as it was sequenced, from the sequencer database, and sends
it again *as the Bank's participant* (its signing key from its key file, over the product's
`SequencerConnection`):

1. under the same message id, inside its max sequencing time: the sequencer deduplicates
   it (accepted as a duplicate, nothing sequenced);
2. under a fresh message id, at once: sequenced again, then rejected as a duplicate request
   by the mediator (and the Bank's participant answers LOCAL_VERDICT_DUPLICATE_REQUEST);
3. under a fresh message id after the original's decision time: still rejected as a
   duplicate request, because mediator and participants remember a root hash until its record
   time + 2 x the ledger-time tolerance (replay protection, ADR 5), not just until its
   decision time.

Throughout: exactly one completion, one transaction at each participant, one Iou.

A second scenario replays, late in the same way, a request whose transaction creates and
archives nothing (a non-consuming choice), where no activeness check can object: it must
still be rejected, and its participant keep running. It runs on a participant of its own.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from tests.integration.sequencer.harness import DOMAIN_ID
from tests.system.participant.harness import LedgerClient, created, eventually
from tests.system.protocol.delivered import (
    SequencerDb,
    keys_of,
    protocol_messages,
    stored_envelopes,
)
from tests.system.protocol.ledger import (
    completions_of,
    create_in,
    exercise_in,
    known_everywhere,
    sees,
    trees_of,
)
from tests.system.protocol.network import (
    CONFIRMATION_RESPONSE_TIMEOUT_MS,
    MEDIATOR_REACTION_TIMEOUT_MS,
    Network,
)

from minicanton.codec.gen.com.daml.ledger.api.v1.value_pb2 import Value
from minicanton.codec.sequencer import submission_to_proto
from minicanton.core.ids import MemberId
from minicanton.core.protocol.messages import (
    ConfirmationResponse,
    LocalReject,
    MediatorResult,
    Reject,
)
from minicanton.core.sequencing.batch import Batch, SubmissionRequest, sign_submission
from minicanton.participant.keys import ParticipantKeys
from minicanton.runtime.clock import wall_clock_us
from minicanton.runtime.sequencer_connection import SequencerConnection

pytestmark = pytest.mark.system

# A template whose non-consuming choice creates and archives nothing.
PROBE = b'''
from minicanton.dsl import Int64, Party, Template, choice

MODULE = "probe"


class Gauge(Template):
    owner: Party
    value: Int64

    signatories = ("owner",)

    @choice(controller="owner", consuming=False)
    def Read(self, ctx) -> Int64:
        return self.value
'''


class Replayer:
    """Sends batches to a sequencer as the participant whose keys it holds."""

    def __init__(self, network: Network, keys: ParticipantKeys) -> None:
        assert network.domain.sequencers is not None
        self.keys = keys
        self.connection = SequencerConnection(
            network.domain.sequencers.endpoints[0], DOMAIN_ID, MemberId(keys.participant_id),
            keys.signing, wall_clock_us)

    async def send(self, batch: Batch, message_id: str, max_sequencing_time_us: int) -> Any:
        request = SubmissionRequest(DOMAIN_ID, MemberId(self.keys.participant_id), message_id,
                                    max_sequencing_time_us, batch)
        raw = submission_to_proto(sign_submission(request, self.keys.signing))
        response = await self.connection.send(raw.SerializeToString(), message_id)
        assert response.WhichOneof("outcome") == "accepted", response
        return response.accepted

    async def close(self) -> None:
        await self.connection.close()


async def _verdict(db: SequencerDb, request_us: int) -> set[str]:
    """The reject codes of the mediator's verdict on the request sequenced at `request_us`."""
    results = [m for _, m in protocol_messages(await db.events_after(request_us))
               if isinstance(m, MediatorResult) and m.request_ts_us == request_us]
    assert results, f"no verdict yet on {request_us}"
    codes = set()
    for result in results:
        assert isinstance(result.verdict, Reject), result.verdict
        codes |= {reason.code for reason in result.verdict.reasons}
    return codes


async def _local_verdicts(db: SequencerDb, request_us: int) -> dict[str, set[str]]:
    """The local verdicts sent on the request sequenced at `request_us`, once there is one.
    The mediator rejects a duplicate without waiting for responses, so its verdict may be
    sequenced before the participants' responses: wait for them as for the verdict."""
    found = await _responses_on(db, request_us)
    assert found, f"no confirmation response yet on {request_us}"
    return found


async def _responses_on(db: SequencerDb, request_us: int) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for _, message in protocol_messages(await db.events_after(request_us)):
        if isinstance(message, ConfirmationResponse) and message.request_ts_us == request_us:
            verdict = message.local_verdict
            code = verdict.code if isinstance(verdict, LocalReject) else "APPROVE"
            found.setdefault(message.sender, set()).add(code)
    return found


@dataclass
class Captured:
    """The Iou's confirmation request as sequenced, and what replays it."""

    network: Network
    db: SequencerDb
    replayer: Replayer
    sender: int  # the Bank's participant's member number
    row: Any  # its sequencer_events row
    batch: Batch

    async def replay(self, message_id: str, max_sequencing_time_us: int) -> Any:
        return await self.replayer.send(self.batch, message_id, max_sequencing_time_us)


async def test_a_replayed_confirmation_request_completes_once_and_the_replays_are_rejected(
        network: Network) -> None:
    bank = await network.allocate("bank", "ReplayBank")
    alice = await network.allocate("alice", "ReplayAlice")
    await known_everywhere(network, [bank, alice])
    keys = keys_of(network, "bank")
    db = await SequencerDb.connect(network)
    replayer = Replayer(network, keys)
    try:
        head_us = await db.head()
        transaction_id = await network.clients["bank"].create_iou(bank, alice, "7.0",
                                                                  "replay-iou")
        sender = await db.number_of(keys.participant_id)
        (row,) = await db.requests_sent_by(sender, head_us)
        captured = Captured(network, db, replayer, sender, row,
                            Batch(tuple(s.envelope for s in stored_envelopes(row))))
        await _resent_under_its_message_id_is_deduplicated(captured, head_us)
        await _replayed_under_a_new_message_id_is_a_duplicate_request(captured)
        await _replayed_after_its_decision_time_is_still_a_duplicate_request(captured)
    finally:
        await replayer.close()
        await db.close()
    await _exactly_once(network, bank, alice, transaction_id)


async def _resent_under_its_message_id_is_deduplicated(captured: Captured, head_us: int) -> None:
    message_id = captured.row["message_id"]
    max_sequencing_time_us = await captured.db.connection.fetchval(
        "SELECT max_sequencing_time_us FROM sequencer_send_dedup "
        "WHERE sender = $1 AND message_id = $2", captured.sender, message_id)
    assert max_sequencing_time_us > wall_clock_us(), "the resend must be inside the window"
    resent = await captured.replay(message_id, max_sequencing_time_us)
    assert resent.duplicate
    assert [r["ts"] for r in await captured.db.sent_by(captured.sender, head_us)
            if r["message_id"] == message_id] == [captured.row["ts"]]


async def _replayed_under_a_new_message_id_is_a_duplicate_request(captured: Captured) -> None:
    replay = await captured.replay(f"replay-{secrets.token_hex(4)}",
                                   wall_clock_us() + 10_000_000)
    assert not replay.duplicate and replay.timestamp_us > captured.row["ts"]
    codes = await eventually(lambda: _verdict(captured.db, replay.timestamp_us))
    assert "MEDIATOR_DUPLICATE_REQUEST" in codes, codes
    assert await eventually(lambda: _local_verdicts(captured.db, replay.timestamp_us)) == {
        captured.network.participant_id("bank"): {"LOCAL_VERDICT_DUPLICATE_REQUEST"}}


async def _replayed_after_its_decision_time_is_still_a_duplicate_request(
        captured: Captured) -> None:
    """Past the original's decision time but inside the replay-protection window, the
    mediator and the Bank's participant still remember its root hash."""
    decided_us = captured.row["ts"] + (CONFIRMATION_RESPONSE_TIMEOUT_MS
                                       + MEDIATOR_REACTION_TIMEOUT_MS) * 1_000
    await asyncio.sleep(max(0.0, (decided_us - wall_clock_us()) / 1e6) + 0.5)
    late = await captured.replay(f"late-replay-{secrets.token_hex(4)}",
                                 wall_clock_us() + 10_000_000)
    codes = await eventually(lambda: _verdict(captured.db, late.timestamp_us))
    assert "MEDIATOR_DUPLICATE_REQUEST" in codes, codes
    assert await eventually(lambda: _local_verdicts(captured.db, late.timestamp_us)) == {
        captured.network.participant_id("bank"): {"LOCAL_VERDICT_DUPLICATE_REQUEST"}}


async def _exactly_once(network: Network, bank: str, alice: str, transaction_id: str) -> None:
    await asyncio.sleep(1.0)  # let any (wrong) late commit land before looking
    for name, party in (("bank", bank), ("alice", alice)):
        trees = await trees_of(network.clients[name], party)
        assert [t.transaction_id for t in trees] == [transaction_id], name
        ious = await network.clients[name].active_contracts(party)
        assert len(ious) == 1, name
    await sees(network.clients["alice"], alice, ious[0].contract_id)
    completions = [c for _, c in await completions_of(network.clients["bank"], bank)]
    assert [(c.command_id, c.transaction_id, c.status.code) for c in completions] == [
        ("replay-iou", transaction_id, 0)]


@asynccontextmanager
async def own_participant(network: Network, name: str) -> AsyncIterator[LedgerClient]:
    """A participant of its own for one scenario, so that what befalls it cannot reach the
    others'; stopped, and dropped from the network, at the end."""
    node = await network.domain.add_participant(name)
    client = LedgerClient(node)
    network.clients[name] = client
    try:
        yield client
    finally:
        del network.clients[name]
        await client.close()
        node.terminate()


async def test_a_late_replay_of_a_request_that_creates_and_archives_nothing_is_rejected(
        network: Network) -> None:
    """A non-consuming exercise that creates nothing leaves activeness nothing to object to.
    Replayed after the original's decision time (when mediator and participants have
    forgotten its root hash) yet before its max sequencing time (so validation does not
    refuse it for being late), only a replay check can refuse it; and whatever the verdict,
    the participant must keep running with the transaction once in its ledger."""
    async with own_participant(network, "gauge") as gauge:
        await gauge.upload(PROBE)
        owner = await network.allocate("gauge", "GaugeOwner")
        await known_everywhere(network, [owner])
        made = await gauge.submit(owner, "gauge", create_in(
            "probe", "Gauge", owner=Value(party=owner), value=Value(int64=7)))
        keys = keys_of(network, "gauge")
        db = await SequencerDb.connect(network)
        replayer = Replayer(network, keys)
        try:
            head_us = await db.head()
            read = await gauge.submit(owner, "gauge-read", exercise_in(
                "probe", "Gauge", created(made, "Gauge"), "Read"))
            (row,) = await db.requests_sent_by(await db.number_of(keys.participant_id), head_us)
            batch = Batch(tuple(s.envelope for s in stored_envelopes(row)))
            decided_us = row["ts"] + (CONFIRMATION_RESPONSE_TIMEOUT_MS
                                      + MEDIATOR_REACTION_TIMEOUT_MS) * 1_000
            await asyncio.sleep(max(0.0, (decided_us - wall_clock_us()) / 1e6) + 0.5)
            late = await replayer.send(batch, f"late-read-{secrets.token_hex(4)}",
                                       wall_clock_us() + 10_000_000)
            verdict = await eventually(lambda: _any_verdict(db, late.timestamp_us))
            local = await _responses_on(db, late.timestamp_us)  # for the message only
        finally:
            await replayer.close()
            await db.close()
        assert isinstance(verdict, Reject), f"the late replay was approved: {verdict}, {local}"
        await asyncio.sleep(1.0)
        process = network.node("gauge").process
        assert process is not None and process.poll() is None, "the participant stopped"
        trees = await trees_of(gauge, owner)
        assert [t.transaction_id for t in trees] == [made.transaction_id, read.transaction_id]


async def _any_verdict(db: SequencerDb, request_us: int) -> Any:
    results = [m for _, m in protocol_messages(await db.events_after(request_us))
               if isinstance(m, MediatorResult) and m.request_ts_us == request_us]
    assert results, f"no verdict yet on {request_us}"
    return results[0].verdict
