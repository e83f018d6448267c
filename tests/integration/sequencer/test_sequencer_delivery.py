"""One sequencer instance: delivery, receipts, groups, time proofs, dedup, resumption."""

from __future__ import annotations

import asyncio
import itertools

from tests.integration.sequencer.harness import (
    DOMAIN_ID,
    SEQUENCER_KEY,
    Member,
    Recorder,
    SequencerCluster,
)

from minicanton.codec.gen.minicanton.sequencer.v1 import sequencer_pb2 as pb
from minicanton.codec.sequencer import signed_event_from_proto
from minicanton.core.ids import MemberKind
from minicanton.core.sequencing.batch import (
    Batch,
    Envelope,
    GroupRecipient,
    MemberRecipient,
    RecipientGroup,
)
from minicanton.core.sequencing.chain import EventChain
from minicanton.core.sequencing.events import Deliver
from minicanton.core.sequencing.send_tracking import SendDelivered
from minicanton.runtime.clock import wall_clock_us
from minicanton.runtime.sequencer_connection import SequencerConnection


def to(*members, content: bytes) -> Envelope:
    return Envelope(tuple(MemberRecipient(m.member) for m in members), content)


async def started(sequencer: SequencerCluster, member, resume_from=None):
    recorder = Recorder()
    client = sequencer.client(member)
    await client.start(recorder, resume_from)
    return client, recorder


async def test_a_batch_reaches_each_recipient_with_only_its_envelopes(
    sequencer: SequencerCluster,
) -> None:
    alice, bob, carol = [await sequencer.register(h) for h in ("alice", "bob", "carol")]
    (a, a_events), (_b, b_events), (_c, c_events) = [
        await started(sequencer, m) for m in (alice, bob, carol)]
    outcome = await a.send(Batch((to(bob, content=b"for bob"),
                                  to(bob, carol, content=b"for both"))))
    assert isinstance(outcome, SendDelivered)
    await b_events.wait_for(lambda e: len(e) == 1)
    await c_events.wait_for(lambda e: len(e) == 1)
    await a_events.wait_for(lambda e: len(e) == 1)
    assert b_events.contents() == [b"for bob", b"for both"]
    assert c_events.contents() == [b"for both"]
    receipt = a_events.events[0].event
    assert isinstance(receipt.content, Deliver) and receipt.content.batch.envelopes == ()
    assert receipt.content.message_id is not None
    stamps = {r.events[0].event.timestamp_us for r in (a_events, b_events, c_events)}
    assert stamps == {outcome.timestamp_us}
    assert b_events.events[0].event.content.message_id is None
    assert b_events.events[0].event.content.sender is None  # sender privacy (seed 003)


async def test_counters_are_gapless_and_timestamps_chain(sequencer: SequencerCluster) -> None:
    alice, bob = [await sequencer.register(h) for h in ("alice2", "bob2")]
    (a, _), (_b, b_events) = [await started(sequencer, m) for m in (alice, bob)]
    handles = [await a.send_async(Batch((to(bob, content=b"%d" % i),))) for i in range(30)]
    await asyncio.gather(*(h.outcome for h in handles))
    await b_events.wait_for(lambda e: len(e) == 30)
    events = [v.event for v in b_events.events]
    assert [e.counter for e in events] == list(range(30))
    assert events[0].previous_timestamp_us is None
    assert all(e.previous_timestamp_us == p.timestamp_us for p, e in itertools.pairwise(events))
    assert b_events.contents() == [b"%d" % i for i in range(30)]


async def test_groups_reach_their_members(sequencer: SequencerCluster) -> None:
    sender = await sequencer.register("grp-sender")
    mediator = await sequencer.register("grp-mediator", MemberKind.MEDIATOR)
    (s, s_events), (_m, m_events) = [await started(sequencer, x) for x in (sender, mediator)]
    batch = Batch((Envelope((GroupRecipient(RecipientGroup.MEDIATOR_GROUP),), b"to mediators"),
                   Envelope((GroupRecipient(RecipientGroup.ALL_PARTICIPANTS),), b"to parts")))
    await s.send(batch)
    await m_events.wait_for(lambda e: b"to mediators" in Recorder.contents(m_events))
    assert b"to parts" not in m_events.contents()
    await s_events.wait_for(lambda e: b"to parts" in Recorder.contents(s_events))


async def test_a_time_proof_is_an_empty_event_to_oneself(sequencer: SequencerCluster) -> None:
    member = await sequencer.register("ticker")
    client, events = await started(sequencer, member)
    first = await client.request_time_proof()
    second = await client.request_time_proof()
    assert first < second
    await events.wait_for(lambda e: len(e) == 2)


async def test_a_member_resumes_after_its_stored_position(sequencer: SequencerCluster) -> None:
    alice, bob = [await sequencer.register(h) for h in ("alice3", "bob3")]
    (a, _), (b, b_events) = [await started(sequencer, m) for m in (alice, bob)]
    for i in range(5):
        await a.send(Batch((to(bob, content=b"m%d" % i),)))
    await b_events.wait_for(lambda e: len(e) == 5)
    stored = b_events.events[2].position
    await b.close()
    _resumed, again = await started(sequencer, bob, resume_from=stored)
    await again.wait_for(lambda e: len(e) == 2)
    assert [v.event.counter for v in again.events] == [3, 4]
    assert [v.position for v in again.events] == [v.position for v in b_events.events[3:]]


async def _first_raw_event(sequencer: SequencerCluster, member: Member) -> bytes:
    """The first event of `member`'s stream exactly as the sequencer process sent it."""
    connection = SequencerConnection(sequencer.endpoints[0], DOMAIN_ID, member.member,
                                     member.key, wall_clock_us)
    try:
        call = await connection.subscribe(0)
        raw: bytes = await asyncio.wait_for(call.read(), 10)  # type: ignore[assignment]
        call.cancel()
        return raw
    finally:
        await connection.close()


async def test_a_participant_is_delivered_no_byte_naming_another_participant_sender(
    sequencer: SequencerCluster,
) -> None:
    """Seed 003 sender privacy (core review #2), on the wire of a real sequencer process:
    Bob's bytes of Alice's batch do not name Alice; the mediator's copy does (it must know
    who submitted), Alice's receipt does, and a mediator's batch names the mediator."""
    alice, bob = [await sequencer.register(h) for h in ("priv-alice", "priv-bob")]
    mediator = await sequencer.register("priv-mediator", MemberKind.MEDIATOR)
    (a, _), (m, _) = [await started(sequencer, x) for x in (alice, mediator)]
    outcome = await a.send(Batch((to(bob, mediator, content=b"request"),)))
    assert isinstance(outcome, SendDelivered)
    verdict = await m.send(Batch((to(bob, content=b"verdict"),)))
    assert isinstance(verdict, SendDelivered)
    raw = {x.member: await _first_raw_event(sequencer, x) for x in (alice, bob, mediator)}
    assert alice.member.encode() not in raw[bob.member]
    assert b"request" in raw[bob.member]  # the event is there, only its sender is not
    assert alice.member.encode() in raw[mediator.member]
    bob_event = signed_event_from_proto(pb.SignedSequencedEvent.FromString(raw[bob.member]))
    assert isinstance(bob_event.event.content, Deliver)
    assert bob_event.event.content.sender is None
    chain = EventChain(DOMAIN_ID, bob.member, {SEQUENCER_KEY.fingerprint: SEQUENCER_KEY.public},
                       None)
    chain.accept(bob_event)  # the sequencer signed exactly the copy Bob got
    receipt = signed_event_from_proto(pb.SignedSequencedEvent.FromString(raw[alice.member]))
    assert isinstance(receipt.event.content, Deliver)
    assert receipt.event.content.sender == alice.member
    _b, b_events = await started(sequencer, bob)
    await b_events.wait_for(lambda e: len(e) == 2)
    from_mediator = b_events.events[1].event.content
    assert isinstance(from_mediator, Deliver) and from_mediator.sender == mediator.member
